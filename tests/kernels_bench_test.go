package tests

import (
	"testing"

	"github.com/corokernel/corokernel/internal/measure"
	"github.com/corokernel/corokernel/kernel"
)

// BenchmarkEchoKernels puts the step echo server on two kernels (a Group,
// one SO_REUSEPORT socket each) beside one kernel and gnet with two event
// loops, under epoll, side by side in one run: 200 connections x 200
// messages x 1 KiB, every byte checked, the load from a client process of
// its own, the best of three alternating rounds. It reports messages per
// second and the ratios of issue 23's targets: two kernels against gnet
// with two loops (at least 1.0) and against one kernel (at least 1.05;
// the load generator shares the two cores).
func BenchmarkEchoKernels(b *testing.B) {
	if err := measure.RaiseFDLimit(1000); err != nil {
		b.Skip(err)
	}
	type server struct {
		name  string
		start func() (*measure.Server, error)
	}
	servers := []server{
		{"step-2kernels", func() (*measure.Server, error) { return measure.StartGroup(kernel.StepEchoServer, "epoll", 2) }},
		{"step-1kernel", func() (*measure.Server, error) { return measure.StartKernel(kernel.StepEchoServer, "epoll") }},
	}
	if _, err := measure.StartGnet(2); err == nil {
		servers = append(servers, server{"gnet2", func() (*measure.Server, error) { return measure.StartGnet(2) }})
	} else {
		b.Logf("no gnet row: %v", err)
	}
	const conns, msgs, rounds = 200, 200, 3
	best := map[string]float64{}
	for range b.N {
		for range rounds {
			for _, s := range servers {
				d, err := measure.ManyConnsEcho(s.start, conns, conns*msgs)
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
	if best["gnet2"] > 0 {
		b.ReportMetric(best["step-2kernels"]/best["gnet2"], "2kernels/gnet2")
	}
	b.ReportMetric(best["step-2kernels"]/best["step-1kernel"], "2kernels/1kernel")
}
