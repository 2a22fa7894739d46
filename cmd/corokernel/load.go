package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/corokernel/corokernel/internal/echoload"
)

// Bounds of "corokernel load"'s flags: each connection holds three times
// -max bytes (a random block of twice, and a receive buffer), so conns ×
// max bounds its memory: at most 768 MiB of buffers.
const (
	maxLoadConns   = 100_000
	maxLoadMessage = 16 << 20
	maxLoadBuffers = 256 << 20 // conns × max
)

// loadMain is "corokernel load": a bounded load on an echo server. Every
// byte echoed is checked; a mismatch or any other failure makes the exit
// status 1.
func loadMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("corokernel load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:45000", "the echo server's `ip:port`")
	conns := fs.Int("conns", 200, "connections, all open at once")
	msgs := fs.Int("msgs", 200, "messages per connection, each echoed before the next")
	maxSize := fs.Int("max", 64<<10, "message sizes are random from 1 to `max` bytes")
	seed := fs.Uint64("seed", 1, "seeds the sizes and the bytes")
	timeout := fs.Duration("timeout", time.Minute, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: corokernel load [-addr ip:port] [-conns n] [-msgs n] [-max bytes] [-seed n] [-timeout d]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "corokernel load: "+format+"\n", a...)
		fs.Usage()
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected argument %q", fs.Arg(0))
	case *conns <= 0:
		return bad("-conns %d: want at least 1", *conns)
	case *msgs < 0:
		return bad("-msgs %d: want at least 0", *msgs)
	case *conns > maxLoadConns:
		return bad("-conns %d: want at most %d", *conns, maxLoadConns)
	case *maxSize <= 0 || *maxSize > maxLoadMessage:
		return bad("-max %d: want 1 to %d bytes", *maxSize, maxLoadMessage)
	case int64(*conns)*int64(*maxSize) > maxLoadBuffers:
		return bad("-conns %d with -max %d: the buffers would take %d MiB; at most %d MiB", *conns, *maxSize,
			int64(*conns)*int64(*maxSize)*3>>20, maxLoadBuffers*3>>20)
	case *timeout <= 0:
		return bad("-timeout %v: want a positive duration", *timeout)
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	st, err := echoload.Run(ctx, echoload.Config{
		Addr: *addr, Conns: *conns, Msgs: *msgs, MaxSize: *maxSize, Seed: *seed,
	})
	mbps := 0.0
	if st.Duration > 0 {
		mbps = float64(st.Bytes) / st.Duration.Seconds() / 1e6
	}
	fmt.Fprintf(stdout, "%s: %d connections x %d messages of 1 to %d bytes\n", *addr, *conns, *msgs, *maxSize)
	fmt.Fprintf(stdout, "echoed and checked %d messages, %d bytes, in %v (%.1f MB/s); %d connections failed\n",
		st.Msgs, st.Bytes, st.Duration.Round(time.Millisecond), mbps, st.Errors)
	if err != nil {
		fmt.Fprintf(stderr, "corokernel load: %v\n", err)
		return 1
	}
	return 0
}
