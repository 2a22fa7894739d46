package main

import (
	"bytes"
	"errors"
	"github.com/corokernel/corokernel/internal/echoload"
	"net"
	"strings"
	"testing"

	"github.com/corokernel/corokernel/internal/measure"
	"github.com/corokernel/corokernel/kernel"
)

// TestLoadEcho points "corokernel load" at the kernel's echo server of
// each kind, running in this process: every byte comes back.
func TestLoadEcho(t *testing.T) {
	for kind, newServer := range echoServers {
		t.Run(kind, func(t *testing.T) {
			server, err := newServer()
			if errors.Is(err, measure.ErrUnavailable) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			fd, addr, err := kernel.Listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			k := kernel.New(kernel.WithPoller("epoll"))
			k.Spawn(server(fd))
			done := make(chan error)
			go func() { done <- k.Run() }()
			defer func() {
				k.Stop()
				if err := <-done; err != nil {
					t.Errorf("kernel: %v", err)
				}
			}()

			var stdout, stderr bytes.Buffer
			code := run([]string{"load", "-addr", addr, "-conns", "20", "-msgs", "30", "-max", "20000", "-seed", "7"}, &stdout, &stderr)
			if code != 0 {
				t.Fatalf("exit code %d; stdout %q, stderr %q", code, stdout.String(), stderr.String())
			}
			if want := "echoed and checked 600 messages"; !strings.Contains(stdout.String(), want) {
				t.Errorf("stdout %q does not say %q", stdout.String(), want)
			}
			if !strings.Contains(stdout.String(), "0 connections failed") {
				t.Errorf("stdout %q: connections failed", stdout.String())
			}
		})
	}
}

// TestLoadBroken points "corokernel load" at a server that corrupts one
// byte of what it echoes: load must fail and say where.
func TestLoadBroken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Byte 1000 of each stream comes back wrong.
	defer echoload.Serve(l, 64<<10, func(c net.Conn, b []byte, off int64) error {
		if off <= 1000 && 1000 < off+int64(len(b)) {
			b[1000-off] ^= 0x20
		}
		_, err := c.Write(b)
		return err
	})()

	var stdout, stderr bytes.Buffer
	code := run([]string{"load", "-addr", l.Addr().String(), "-conns", "4", "-msgs", "20", "-max", "3000"}, &stdout, &stderr)
	if code != 1 {
		t.Errorf("exit code %d, want 1; stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "byte") || !strings.Contains(stdout.String(), "4 connections failed") {
		t.Errorf("stdout %q, stderr %q: want every connection failed on a byte", stdout.String(), stderr.String())
	}
}

// TestLoadRefused: nothing listening is a failure too.
func TestLoadRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"load", "-addr", addr, "-conns", "2", "-msgs", "1"}, &stdout, &stderr); code != 1 {
		t.Errorf("exit code %d, want 1; stderr %q", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "refused") {
		t.Errorf("stderr %q does not say the connection was refused", stderr.String())
	}
}
