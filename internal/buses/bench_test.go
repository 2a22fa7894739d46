package buses_test

import (
	"errors"
	"testing"
	"time"

	"github.com/corokernel/corokernel/cdemo"
	"github.com/corokernel/corokernel/internal/measure"
)

// BenchmarkBuses is the bus-feed contest of Beazley's course: one op is the whole
// pipeline (route 22, "North Bound") over a generated feed of about 30 MB,
// Beazley's size. The contest row runs every source once per op, side by
// side, and reports the ratios the targets are stated in:
//
//	go test -run '^$' -bench BenchmarkBuses -count 6 ./internal/buses
func BenchmarkBuses(b *testing.B) {
	path, err := measure.BusesFeed(measure.BusesFeedSize)
	if err != nil {
		b.Fatal(err)
	}
	lib, cerr := cdemo.Load()
	floor := func(n int) (time.Duration, error) {
		if cerr != nil {
			return 0, measure.Unavailable(cerr.Error())
		}
		return measure.BusesFloor(lib, path, n)
	}
	runs := map[string]func(int) (time.Duration, error){"c-floor": floor}
	for _, s := range []string{"encoding-xml", "expat-push", "expat-pull"} {
		runs[s] = func(n int) (time.Duration, error) { return measure.BusesPipeline(s, path, n) }
	}
	for _, name := range []string{"encoding-xml", "expat-push", "expat-pull", "c-floor"} {
		b.Run(name, func(b *testing.B) {
			d, err := runs[name](b.N)
			if errors.Is(err, measure.ErrUnavailable) {
				b.Skip(err)
			}
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(d.Seconds()/float64(b.N), "s/feed")
		})
	}
	b.Run("contest", func(b *testing.B) {
		sum := map[string]time.Duration{}
		for range b.N {
			for _, name := range []string{"encoding-xml", "expat-push", "expat-pull", "c-floor"} {
				d, err := runs[name](1)
				if errors.Is(err, measure.ErrUnavailable) {
					b.Skip(err)
				}
				if err != nil {
					b.Fatal(err)
				}
				sum[name] += d
			}
		}
		pull := float64(sum["expat-pull"])
		b.ReportMetric(float64(sum["encoding-xml"])/pull, "pull-speedup-vs-encoding-xml")
		b.ReportMetric(pull/float64(sum["expat-push"]), "pull/push-time")
		b.ReportMetric(pull/float64(sum["c-floor"]), "pull/floor-time")
	})
}
