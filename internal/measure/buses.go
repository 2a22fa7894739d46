package measure

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/corokernel/corokernel/expat"
	"github.com/corokernel/corokernel/internal/buses"
	"github.com/ebitengine/purego"
)

// The bus-feed contest of Beazley's course: the bus pipeline over a generated feed.

// BusesFeedSize is the contest's feed: about 30 MB, Beazley's size.
const BusesFeedSize = 30e6

// BusesRoute and BusesDirection are Beazley's filter.
const (
	BusesRoute     = "22"
	BusesDirection = "North Bound"
)

// Historical are David Beazley's 2009 times for Beazley's 30 MB feed,
// in Python on other hardware: the anchor the contest is read against.
var Historical = []struct {
	Name    string
	Seconds float64
}{
	{"Python xml.sax (2009)", 8.37},
	{"Python expat + coroutines (2009)", 4.51},
	{"Python cElementTree iterparse (2009)", 3.04},
	{"Python + a C extension (2009)", 2.95},
}

// BusesFeed returns the path of a generated feed of about size bytes,
// writing it first (under the user's cache directory, or the temporary
// one) if it is not there.
func BusesFeed(size int64) (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "corokernel")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	n := buses.BusesFor(size)
	p := filepath.Join(dir, fmt.Sprintf("buses-v1-%d.xml", n))
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	f, err := os.CreateTemp(dir, "buses-*.tmp")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if err := buses.Gen(f, n); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return p, os.Rename(f.Name(), p)
}

// BusesPipeline runs the whole pipeline n times over the feed at path with
// the named source (buses.Sources), discarding the output.
func BusesPipeline(source, path string, n int) (time.Duration, error) {
	src, ok := buses.Sources[source]
	if !ok {
		return 0, fmt.Errorf("buses: no source %q", source)
	}
	if source != "encoding-xml" {
		if err := expat.Available(); err != nil {
			return 0, Unavailable(err.Error())
		}
	}
	return timeFeed(path, n, func(f io.Reader) error {
		return buses.Run(src, f, io.Discard, buses.Filter{Route: BusesRoute, Direction: BusesDirection})
	})
}

// timeFeed opens the feed at path n times and returns how long run took
// over it in all.
func timeFeed(path string, n int, run func(io.Reader) error) (time.Duration, error) {
	var total time.Duration
	for range n {
		f, err := os.Open(path)
		if err != nil {
			return 0, err
		}
		start := time.Now()
		err = run(f)
		total += time.Since(start)
		f.Close()
		if err != nil {
			return 0, err
		}
	}
	return total, nil
}

// BusesStages is BusesPipeline with expat-pull as the source and the
// stages in a task on another kernel (stages "thread") or in the child
// process child makes (stages "process").
func BusesStages(stages, path string, child func(buses.Filter) *exec.Cmd, n int) (time.Duration, error) {
	if err := expat.Available(); err != nil {
		return 0, Unavailable(err.Error())
	}
	f := buses.Filter{Route: BusesRoute, Direction: BusesDirection}
	return timeFeed(path, n, func(in io.Reader) error {
		if stages == "thread" {
			return buses.RunThread(buses.ExpatPull, in, io.Discard, f)
		}
		return buses.RunProcess(buses.ExpatPull, in, io.Discard, child(f))
	})
}

// BusesFloor parses the feed n times with libexpat driven entirely in C
// (cdemo's cdemo_expat_count), handlers that only count events.
func BusesFloor(lib CLib, path string, n int) (time.Duration, error) {
	fn, err := lib.Sym("cdemo_expat_count")
	if err != nil {
		return 0, err
	}
	var total time.Duration
	for range n {
		f, err := os.Open(path)
		if err != nil {
			return 0, err
		}
		start := time.Now()
		r, _, _ := purego.SyscallN(fn, f.Fd())
		total += time.Since(start)
		f.Close()
		switch int64(r) {
		case -1:
			return 0, Unavailable("libexpat.so.1 not found: install Debian's libexpat1")
		case -2, -3:
			return 0, fmt.Errorf("buses: the C floor could not parse %s (%d)", path, int64(r))
		}
	}
	return total, nil
}

// busesMechanisms are the contest's rows over a feed of about size bytes.
func busesMechanisms(size int64, loadC func() (CLib, error), child func(buses.Filter) *exec.Cmd) []Mechanism {
	var path string
	feed := func() error {
		if path != "" {
			return nil
		}
		p, err := BusesFeed(size)
		path = p
		return err
	}
	fileSize := func() int {
		if st, err := os.Stat(path); err == nil {
			return int(st.Size())
		}
		return int(size)
	}
	what := map[string]string{
		"encoding-xml": "encoding/xml's Decoder.RawToken feeding the same Go stages",
		"expat-push":   "libexpat calling Go handlers through purego callbacks",
		"expat-pull":   "libexpat on a ctx coroutine (direct mode), its events pulled by a for range loop",
	}
	kinds := map[string]string{
		"encoding-xml": stacklessGo + " (a tokenizer)",
		"expat-push":   "call, C to Go (purego callbacks)",
		"expat-pull":   stackfulNativeGo,
	}
	var ms []Mechanism
	for _, name := range []string{"encoding-xml", "expat-push", "expat-pull"} {
		m := Mechanism{
			Name: "buses " + name, Section: Buses, Kind: kinds[name], What: what[name],
			Baseline: name == "encoding-xml",
			Avail: func() error {
				if name != "encoding-xml" {
					if err := expat.Available(); err != nil {
						return Unavailable(err.Error())
					}
				}
				return feed()
			},
			Run: func(n int) (time.Duration, error) { return BusesPipeline(name, path, n) },
		}
		ms = append(ms, m)
	}
	for _, stages := range []string{"thread", "process"} {
		what := "expat-pull with the stages in a task on another kernel, fed batches of events through its mailbox (Beazley's coroutines in threads)"
		if stages == "process" {
			what = "expat-pull with the stages in a child process, fed the events through a pipe (Beazley's coprocess)"
		}
		ms = append(ms, Mechanism{
			Name: "buses expat-pull, stages " + stages, Section: Buses, Kind: stackfulNativeGo, What: what,
			Avail: func() error {
				if err := expat.Available(); err != nil {
					return Unavailable(err.Error())
				}
				if stages == "process" && child == nil {
					return Unavailable("no command for the stage process (the report's binary gives one)")
				}
				return feed()
			},
			Run: func(n int) (time.Duration, error) { return BusesStages(stages, path, child, n) },
		})
	}
	ms = append(ms, Mechanism{
		Name: "buses C floor", Section: Buses, Kind: "call, C only",
		What: "the floor: libexpat driven entirely in C, handlers that only count (needs a C compiler)",
		Avail: func() error {
			if _, err := loadC(); err != nil {
				return err
			}
			if err := expat.Available(); err != nil {
				return Unavailable(err.Error())
			}
			return feed()
		},
		Run: func(n int) (time.Duration, error) {
			lib, err := loadC()
			if err != nil {
				return 0, err
			}
			return BusesFloor(lib, path, n)
		},
	})
	for i := range ms {
		ms[i].FeedBytes = func() int { return fileSize() }
	}
	return ms
}
