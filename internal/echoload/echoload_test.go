package echoload

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// server runs Serve on loopback, answering what it reads through reply,
// and returns its address.
func server(t *testing.T, reply func(c net.Conn, b []byte) error) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(Serve(l, 4096, func(c net.Conn, b []byte, _ int64) error { return reply(c, b) }))
	return l.Addr().String()
}

func echo(c net.Conn, b []byte) error { _, err := c.Write(b); return err }

func TestRun(t *testing.T) {
	addr := server(t, echo)
	cfg := Config{Addr: addr, Conns: 10, Msgs: 20, MaxSize: 10000, Seed: 1}
	st, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Msgs != 200 || st.Errors != 0 || st.Bytes < 200 || st.Bytes > 200*10000 || st.Duration <= 0 {
		t.Errorf("stats %+v", st)
	}
	// The same seed, the same load.
	st2, err := Run(context.Background(), cfg)
	if err != nil || st2.Bytes != st.Bytes {
		t.Errorf("second run: %d bytes, %v; first %d", st2.Bytes, err, st.Bytes)
	}
	// Fixed sizes.
	st3, err := Run(context.Background(), Config{Addr: addr, Conns: 2, Msgs: 3, MinSize: 100, MaxSize: 100})
	if err != nil || st3.Bytes != 600 {
		t.Errorf("fixed sizes: %d bytes, %v; want 600", st3.Bytes, err)
	}
}

// TestCorrupt: a server that changes one byte is caught.
func TestCorrupt(t *testing.T) {
	var mu sync.Mutex
	total := 0
	addr := server(t, func(c net.Conn, b []byte) error {
		mu.Lock()
		total += len(b)
		if total > 5000 {
			b[len(b)-1] ^= 1
			total = -1 << 40 // once
		}
		mu.Unlock()
		return echo(c, b)
	})
	st, err := Run(context.Background(), Config{Addr: addr, Conns: 3, Msgs: 50, MaxSize: 1000, Seed: 2})
	if err == nil || !strings.Contains(err.Error(), "byte") || st.Errors != 1 {
		t.Errorf("Run = %+v, %v; want one connection failing on a byte", st, err)
	}
}

// TestDeadline: a server that never answers is bounded by the context.
func TestDeadline(t *testing.T) {
	addr := server(t, func(net.Conn, []byte) error { return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	st, err := Run(ctx, Config{Addr: addr, Conns: 4, Msgs: 1, MaxSize: 10})
	if !errors.Is(err, context.DeadlineExceeded) || st.Errors != 4 || st.Msgs != 0 {
		t.Errorf("Run = %+v, %v; want 4 connections past the deadline", st, err)
	}
}

func TestBadConfig(t *testing.T) {
	for _, cfg := range []Config{{Conns: 0, Msgs: 1, MaxSize: 1}, {Conns: 1, Msgs: 1, MaxSize: 0},
		{Conns: 1, Msgs: 1, MinSize: 5, MaxSize: 4}} {
		if _, err := Run(context.Background(), cfg); err == nil {
			t.Errorf("Run(%+v) succeeded", cfg)
		}
	}
	if _, err := Run(context.Background(), Config{Addr: "127.0.0.1:1", Conns: 1, Msgs: 1, MaxSize: 1}); err == nil {
		t.Error("Run against a closed port succeeded")
	}
}
