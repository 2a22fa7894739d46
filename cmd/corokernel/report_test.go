package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/corokernel/corokernel/cdemo"
	"github.com/corokernel/corokernel/internal/measure"
)

// tableRows returns the rows of the Markdown tables in md, as cells.
func tableRows(md string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| mechanism |") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		rows = append(rows, cells)
	}
	return rows
}

// bars returns the titles of the rects of class "bar" in the SVG chart,
// failing t if it does not parse as XML.
func bars(t *testing.T, svg []byte) []string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	var titles []string
	inBar, inTitle := false, false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the chart is not XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if tok.Name.Local == "rect" {
				for _, a := range tok.Attr {
					if a.Name.Local == "class" && a.Value == "bar" {
						inBar = true
						titles = append(titles, "")
					}
				}
			}
			inTitle = inBar && tok.Name.Local == "title"
		case xml.CharData:
			if inTitle {
				titles[len(titles)-1] += string(tok)
			}
		case xml.EndElement:
			if tok.Name.Local == "rect" {
				inBar = false
			}
			inTitle = false
		}
	}
	return titles
}

// TestReportQuick runs the comparison with -quick, in process: the
// tables have a row for every mechanism but the C10K rows (which -quick
// leaves out, saying so), the chart a bar for every row with numbers, and
// report.json holds the same results and round-trips.
func TestReportQuick(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-quick", "-o", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}
	if out := stdout.String(); !strings.Contains(out, "Historical anchor, from other hardware") || !strings.Contains(out, "xml.sax 8.37 s") {
		t.Error("the bus contest's table lacks Beazley's 2009 figures, labelled as history")
	}
	ms := measure.Mechanisms(measure.Config{LoadC: loadC, EchoServers: echoServers, EchoServersOps: echoServersOps})
	var names []string
	for _, m := range ms {
		if m.Section != measure.C10K {
			names = append(names, m.Name)
		}
	}
	if !strings.Contains(stdout.String(), "-quick -only c10k runs them") {
		t.Error("the quick report does not say that it left the C10K rows out")
	}
	progress := fmt.Sprintf("measuring %s (%d/%d)\n", names[len(names)-1], len(names), len(names))
	for _, want := range []string{"measuring Go function call (1/", progress, "wrote " + filepath.Join(dir, "report.svg"), "wrote " + filepath.Join(dir, "report.json")} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
		}
	}

	js, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	again, err := json.MarshalIndent(rep, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append(again, '\n'), js) {
		t.Errorf("report.json does not round-trip through report:\n%s\nbecame\n%s", js, again)
	}
	if !rep.Quick || rep.Runs != quickOptions.Runs || rep.Date == "" || rep.CPUs < 1 {
		t.Errorf("report header %+v", rep)
	}

	// Every mechanism has a row, in order, with the JSON's numbers; rows
	// without numbers say why.
	rows := tableRows(stdout.String())
	if len(rows) != len(names) || len(rep.Results) != len(names) {
		t.Fatalf("%d table rows, %d results for %d mechanisms:\n%s", len(rows), len(rep.Results), len(names), stdout.String())
	}
	_, cerr := loadC()
	var withTime, withMemoryBar, measured []string
	for i, r := range rep.Results {
		row := rows[i]
		if r.Name != names[i] || row[0] != names[i] {
			t.Errorf("row %d: table %q, JSON %q, want %q", i, row[0], r.Name, names[i])
			continue
		}
		switch {
		case r.Err != "":
			t.Errorf("%s failed: %s", r.Name, r.Err)
		case r.Noisy != "":
			measured = append(measured, r.Name)
			if row[2] != "noisy" || !strings.Contains(row[len(row)-1], "noisy") || r.Ns != 0 {
				t.Errorf("%s: a noisy row printed as %q, Ns %v", r.Name, row, r.Ns)
			}
		case r.Unavailable != "":
			if !strings.Contains(row[len(row)-1], "unavailable") {
				t.Errorf("%s: row %q does not say it is unavailable", r.Name, row)
			}
			if strings.HasPrefix(r.Name, "C ") && cerr == nil {
				t.Errorf("%s unavailable with a C compiler: %s", r.Name, r.Unavailable)
			}
		default:
			withTime = append(withTime, r.Name)
			measured = append(measured, r.Name)
			if (r.Section == measure.C10K || r.Section == measure.Switch) && r.Bytes > 0 {
				withMemoryBar = append(withMemoryBar, r.Name) // these panels draw memory too
			}
			want := number(r.Ns)
			if r.MBPerS > 0 {
				want = fmt.Sprintf("%.0f", r.MBPerS)
			}
			if r.Section == measure.Buses {
				want = fmt.Sprintf("%.3f s (%.0f MB/s)", r.Ns/1e9, r.MBPerS)
			}
			if row[2] != want || r.Ratio <= 0 {
				t.Errorf("%s: table says %q, JSON %v (ratio %v)", r.Name, row[2], want, r.Ratio)
			}
		}
	}
	for _, want := range []string{"ctx native loop", "iter.Pull", "kernel go task", "epoll, 1000 idle fds", "echo net"} {
		if !slices.Contains(measured, want) {
			t.Errorf("no numbers for %s", want)
		}
	}
	for _, g := range cdemo.Generators {
		if !slices.Contains(names, "C "+g) {
			t.Errorf("cdemo generator %q has no row", g)
		}
	}

	svg, err := os.ReadFile(filepath.Join(dir, "report.svg"))
	if err != nil {
		t.Fatal(err)
	}
	titles := bars(t, svg)
	if len(titles) != len(withTime)+len(withMemoryBar) {
		t.Errorf("%d bars for %d rows with numbers and %d memory figures", len(titles), len(withTime), len(withMemoryBar))
	}
	for _, name := range withTime {
		n, mem := 0, 0
		for _, title := range titles {
			if strings.HasPrefix(title, name+": ") {
				n++
				if strings.HasSuffix(title, " bytes") {
					mem++
				}
			}
		}
		want := 1
		if slices.Contains(withMemoryBar, name) {
			want = 2
		}
		if n != want || mem != want-1 {
			t.Errorf("%s has %d bars (%d of memory), want %d", name, n, mem, want)
		}
	}
}

// noCompiler runs corokernel in a child process without a C compiler
// (cdemo loads its library once per process) and returns its stdout.
func noCompiler(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "COROKERNEL_MAIN=1", "CC=/nonexistent/cc")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("corokernel %q: %v; stderr:\n%s", args, err, stderr.String())
	}
	return out
}

// TestReportUnavailable runs the C rows without a C compiler: they are
// rows that say why, in the tables, the JSON and the chart.
func TestReportUnavailable(t *testing.T) {
	dir := t.TempDir()
	md := string(noCompiler(t, "-quick", "-only", "^C ", "-o", dir))
	rows := tableRows(md)
	if len(rows) != len(cdemo.Generators) {
		t.Errorf("%d rows for -only '^C ', want %d:\n%s", len(rows), len(cdemo.Generators), md)
	}
	for _, row := range rows {
		if !strings.HasPrefix(row[0], "C ") || row[2] != "—" || !strings.Contains(row[len(row)-1], "**unavailable**: cdemo: no C compiler") {
			t.Errorf("row %q: want a C row, unavailable for want of a compiler", row)
		}
	}
	if svg, err := os.ReadFile(filepath.Join(dir, "report.svg")); err != nil || len(bars(t, svg)) != 0 || !bytes.Contains(svg, []byte("unavailable: cdemo: no C compiler")) {
		t.Errorf("report.svg: %v, or it has bars for rows without numbers, or does not say why", err)
	}

	// -json prints what report.json holds.
	out := noCompiler(t, "-quick", "-json", "-only", "^C ", "-o", dir)
	var rep report
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("stdout is not the report: %v\n%s", err, out)
	}
	if len(rep.Results) != len(cdemo.Generators) {
		t.Errorf("%d results for -only '^C ', want %d", len(rep.Results), len(cdemo.Generators))
	}
	for _, r := range rep.Results {
		if !strings.HasPrefix(r.Name, "C ") || !strings.Contains(r.Unavailable, "no C compiler") || r.Ns != 0 {
			t.Errorf("%s: unavailable %q, %v ns; want no C compiler and no numbers", r.Name, r.Unavailable, r.Ns)
		}
	}
	if js, err := os.ReadFile(filepath.Join(dir, "report.json")); err != nil || !bytes.Equal(js, out) {
		t.Errorf("report.json (%v) differs from stdout", err)
	}
}

// TestRender renders a report with rows of every state: numbers,
// unavailable, failed.
func TestRender(t *testing.T) {
	rep := &report{Date: "2026-01-02T03:04:05Z", Command: "go run ./cmd/corokernel", Go: "go1.26", CPU: "cpu", CPUs: 2, Runs: 5}
	rep.Results = []measure.Result{
		{Name: "slow", Section: measure.Switch, Kind: "stackful, Go", What: "w1", Ns: 2500, Bytes: 8192},
		{Name: "fast", Section: measure.Switch, Kind: "stackless, native", What: "w2", Ns: 1.25},
		{Name: "gone", Section: measure.Switch, Kind: "stackful, native", What: "w3", Unavailable: "no gone | here"},
		{Name: "broken", Section: measure.IOWait, Kind: "k", What: "w4", Err: "it broke\nbadly"},
		{Name: "io", Section: measure.IOWait, Kind: "k", What: "w5", Ns: 2e5},
		{Name: "tasks", Section: measure.Throughput, Kind: "stackful, Go", What: "w6", Ns: 1e4, MBPerS: 1600},
		{Name: "base", Section: measure.Throughput, Kind: "k", What: "w7", Ns: 8e3, MBPerS: 2000, Baseline: true},
	}
	measure.SetRatios(rep.Results)
	md := markdown(rep)
	for _, want := range []string{
		"| slow | stackful, Go | 2500 | 2000 | 8192 | w1 |",
		"| fast | stackless, native | 1.25 | 1.00 | — | w2 |",
		`| gone | stackful, native | — | — | — | **unavailable**: no gone \| here |`,
		"| broken | k | — | — | **failed**: it broke |",
		"| io | k | 200000 | 1.00 | w5 |",
		"| mechanism | kind | MB/s | × base | what it measures |",
		"| tasks | stackful, Go | 1600 | 0.80 | w6 |",
	} {
		if !strings.Contains(md, want+"\n") {
			t.Errorf("markdown has no line %q:\n%s", want, md)
		}
	}
	svg := chart(rep)
	titles := bars(t, svg)
	want := []string{"fast: 1.25 ns", "slow: 2.5 µs", "slow: 8192 bytes", "io: 200 µs", "base: 2000 MB/s, 1.00×", "tasks: 1600 MB/s, 0.80×"}
	if !slices.Equal(titles, want) {
		t.Errorf("bars %q, want %q", titles, want)
	}
	if !bytes.Contains(svg, []byte("Memory per suspended coroutine or task")) {
		t.Error("the chart has no panel for memory per suspended coroutine")
	}
	for _, s := range []string{"unavailable: no gone | here", "failed: it broke", ">1 ns<", ">10 ns<", ">100 ns<", ">1 µs<", ">1 ms<"} {
		if !bytes.Contains(svg, []byte(s)) {
			t.Errorf("chart does not say %q", s)
		}
	}
}

// TestChartLayout: each time panel's axis spans only its own rows; the
// I/O rows stay grouped per poller in table order; rows have readable
// names; a long subtitle wraps inside the chart's width.
func TestChartLayout(t *testing.T) {
	rep := &report{Date: "2026-01-02T03:04:05Z", Command: "go run ./cmd/corokernel -quick -only " + strings.Repeat("x|", 60) + "y",
		Go: "go1.26", CPU: "a CPU with a long name", CPUs: 2, Runs: 3, Quick: true}
	rep.Results = []measure.Result{
		{Name: "ctx ring", Section: measure.Switch, Kind: "stackful, native", What: "w", Ns: 30},
		{Name: "goroutine+channel", Section: measure.Switch, Kind: "stackful, Go", What: "w", Ns: 600},
		{Name: "select, 10 idle fds", Section: measure.IOWait, Kind: "k", What: "w", Ns: 3e3},
		{Name: "select, 1000 idle fds", Section: measure.IOWait, Kind: "k", What: "w", Ns: 7e4},
		{Name: "epoll, 10 idle fds", Section: measure.IOWait, Kind: "k", What: "w", Ns: 2e3},
		{Name: "epoll, 1000 idle fds", Section: measure.IOWait, Kind: "k", What: "w", Ns: 2.1e3},
	}
	measure.SetRatios(rep.Results)
	svg := string(chart(rep))
	sw, io, _ := strings.Cut(svg, "I/O wait scaling")
	if strings.Contains(sw, ">10 µs<") || strings.Contains(sw, ">1 ms<") || !strings.Contains(sw, ">1 µs<") {
		t.Error("the switch panel's axis does not end at the decade above its slowest row (1 µs)")
	}
	if !strings.Contains(io, ">100 µs<") || strings.Contains(io, ">10 ns<") {
		t.Error("the I/O panel's axis does not span 1 µs to 100 µs")
	}
	order := []string{"select, 10 idle fds", "select, 1000 idle fds", "epoll, 10 idle fds", "epoll, 1000 idle fds"}
	last := -1
	for _, name := range order {
		i := strings.Index(io, ">"+name+"<")
		if i < last {
			t.Errorf("I/O row %q out of table order: the pollers are not grouped", name)
		}
		last = i
	}
	if !strings.Contains(sw, ">ctx: trap + next of a ring<") || !strings.Contains(sw, ">goroutine + channels<") {
		t.Error("the chart shows report names that need the table to decode")
	}
	for _, line := range regexp.MustCompile(`<text x="16" y="\d+" fill="#555">([^<]*)</text>`).FindAllStringSubmatch(svg, -1) {
		if w := 16 + 7*len([]rune(line[1])); w > chartWidth {
			t.Errorf("a subtitle line of %d characters runs past the chart's %d px: %q", len(line[1]), chartWidth, line[1])
		}
	}
}

// TestExitStatus runs the command as a process: a usage error exits 2.
func TestExitStatus(t *testing.T) {
	cmd := exec.Command(os.Args[0], "nope")
	cmd.Env = append(os.Environ(), "COROKERNEL_MAIN=1")
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Errorf("corokernel nope: %v, want exit status 2", err)
	}
}

// TestReportWriteError: a report that cannot be written fails at once,
// before measuring anything, with one error.
func TestReportWriteError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-quick", "-only", "^Go function call$", "-o", file}, &stdout, &stderr); code != 1 {
		t.Errorf("exit code %d, want 1; stderr %q", code, stderr.String())
	}
	if stdout.Len() != 0 || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "not a directory") {
		t.Errorf("stdout %q, stderr %q: want no table and one line saying why", stdout.String(), stderr.String())
	}
}
