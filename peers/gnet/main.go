// Command gnet is the echo server of gnet (github.com/panjf2000/gnet/v2),
// the event-loop server Go users pick, as a peer for corokernel's echo
// benchmarks and report: a module of its own, so that gnet and its
// dependencies never enter corokernel's. The benchmarks build it with the
// go command when they run (internal/measure.StartGnet).
//
// It listens on 127.0.0.1 with -loops event loops, writes "listening on
// ADDR" on standard output once it serves, and serves until standard input
// closes.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/panjf2000/gnet/v2"
)

type echo struct {
	gnet.BuiltinEventEngine
	addr string
}

// OnBoot says where it listens: the engine is up.
func (e *echo) OnBoot(gnet.Engine) gnet.Action {
	fmt.Printf("listening on %s\n", e.addr)
	return gnet.None
}

// OnTraffic writes back what came in, as pyos8's handle_client does.
func (e *echo) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Next(-1)
	c.Write(buf)
	return gnet.None
}

func main() {
	loops := flag.Int("loops", 1, "event loops")
	flag.Parse()
	// A free port: gnet does not tell the one it bound.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "gnet:", err)
		os.Exit(1)
	}
	addr := l.Addr().String()
	l.Close()
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	err = gnet.Run(&echo{addr: addr}, "tcp://"+addr, gnet.WithMulticore(*loops > 1), gnet.WithNumEventLoop(*loops))
	fmt.Fprintln(os.Stderr, "gnet:", err)
	os.Exit(1)
}
