package ctx_test

import (
	"testing"
	"time"

	"github.com/corokernel/corokernel/internal/measure"
)

// BenchmarkLibraries: the cost per event of a real library driven both
// ways in one run, pushed (Go callbacks through purego, the usual way) and
// pulled (a ctx loop over yield functions), reported as ns/event and, on
// the pull rows, the ratio pull/push of the same run:
//
//	go test -run '^$' -bench Libraries ./ctx
//
// sqlite: one event is one row of a select (measure.SqliteEvents). zlib:
// one callback of inflateBack, in() or out(), over 1 MB in 4 KiB chunks
// (measure.ZlibEvents); each carries kilobytes of inflating. The report
// (go run ./cmd/corokernel) has the same rows.
func BenchmarkLibraries(b *testing.B) {
	for _, l := range []struct {
		name string
		run  func(pull bool, n int) (time.Duration, error)
	}{{"sqlite", measure.SqliteEvents}, {"zlib", measure.ZlibEvents}} {
		var push float64 // ns per event of the push row
		b.Run(l.name+"/push", func(b *testing.B) {
			d := run(b, func(n int) (time.Duration, error) { return l.run(false, n) })
			push = float64(d.Nanoseconds()) / float64(b.N)
		})
		b.Run(l.name+"/pull", func(b *testing.B) {
			d := run(b, func(n int) (time.Duration, error) { return l.run(true, n) })
			if push > 0 {
				b.ReportMetric(float64(d.Nanoseconds())/float64(b.N)/push, "pull/push")
			}
		})
	}
}
