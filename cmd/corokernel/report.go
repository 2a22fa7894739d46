package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/corokernel/corokernel/cdemo"
	"github.com/corokernel/corokernel/internal/measure"
)

// A report is one run of the comparison, as report.json holds it.
type report struct {
	Date    string           `json:"date"`           // when it ran, UTC, RFC 3339
	Command string           `json:"command"`        // the command that reproduces it
	Go      string           `json:"go"`             // Go version, GOOS/GOARCH
	CPU     string           `json:"cpu"`            // the processor's model name
	CPUs    int              `json:"cpus"`           // runtime.NumCPU
	Runs    int              `json:"runs"`           // timed runs per mechanism; the times are their median
	Quick   bool             `json:"quick"`          // measured briefly
	Left    string           `json:"left,omitempty"` // what -quick left out, and how to include it
	Results []measure.Result `json:"results"`        // in table order
}

// rows returns the results of a section, in table order.
func (rep *report) rows(id measure.Section) []measure.Result {
	var rows []measure.Result
	for _, r := range rep.Results {
		if r.Section == id {
			rows = append(rows, r)
		}
	}
	return rows
}

// options are how long the full and the quick comparison measure.
var (
	fullOptions  = measure.Options{Target: 100 * time.Millisecond, Runs: 7, Instances: 10000}
	quickOptions = measure.Options{Target: 2 * time.Millisecond, Runs: 3, Instances: 1000}
)

// loadC loads cdemo's C library for the report's C rows: without a C
// compiler they are unavailable.
func loadC() (measure.CLib, error) {
	l, err := cdemo.Load()
	if errors.Is(err, cdemo.ErrNoCompiler) {
		return nil, measure.Unavailable(err.Error())
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

// reportMain is corokernel without a command: it measures the mechanisms,
// prints the tables (or the JSON) and writes report.svg and report.json.
func reportMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("corokernel", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "measure briefly: for smoke tests, not for numbers")
	only := fs.String("only", "", "measure only the mechanisms whose names match `regexp`")
	asJSON := fs.Bool("json", false, "print the JSON instead of the tables")
	dir := fs.String("o", ".", "write report.svg and report.json into `dir`")
	fs.Usage = func() {
		usage(stderr)
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "corokernel: "+format+"\n", a...)
		fs.Usage()
		return 2
	}
	if fs.NArg() > 0 {
		return bad("unexpected argument %q", fs.Arg(0))
	}
	re, err := regexp.Compile(*only)
	if err != nil {
		return bad("bad -only: %v", err)
	}
	var ms []measure.Mechanism
	cfg := measure.Config{LoadC: loadC, EchoServers: echoServers, EchoServersOps: echoServersOps, BusesChild: stageProcess}
	if *quick {
		cfg.BusesFeedSize = 3e6 // a tenth of Beazley's feed
	}
	left := ""
	for _, m := range measure.Mechanisms(cfg) {
		if !re.MatchString(m.Name) {
			continue
		}
		if *quick && *only == "" && m.Section == measure.C10K {
			// Ten thousand connections take most of a quick run's time
			// and memory (about 45 s and 900 MB of 61 s here): asked for
			// by name only.
			left = "The C10K rows are left out of -quick (about 45 s and 900 MB); -quick -only c10k runs them."
			continue
		}
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return bad("-only %q matches no mechanism", *only)
	}

	// The output folder must be writable before a minute of measuring.
	if err := checkDir(*dir); err != nil {
		fmt.Fprintf(stderr, "corokernel: -o %s: %v\n", *dir, err)
		return 1
	}
	opts := fullOptions
	if *quick {
		opts = quickOptions
	}
	rep := report{
		Date:    time.Now().UTC().Format(time.RFC3339),
		Command: commandLine(args),
		Go:      fmt.Sprintf("%s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH),
		CPU:     cpuModel(),
		CPUs:    runtime.NumCPU(),
		Runs:    opts.Runs,
		Quick:   *quick,
		Left:    left,
	}
	p := newProgress(stderr)
	for i, m := range ms {
		p.printf("measuring %s (%d/%d)", m.Name, i+1, len(ms))
		rep.Results = append(rep.Results, measure.Measure(m, opts))
	}
	p.done()
	measure.SetRatios(rep.Results)

	js, err := json.MarshalIndent(rep, "", "\t")
	if err != nil {
		fmt.Fprintf(stderr, "corokernel: %v\n", err)
		return 1
	}
	js = append(js, '\n')
	if *asJSON {
		stdout.Write(js)
	} else {
		io.WriteString(stdout, markdown(&rep))
	}
	code := 0
	if err := os.MkdirAll(*dir, 0o777); err != nil {
		fmt.Fprintf(stderr, "corokernel: %v\n", err)
		code = 1
	}
	for name, data := range map[string][]byte{"report.svg": chart(&rep), "report.json": js} {
		name = filepath.Join(*dir, name)
		if err := os.WriteFile(name, data, 0o666); err != nil {
			fmt.Fprintf(stderr, "corokernel: %v\n", err)
			code = 1
			continue
		}
		fmt.Fprintf(stderr, "corokernel: wrote %s\n", name)
	}
	for _, r := range rep.Results {
		if r.Err != "" {
			fmt.Fprintf(stderr, "corokernel: %s failed: %s\n", r.Name, r.Err)
			code = 1
		}
	}
	return code
}

// checkDir makes dir if need be and checks that files can be written in
// it.
func checkDir(dir string) error {
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return errors.New("not a directory")
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".corokernel-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// commandLine returns the command line that reproduces a report made with
// args, quoted for a POSIX shell.
func commandLine(args []string) string {
	s := "go run ./cmd/corokernel"
	for _, a := range args {
		if a == "" || strings.ContainsFunc(a, func(r rune) bool { return !strings.ContainsRune(safe, r) }) {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		s += " " + a
	}
	return s
}

// safe are the characters that need no quoting in a shell word.
const safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%"

// cpuModel returns the processor's model name, as Linux names it.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// progress writes the progress line: on a terminal one line rewritten in
// place, elsewhere one line per step.
type progress struct {
	w    io.Writer
	term bool
}

func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	if !ok {
		return &progress{w: w}
	}
	fi, err := f.Stat()
	return &progress{w: w, term: err == nil && fi.Mode()&os.ModeCharDevice != 0}
}

func (p *progress) printf(format string, a ...any) {
	if p.term {
		fmt.Fprintf(p.w, "\r\x1b[K"+format, a...)
		return
	}
	fmt.Fprintf(p.w, format+"\n", a...)
}

func (p *progress) done() {
	if p.term {
		io.WriteString(p.w, "\r\x1b[K")
	}
}

// A section of the tables and the chart.
type section struct {
	id     measure.Section
	title  string
	intro  string
	value  string // the value column's header
	memory string // the memory column's header, if it has one
}

var sections = []section{
	{
		id: measure.Switch, title: "Switch cost", value: "ns per round trip", memory: "bytes per suspended",
		intro: "One round trip is a resume and the yield back (two switches), or a call and its return. " +
			"Memory: the bytes each suspended coroutine or task holds (Go heap and stacks, " +
			"or resident memory for stacks the Go runtime does not allocate).",
	},
	{
		id: measure.IOWait, title: "I/O wait scaling", value: "ns per I/O round trip",
		intro: "One round trip through the kernel's poller, while other tasks wait on idle fds: " +
			"select and poll scan every fd on every wait, epoll and io_uring's poll requests (uring) do not.",
	},
	{
		id: measure.Throughput, title: "Echo throughput", value: "MB/s",
		intro: "pyos8's echo server on the kernel (under epoll, and under uring on the completion traps) against " +
			"a goroutine-per-connection server of package net and gnet's event loop, " +
			"loaded from the same process (1 MB = 10^6 bytes).",
	},
	{
		id: measure.C10K, title: "C10K: ten thousand connections", value: "MB/s", memory: "bytes per idle connection",
		intro: "the C10k problem (Kegel): the echo servers with 10,000 connections open at once, under epoll, " +
			"loaded from the same process; and the resident memory each server holds per idle connection " +
			"(the connections echoed 100 bytes each and were left open).",
	},
	{
		id: measure.Buses, title: "Beazley's bus feed (expat, coroutine pipeline)", value: "time per feed (MB/s)",
		intro: "Beazley's whole pipeline (buses_to_dicts, filter_on_field on route 22 and on \"North Bound\", " +
			"bus_locations) over a generated feed of about 30 MB (3 MB with -quick), once per event source; " +
			"the stages are the same Go code for each. The ratio is speed against encoding/xml.",
	},
	{
		id: measure.CLibs, title: "C libraries: pull against push", value: "ns per event",
		intro: "Real C libraries' callbacks (Debian's sqlite and zlib), pulled through a ctx loop and pushed to " +
			"Go callbacks through purego, and what a pull loop costs to start. The ratio is against iter.Pull's start.",
	},
}

// historicalNote is Beazley's 2009 figures for the bus feed: an anchor, not
// a measurement of this machine.
var historicalNote = func() string {
	var b strings.Builder
	b.WriteString("Historical anchor, from other hardware (David Beazley, 2009, Python on Beazley's 30 MB feed): ")
	for i, h := range measure.Historical {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %.2f s", strings.TrimSuffix(h.Name, " (2009)"), h.Seconds)
	}
	b.WriteString(".")
	return b.String()
}()

// baseline returns the name of the row the section's ratios are taken
// against: its baseline row if that has numbers, else "fastest".
func baseline(rs []measure.Result, id measure.Section) string {
	for _, r := range rs {
		if r.Section == id && r.Baseline && r.Ns > 0 {
			return r.Name
		}
	}
	return "fastest"
}

// markdown returns the report as Markdown: a header and a table per
// section.
func markdown(rep *report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# corokernel: coroutine mechanisms compared\n\n")
	fmt.Fprintf(&b, "%s, %s (%d CPUs), %s: `%s`. Times are the median of %d runs.",
		rep.Date, rep.CPU, rep.CPUs, rep.Go, rep.Command, rep.Runs)
	if rep.Quick {
		b.WriteString(" Quick run: the numbers are rough.")
	}
	if rep.Left != "" {
		b.WriteString(" " + rep.Left)
	}
	b.WriteString("\n")
	for _, s := range sections {
		rows := rep.rows(s.id)
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n", s.title, s.intro)
		head := []string{"mechanism", "kind", s.value, "× " + baseline(rep.Results, s.id)}
		align := []string{"---", "---", "---:", "---:"}
		if s.memory != "" {
			head = append(head, s.memory)
			align = append(align, "---:")
		}
		head = append(head, "what it measures")
		align = append(align, "---")
		fmt.Fprintf(&b, "| %s |\n|%s|\n", strings.Join(head, " | "), strings.Join(align, "|"))
		for _, r := range rows {
			value, ratio, mem, what := "—", "—", "—", r.What
			switch {
			case r.Unavailable != "":
				what = "**unavailable**: " + r.Unavailable
			case r.Err != "":
				what = "**failed**: " + r.Err
			case r.Noisy != "":
				value, what = "noisy", "**noisy**: "+r.Noisy+"; "+r.What
			default:
				value = number(r.Ns)
				if r.MBPerS > 0 {
					value = fmt.Sprintf("%.0f", r.MBPerS)
				}
				if s.id == measure.Buses {
					value = fmt.Sprintf("%.3f s (%.0f MB/s)", r.Ns/1e9, r.MBPerS)
				}
				ratio = fmt.Sprintf("%.2f", r.Ratio)
				if r.Ratio >= 10 {
					ratio = fmt.Sprintf("%.0f", r.Ratio)
				}
			}
			if r.Bytes > 0 {
				mem = fmt.Sprintf("%.0f", r.Bytes)
			}
			cells := []string{r.Name, r.Kind, value, ratio}
			if s.memory != "" {
				cells = append(cells, mem)
			}
			cells = append(cells, what)
			for i, c := range cells {
				cells[i] = cell(c)
			}
			fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
		}
		if s.id == measure.Buses {
			b.WriteString("\n" + historicalNote + "\n")
		}
	}
	return b.String()
}

// number formats a time in ns with three significant digits, without an
// exponent.
func number(ns float64) string {
	if ns >= 1000 {
		return fmt.Sprintf("%.0f", ns)
	}
	return fmt.Sprintf("%.3g", ns)
}

// cell makes s fit in a Markdown table cell: one line, pipes escaped.
func cell(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.ReplaceAll(s, "|", `\|`)
}
