package main

import (
	"bytes"
	"errors"
	"github.com/corokernel/corokernel/cdemo"
	"maps"
	"slices"
	"strings"
	"testing"
)

// golden holds the output of Beazley's programs (pyos3 to pyos6 byte
// for byte as Beazley prints them; pyos2 cut at six lines), with the
// kernel's "Task N terminated" lines.
var golden = map[string]string{
	"pyos2": "I'm foo\nI'm bar\nI'm foo\nI'm bar\nI'm foo\nI'm bar\nTask 1 terminated\nTask 2 terminated\n",
	"pyos3": strings.Repeat("I'm foo\nI'm bar\n", 5) + "I'm foo\nTask 2 terminated\n" +
		strings.Repeat("I'm foo\n", 4) + "Task 1 terminated\n",
	"pyos4": strings.Repeat("I'm foo 1\nI'm bar 2\n", 5) + "Task 1 terminated\n" +
		strings.Repeat("I'm bar 2\n", 5) + "Task 2 terminated\n",
	"pyos5": strings.Repeat("I'm foo 2\n", 5) + "Task 2 terminated\nmain done\nTask 1 terminated\n",
	"pyos6": "Waiting for child\n" + strings.Repeat("I'm foo 2\n", 5) +
		"Task 2 terminated\nChild done\nTask 1 terminated\n",
}

// demo runs "corokernel demo" with args and returns its output split
// into the program's lines and the trace's, past the two header lines
// and the blank line.
func runDemo(t *testing.T, args ...string) (prog, trace string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(append([]string{"demo"}, args...), &stdout, &stderr); code != 0 {
		t.Fatalf("corokernel demo %q: exit code %d; stderr %q", args, code, stderr.String())
	}
	lines := strings.SplitAfter(stdout.String(), "\n")
	if len(lines) < 3 || lines[2] != "\n" {
		t.Fatalf("corokernel demo %q: no header:\n%s", args, stdout.String())
	}
	var p, tr strings.Builder
	for _, l := range lines[3:] {
		if s, ok := strings.CutPrefix(l, traceIndent); ok {
			tr.WriteString(s)
		} else {
			p.WriteString(l)
		}
	}
	return p.String(), tr.String()
}

// TestDemoGolden runs every program as every kind of task: the output is
// Beazley's, and every trap is traced.
func TestDemoGolden(t *testing.T) {
	if got, want := slices.Sorted(maps.Keys(demos)), slices.Sorted(maps.Keys(golden)); !slices.Equal(got, want) {
		t.Fatalf("demos %q, golden outputs for %q", got, want)
	}
	for _, name := range slices.Sorted(maps.Keys(demos)) {
		kinds := slices.Sorted(maps.Keys(demos[name].kinds))
		if !slices.Contains(kinds, "go") || !slices.Contains(kinds, "step") {
			t.Errorf("%s is written as %q tasks; want go and step at least", name, kinds)
		}
		for _, kind := range kinds {
			t.Run(name+"/"+kind, func(t *testing.T) {
				if kind == "native" {
					if err := nativeReady(); errors.Is(err, cdemo.ErrNoCompiler) {
						t.Skip(err)
					}
				}
				prog, trace := runDemo(t, "-tasks", kind, name)
				if prog != golden[name] {
					t.Errorf("output:\n%s\nwant:\n%s", prog, golden[name])
				}
				// One Yield traced per "I'm" line, and each task's end.
				if got, want := strings.Count(trace, "Yield() = 0\n"), strings.Count(prog, "I'm"); got < want {
					t.Errorf("%d Yield traps traced for %d lines:\n%s", got, want, trace)
				}
				if !strings.Contains(trace, "[1] +++ ") {
					t.Errorf("no end of task 1 in the trace:\n%s", trace)
				}
			})
		}
	}
}

// TestDemoTrace checks the trace of pyos5 line by line where it is
// certain: the traps of the main task.
func TestDemoTrace(t *testing.T) {
	for _, kind := range []string{"go", "step", "native"} {
		if kind == "native" {
			if err := nativeReady(); errors.Is(err, cdemo.ErrNoCompiler) {
				t.Log(err)
				continue
			}
		}
		_, trace := runDemo(t, "pyos5", "-tasks", kind)
		var main []string
		for _, l := range strings.Split(trace, "\n") {
			if strings.HasPrefix(l, "[1] ") {
				main = append(main, l)
			}
		}
		want := []string{"[1] NewTask(" + kind + ") = 2", "[1] Yield() = 0", "[1] Yield() = 0", "[1] Yield() = 0",
			"[1] Yield() = 0", "[1] Yield() = 0", "[1] KillTask(2) = 1"}
		if len(main) < len(want) || !slices.Equal(main[:len(want)], want) {
			t.Errorf("%s tasks: task 1's trace %q, want it to start %q", kind, main, want)
		}
		if !strings.Contains(trace, "[2] GetTid() = 2\n") || !strings.Contains(trace, "[2] +++ killed +++\n") {
			t.Errorf("%s tasks: task 2 neither GetTid nor killed in the trace:\n%s", kind, trace)
		}
	}
}

// TestDemoList: without a name, demo lists every program.
func TestDemoList(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"demo"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d; stderr %q", code, stderr.String())
	}
	for name, d := range demos {
		if !strings.Contains(stdout.String(), name+" ") || !strings.Contains(stdout.String(), d.summary) {
			t.Errorf("the list does not name %s:\n%s", name, stdout.String())
		}
	}
}

func TestIndenter(t *testing.T) {
	var b bytes.Buffer
	w := &indenter{w: &b, indent: "> "}
	for _, s := range []string{"a\nb", "c\n", "", "\nd\n"} {
		if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if want := "> a\n> bc\n> \n> d\n"; b.String() != want {
		t.Errorf("wrote %q, want %q", b.String(), want)
	}
}
