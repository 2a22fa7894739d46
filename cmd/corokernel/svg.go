package main

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/corokernel/corokernel/internal/measure"
)

// The chart's geometry, in pixels.
const (
	chartWidth = 1000
	labelRight = 240 // row labels end here
	plotLeft   = 250 // bars start here
	plotRight  = 820 // the longest bar ends here; its label goes beyond
	rowHeight  = 22
	barHeight  = 14
)

// A category colours the bars of one kind of mechanism.
type category struct{ name, colour string }

var (
	catCall      = category{"call or baseline", "#8c8c8c"}
	catFulNative = category{"stackful, native", "#1f77b4"}
	catLesNative = category{"stackless, native", "#2ca02c"}
	catFulGo     = category{"stackful, Go", "#ff7f0e"}
	catLesGo     = category{"stackless, Go", "#bcbd22"}
	catIO        = category{"I/O wait through the poller", "#9467bd"}
	categories   = []category{catCall, catFulNative, catLesNative, catFulGo, catLesGo, catIO}
)

func categoryOf(r measure.Result) category {
	for _, c := range []category{catFulNative, catLesNative, catFulGo, catLesGo} {
		if strings.HasPrefix(r.Kind, c.name) {
			return c
		}
	}
	if r.Section == measure.IOWait {
		return catIO
	}
	return catCall
}

// svg accumulates the chart.
type svg struct {
	bytes.Buffer
	y int // the top of the next thing to draw
}

func (s *svg) printf(format string, a ...any) { fmt.Fprintf(s, format, a...) }

// text writes a text element; attrs are extra attributes.
func (s *svg) text(x, y int, attrs, t string) {
	s.printf(`<text x="%d" y="%d" %s>%s</text>`+"\n", x, y, attrs, esc(t))
}

func esc(t string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(t))
	return b.String()
}

// chart draws the report as an SVG bar chart: one panel per section, the
// rows sorted by time, fastest first. Times are on one log scale for the
// switch and I/O panels, with a gridline per decade; throughput is
// linear. Every row with numbers has exactly one rect of class "bar";
// rows without numbers say why in words.
func chart(rep *report) []byte {
	var body svg
	body.y = 34
	body.text(16, body.y, `font-size="18" font-weight="bold"`, "corokernel: coroutine mechanisms compared")
	body.y += 20
	sub := fmt.Sprintf("%s, %s (%d CPUs), %s: %s. Median of %d runs.", rep.Date, rep.CPU, rep.CPUs, rep.Go, rep.Command, rep.Runs)
	if rep.Quick {
		sub += " Quick run: rough numbers."
	}
	for _, line := range wrap(sub, 130) { // about 7 px a character

		body.text(16, body.y, `fill="#555"`, line)
		body.y += 16
	}
	legend(&body, rep.Results)

	for _, s := range sections {
		rows := rep.rows(s.id)
		if len(rows) == 0 {
			continue
		}
		// Fastest first, rows without numbers last, in table order; the
		// I/O rows stay in table order, each poller's 10, 100 and 1000
		// idle fds together, so that each reads as a scaling curve.
		if s.id != measure.IOWait {
			slices.SortStableFunc(rows, func(a, b measure.Result) int {
				return cmp.Compare(sortKey(a), sortKey(b))
			})
		}
		body.y += 34
		note := s.value + ", log scale; shorter is faster"
		if s.id.PerSecond() {
			note = "MB/s, linear scale; longer is faster; ratio to " + baseline(rep.Results, s.id)
		}
		body.printf(`<text x="16" y="%d"><tspan font-size="15" font-weight="bold">%s</tspan><tspan dx="12" fill="#555">%s</tspan></text>`+"\n",
			body.y, esc(s.title), esc(note))
		if s.id.PerSecond() {
			linearPanel(&body, rows)
		} else {
			lo, hi := timeRange(rows)
			logPanel(&body, rows, lo, hi)
		}
		if s.id == measure.Switch {
			body.y += 34
			body.printf(`<text x="16" y="%d"><tspan font-size="15" font-weight="bold">%s</tspan><tspan dx="12" fill="#555">%s</tspan></text>`+"\n",
				body.y, esc("Memory per suspended coroutine or task"), esc("bytes, linear scale; shorter is leaner"))
			memoryPanel(&body, slices.DeleteFunc(slices.Clone(rows), func(r measure.Result) bool { return r.Bytes <= 0 }))
		}
		if s.id == measure.Buses {
			body.y += 20
			body.text(16, body.y, `fill="#555"`, "Historical anchor (Beazley 2009, Python, other hardware, 30 MB):")
			body.y += 16
			var parts []string
			for _, h := range measure.Historical {
				parts = append(parts, fmt.Sprintf("%s %.2f s", strings.TrimSuffix(strings.TrimPrefix(h.Name, "Python "), " (2009)"), h.Seconds))
			}
			body.text(16, body.y, `fill="#555"`, strings.Join(parts, " · "))
		}
		if s.id == measure.C10K {
			body.y += 34
			body.printf(`<text x="16" y="%d"><tspan font-size="15" font-weight="bold">%s</tspan><tspan dx="12" fill="#555">%s</tspan></text>`+"\n",
				body.y, esc("C10K: memory per idle connection"), esc("bytes, linear scale; shorter is leaner"))
			memoryPanel(&body, rows)
		}
	}
	body.y += 16

	var out bytes.Buffer
	fmt.Fprintf(&out, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`+"\n",
		chartWidth, body.y, chartWidth, body.y)
	fmt.Fprintf(&out, "<title>corokernel: coroutine mechanisms compared, %s</title>\n", esc(rep.Date))
	fmt.Fprintf(&out, `<rect class="background" width="100%%" height="100%%" fill="white"/>`+"\n")
	out.Write(body.Bytes())
	out.WriteString("</svg>\n")
	return out.Bytes()
}

// sortKey orders a panel's rows: by time, those without numbers last.
func sortKey(r measure.Result) float64 {
	if r.Ns <= 0 {
		return math.Inf(1)
	}
	return r.Ns
}

// legend draws a swatch per category that some row with numbers has.
func legend(s *svg, rs []measure.Result) {
	used := map[category]bool{}
	for _, r := range rs {
		if r.Ns > 0 {
			used[categoryOf(r)] = true
		}
	}
	x := 16
	s.y += 8
	for _, c := range categories {
		if !used[c] {
			continue
		}
		s.printf(`<rect x="%d" y="%d" width="12" height="12" fill="%s"/>`+"\n", x, s.y-10, c.colour)
		s.text(x+17, s.y, "", c.name)
		x += 17 + 7*len(c.name) + 22
	}
}

// wrap breaks t into lines of at most n characters, at spaces.
func wrap(t string, n int) []string {
	var lines []string
	for len(t) > n {
		i := strings.LastIndex(t[:n], " ")
		if i <= 0 { // no space: cut the word
			lines = append(lines, t[:n])
			t = t[n:]
			continue
		}
		lines = append(lines, t[:i])
		t = t[i+1:]
	}
	return append(lines, t)
}

// labels are the chart's names for rows whose report name needs the
// table to decode.
var labels = map[string]string{
	"ctx native loop":               "ctx: native ping-pong loop",
	"ctx native loop, flags differ": "ctx: native loop, MXCSR differs",
	"boost.context":                 "boost.context: native loop",
	"boost.context, flags differ":   "boost.context, MXCSR differs",
	"cgocall":                       "cgocall of libc abs, no switch",
	"ucontext":                      "glibc swapcontext loop",
	"ctx go-driven":                 "ctx: Resume from Go (cgocall)",
	"ctx go-direct":                 "ctx: Resume from Go, direct",
	"ctx c-resume":                  "ctx: ck_resume from C",
	"ctx ring":                      "ctx: trap + next of a ring",
	"C static":                      "C: static-variable generator",
	"C ccr":                         "C: Tatham's ccr generator",
	"C pt-switch":                   "C: protothread, switch form",
	"C pt-goto":                     "C: protothread, goto form",
	"C ctx-native":                  "C loop resuming a ctx body",
	"goroutine+channel":             "goroutine + channels",
	"buses encoding-xml":            "encoding/xml RawToken",
	"buses expat-push":              "expat → Go callbacks (push)",
	"buses expat-pull":              "expat on ctx, pulled by a loop",
	"buses C floor":                 "expat in C only (the floor)",
}

// label is the name a row has in the chart.
func label(name string) string {
	if l, ok := labels[name]; ok {
		return l
	}
	return name
}

// timeRange returns the decades the time panels span.
func timeRange(rs []measure.Result) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, r := range rs {
		if r.Ns > 0 && !r.Section.PerSecond() {
			lo, hi = math.Min(lo, r.Ns), math.Max(hi, r.Ns)
		}
	}
	if lo > hi {
		return 1, 10
	}
	lo, hi = math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi)))
	if hi <= lo {
		hi = lo * 10
	}
	return lo, hi
}

// duration formats ns with a unit: "9.9 ns", "3.15 µs".
func duration(ns float64) string {
	for _, u := range []string{"ns", "µs", "ms"} {
		if ns < 999.5 || u == "ms" {
			return trimZeros(fmt.Sprintf("%.3g", ns)) + " " + u
		}
		ns /= 1000
	}
	panic("unreachable")
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") && !strings.Contains(s, "e") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// logPanel draws rows as bars on a log scale from lo to hi ns.
func logPanel(s *svg, rows []measure.Result, lo, hi float64) {
	x := func(ns float64) float64 {
		return plotLeft + (math.Log10(ns)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))*(plotRight-plotLeft)
	}
	var ticks []tick
	for d := lo; d <= hi*1.0001; d *= 10 {
		ticks = append(ticks, tick{x(d), duration(d), true})
		for m := 2.0; m < 10 && d*m < hi; m++ {
			ticks = append(ticks, tick{x(d * m), "", false})
		}
	}
	panel(s, rows, ticks, func(r measure.Result) (float64, string) {
		return x(r.Ns), duration(r.Ns)
	})
}

// linearPanel draws throughput rows as bars on a linear scale from 0.
func linearPanel(s *svg, rows []measure.Result) {
	top := 0.0
	for _, r := range rows {
		top = math.Max(top, r.MBPerS)
	}
	x, ticks := linearScale(top)
	panel(s, rows, ticks, func(r measure.Result) (float64, string) {
		return x(r.MBPerS), fmt.Sprintf("%.0f MB/s, %.2f×", r.MBPerS, r.Ratio)
	})
}

// linearScale maps values from 0 to a round number at or above top onto
// the plot, and returns the ticks of that scale.
func linearScale(top float64) (x func(float64) float64, ticks []tick) {
	if top <= 0 {
		top = 1
	}
	step := niceStep(top / 5)
	top = math.Ceil(top/step) * step
	x = func(v float64) float64 { return plotLeft + v/top*(plotRight-plotLeft) }
	for v := 0.0; v <= top+step/2; v += step {
		ticks = append(ticks, tick{x(v), fmt.Sprintf("%g", v), true})
	}
	return x, ticks
}

// memoryPanel draws the rows' bytes per instance as bars on a linear
// scale from 0.
func memoryPanel(s *svg, rows []measure.Result) {
	top := 0.0
	for _, r := range rows {
		top = math.Max(top, r.Bytes)
	}
	x, ticks := linearScale(top)
	mem := slices.Clone(rows)
	key := func(r measure.Result) float64 {
		if r.Bytes <= 0 {
			return math.Inf(1)
		}
		return r.Bytes
	}
	for i := range mem {
		if mem[i].Bytes <= 0 { // no bar: the panel says why
			mem[i].Ns = 0
			if mem[i].Unavailable == "" && mem[i].Err == "" {
				mem[i].Unavailable = "no memory figure"
			}
		}
	}
	slices.SortStableFunc(mem, func(a, b measure.Result) int { return cmp.Compare(key(a), key(b)) })
	panel(s, mem, ticks, func(r measure.Result) (float64, string) {
		return x(r.Bytes), fmt.Sprintf("%.0f bytes", r.Bytes)
	})
}

// niceStep returns 1, 2 or 5 times a power of ten, at least v.
func niceStep(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// A tick is a gridline, labelled if major.
type tick struct {
	x     float64
	label string
	major bool
}

// panel draws gridlines with their labels above and below, and a row per
// result: its name, and a bar up to the x that bar returns, labelled with
// the text it returns, or why the row has no numbers.
func panel(s *svg, rows []measure.Result, ticks []tick, bar func(measure.Result) (float64, string)) {
	s.y += 20
	top := s.y + 4
	bottom := top + rowHeight*len(rows)
	for _, t := range ticks {
		colour := "#eeeeee"
		if t.major {
			colour = "#bbbbbb"
		}
		s.printf(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>`+"\n", t.x, top, t.x, bottom, colour)
		if t.label != "" {
			s.text(int(t.x), top-5, `font-size="11" fill="#555" text-anchor="middle"`, t.label)
			s.text(int(t.x), bottom+14, `font-size="11" fill="#555" text-anchor="middle"`, t.label)
		}
	}
	for i, r := range rows {
		y := top + i*rowHeight
		mid := y + rowHeight/2 + 4
		if r.Ns <= 0 {
			s.text(labelRight, mid, `text-anchor="end" fill="#888"`, label(r.Name))
			why := "unavailable: " + r.Unavailable
			switch {
			case r.Err != "":
				why = "failed: " + r.Err
			case r.Noisy != "":
				why = "noisy: " + r.Noisy
			}
			why, _, _ = strings.Cut(why, "\n")
			if len(why) > 100 {
				why = why[:100] + "…"
			}
			s.text(plotLeft+4, mid, `font-style="italic" fill="#888"`, why)
			continue
		}
		s.text(labelRight, mid, `text-anchor="end"`, label(r.Name))
		end, value := bar(r)
		w := math.Max(end-plotLeft, 2)
		s.printf(`<rect class="bar" x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %s</title></rect>`+"\n",
			plotLeft, y+(rowHeight-barHeight)/2, w, barHeight, categoryOf(r).colour, esc(r.Name), esc(value))
		s.text(int(plotLeft+w)+6, mid, `fill="#222"`, value)
	}
	s.y = bottom + 14
}
