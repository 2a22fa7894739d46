// Package echoload is a bounded load generator for echo servers: a fixed
// number of connections each send a fixed number of messages of random
// sizes, and every byte that comes back is checked.
//
// Role: report and command support (the report's echo rows, corokernel
// load) and the tests' load; no library package imports it.
package echoload

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"time"
)

// Config describes one load run.
type Config struct {
	Addr    string // server address, "host:port"
	Conns   int    // connections, all open at once
	Msgs    int    // messages per connection, each echoed before the next
	MaxSize int    // message sizes are uniform in [MinSize, MaxSize]
	MinSize int    // 0 means 1
	Seed    uint64 // seeds the sizes and the bytes; the same seed, the same load
}

// Stats is what a run did.
type Stats struct {
	Bytes    int64         // payload bytes sent, echoed and checked
	Msgs     int64         // messages sent, echoed and checked
	Duration time.Duration // from the moment every connection is open to the last check
	Errors   int           // connections that failed
}

// Run opens cfg.Conns connections to cfg.Addr and on each sends cfg.Msgs
// messages, reading every echo back in full and comparing it byte by byte
// with what was sent. The context bounds the run: its deadline applies to
// every dial, read and write, and cancelling it closes the connections.
// Run returns the stats and, if any connection failed, the first error.
func Run(ctx context.Context, cfg Config) (Stats, error) {
	if cfg.Conns <= 0 || cfg.Msgs < 0 || cfg.MaxSize <= 0 || cfg.MinSize > cfg.MaxSize {
		return Stats{}, fmt.Errorf("echoload: bad config %+v", cfg)
	}
	if cfg.MinSize <= 0 {
		cfg.MinSize = 1
	}
	var (
		mu    sync.Mutex
		st    Stats
		first error
		wg    sync.WaitGroup
	)
	// Every connection is open before any sends, and stays open until all
	// are done: the server holds cfg.Conns connections at once.
	var dialed, done sync.WaitGroup
	dialed.Add(cfg.Conns)
	done.Add(cfg.Conns)
	for i := range cfg.Conns {
		wg.Go(func() {
			msgs, n, err := conn(ctx, cfg, i, &dialed, &done)
			mu.Lock()
			defer mu.Unlock()
			st.Msgs += msgs
			st.Bytes += n
			if err != nil {
				st.Errors++
				if first == nil {
					first = fmt.Errorf("echoload: connection %d: %w", i, err)
				}
			}
		})
	}
	dialed.Wait()
	start := time.Now()
	wg.Wait()
	st.Duration = time.Since(start)
	return st, first
}

// conn runs connection i: it returns the messages and bytes checked. It
// sends once every connection is dialed (dialed), and closes once every
// one is done with its messages (done).
func conn(ctx context.Context, cfg Config, i int, dialed, done *sync.WaitGroup) (msgs, n int64, err error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", cfg.Addr)
	dialed.Done()
	finished := false
	defer func() {
		if !finished {
			done.Done()
		}
	}()
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	dialed.Wait()
	defer func() { // after the messages, before the close
		finished = true
		done.Done()
		done.Wait()
	}()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	// Messages are slices of a random block at random offsets: cheap to
	// make, and still different from one message to the next.
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], cfg.Seed)
	binary.LittleEndian.PutUint64(seed[8:], uint64(i))
	block := make([]byte, 2*cfg.MaxSize)
	rand.NewChaCha8(seed).Read(block)
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
	back := make([]byte, cfg.MaxSize)

	for m := range cfg.Msgs {
		size := cfg.MinSize + rng.IntN(cfg.MaxSize-cfg.MinSize+1)
		off := rng.IntN(len(block) - size + 1)
		msg := block[off : off+size]
		if _, err := c.Write(msg); err != nil {
			return msgs, n, fmt.Errorf("message %d: write: %w", m, ctxErr(ctx, err))
		}
		if _, err := io.ReadFull(c, back[:size]); err != nil {
			return msgs, n, fmt.Errorf("message %d (%d bytes): read: %w", m, size, ctxErr(ctx, err))
		}
		if !bytes.Equal(back[:size], msg) {
			j := 0
			for back[j] == msg[j] {
				j++
			}
			return msgs, n, fmt.Errorf("message %d (%d bytes): byte %d is %#x, sent %#x", m, size, j, back[j], msg[j])
		}
		msgs++
		n += int64(size)
	}
	return msgs, n, nil
}

// ctxErr prefers the context's error to the one its closing caused.
func ctxErr(ctx context.Context, err error) error {
	cerr := ctx.Err()
	if dl, ok := ctx.Deadline(); ok && cerr == nil && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(dl) {
		cerr = context.DeadlineExceeded // the conn's deadline beat the context's timer
	}
	if cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}
