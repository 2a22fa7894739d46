package tests

import (
	"errors"
	"testing"

	"github.com/corokernel/corokernel/cdemo"
	"github.com/corokernel/corokernel/internal/measure"
	"github.com/corokernel/corokernel/kernel"
)

// BenchmarkEchoUring puts the echo servers on io_uring's completion traps
// beside epoll's readiness servers, package net and gnet with one event
// loop, side by side in one run: 200 connections x 200 messages x 1 KiB,
// every byte checked, the load from a client process of its own. Each
// server runs rounds times, in turn with the others, and its best round
// counts. It reports messages per second for each server and the ratios
// of the targets: step tasks on uring against gnet (target at
// least 1.1), each task kind on uring against the same kind on epoll (at
// least 1.0), native tasks on uring against net (at least 1.0).
func BenchmarkEchoUring(b *testing.B) {
	if err := kernel.CheckPoller("uring"); err != nil {
		b.Skip(err)
	}
	if err := measure.RaiseFDLimit(1000); err != nil {
		b.Skip(err)
	}
	on := func(s func(int) kernel.Task, poller string) func() (*measure.Server, error) {
		return func() (*measure.Server, error) { return measure.StartKernel(s, poller) }
	}
	servers := []echoPeer{
		{"step-uring", on(kernel.StepEchoServerOps, "uring")},
		{"step-epoll", on(kernel.StepEchoServer, "epoll")},
		{"go-uring", on(kernel.GoEchoServerOps, "uring")},
		{"go-epoll", on(kernel.GoEchoServer, "epoll")},
	}
	if fn, err := cdemo.EchoServerOps(); err == nil {
		ready, _ := cdemo.EchoServer()
		servers = append(servers,
			echoPeer{"native-uring", on(func(fd int) kernel.Task { return kernel.Native(fn, uintptr(fd)) }, "uring")},
			echoPeer{"native-epoll", on(func(fd int) kernel.Task { return kernel.Native(ready, uintptr(fd)) }, "epoll")})
	} else if !errors.Is(err, cdemo.ErrNoCompiler) {
		b.Fatal(err)
	} else {
		b.Logf("no native rows: %v", err)
	}
	servers = append(servers, echoPeer{"net", measure.StartNet})
	if err := measure.GnetAvail(); err == nil {
		servers = append(servers, echoPeer{"gnet1", func() (*measure.Server, error) { return measure.StartGnet(1) }})
	} else {
		b.Logf("no gnet row: %v", err)
	}

	best := bestRates(b, servers)
	for _, r := range []struct{ name, a, c string }{
		{"step-uring/gnet1", "step-uring", "gnet1"},
		{"step-uring/epoll", "step-uring", "step-epoll"},
		{"go-uring/epoll", "go-uring", "go-epoll"},
		{"native-uring/epoll", "native-uring", "native-epoll"},
		{"native-uring/net", "native-uring", "net"},
	} {
		if best[r.a] > 0 && best[r.c] > 0 {
			b.ReportMetric(best[r.a]/best[r.c], r.name)
		}
	}
}

// echoPeer is an echo server of a side-by-side benchmark, by name.
type echoPeer struct {
	name  string
	start func() (*measure.Server, error)
}

// bestRates loads each server in turn, three times each, with 200
// connections x 200 messages x 1 KiB from a client process of its own,
// and reports and returns the best messages per second of each.
func bestRates(b *testing.B, servers []echoPeer) map[string]float64 {
	return bestRatesBy(b, measure.ClientNet, 3, servers)
}

// bestRatesBy is bestRates with the load made by client (measure.ClientNet
// or measure.ClientRing), rounds times each.
func bestRatesBy(b *testing.B, client string, rounds int, servers []echoPeer) map[string]float64 {
	const conns, msgs = 200, 200
	best := map[string]float64{}
	for range b.N {
		for range rounds {
			for _, s := range servers {
				d, err := measure.ManyConnsEchoBy(client, s.start, conns, conns*msgs)
				if err != nil {
					b.Fatalf("%s: %v", s.name, err)
				}
				best[s.name] = max(best[s.name], conns*msgs/d.Seconds())
			}
		}
	}
	for name, r := range best {
		b.ReportMetric(r, name+"-msgs/s")
	}
	return best
}
