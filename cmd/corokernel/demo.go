package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/corokernel/corokernel/kernel"
)

// A demo is one of Beazley's sample programs, written once per task
// kind. Each version spawns the program's tasks on k and prints to out.
type demo struct {
	summary string
	kinds   map[string]func(k *kernel.Kernel, out io.Writer)
}

// demos are Beazley's programs (David Beazley, "A Curious Course on
// Coroutines and Concurrency", Parts 5 to 7) by the name of their file.
var demos = map[string]demo{
	"pyos2": {"foo and bar take turns at Yield (forever in Beazley's; here until six lines are out)", map[string]func(*kernel.Kernel, io.Writer){
		"go": func(k *kernel.Kernel, out io.Writer) {
			lines := 0
			loop := func(name string) kernel.Task {
				return kernel.Go(func(s *kernel.Sys) {
					for lines < 6 {
						fmt.Fprintln(out, "I'm", name)
						lines++
						s.Yield()
					}
				})
			}
			k.Spawn(loop("foo"))
			k.Spawn(loop("bar"))
		},
		"step": func(k *kernel.Kernel, out io.Writer) {
			lines := 0
			loop := func(name string) kernel.Task {
				return kernel.Step(kernel.StepFunc(func(int64) kernel.Trap {
					if lines == 6 {
						return kernel.Exit(0)
					}
					fmt.Fprintln(out, "I'm", name)
					lines++
					return kernel.Yield()
				}))
			}
			k.Spawn(loop("foo"))
			k.Spawn(loop("bar"))
		},
	}},
	"pyos3": {"tasks that end: foo 10 times, bar 5 times", map[string]func(*kernel.Kernel, io.Writer){
		"native": nativeDemo("ck_pyos3_foo", "ck_pyos3_bar"),
		"go": func(k *kernel.Kernel, out io.Writer) {
			loop := func(name string, n int) kernel.Task {
				return kernel.Go(func(s *kernel.Sys) {
					for range n {
						fmt.Fprintln(out, "I'm", name)
						s.Yield()
					}
				})
			}
			k.Spawn(loop("foo", 10))
			k.Spawn(loop("bar", 5))
		},
		"step": func(k *kernel.Kernel, out io.Writer) {
			loop := func(name string, n int) kernel.Task {
				i := 0
				return kernel.Step(kernel.StepFunc(func(int64) kernel.Trap {
					if i == n {
						return kernel.Exit(0)
					}
					i++
					fmt.Fprintln(out, "I'm", name)
					return kernel.Yield()
				}))
			}
			k.Spawn(loop("foo", 10))
			k.Spawn(loop("bar", 5))
		},
	}},
	"pyos4": {"the GetTid trap", map[string]func(*kernel.Kernel, io.Writer){
		"native": nativeDemo("ck_pyos4_foo", "ck_pyos4_bar"),
		"go": func(k *kernel.Kernel, out io.Writer) {
			k.Spawn(goLoop(out, "foo", 5))
			k.Spawn(goLoop(out, "bar", 10))
		},
		"step": func(k *kernel.Kernel, out io.Writer) {
			k.Spawn(stepLoop(out, "foo", 5))
			k.Spawn(stepLoop(out, "bar", 10))
		},
	}},
	"pyos5": {"the NewTask and KillTask traps", map[string]func(*kernel.Kernel, io.Writer){
		"native": nativeDemo("ck_pyos5_main"),
		"go": func(k *kernel.Kernel, out io.Writer) {
			k.Spawn(kernel.Go(func(s *kernel.Sys) {
				child := s.NewTask(goLoop(out, "foo", -1))
				for range 5 {
					s.Yield()
				}
				s.KillTask(child)
				fmt.Fprintln(out, "main done")
			}))
		},
		"step": func(k *kernel.Kernel, out io.Writer) {
			pc, i := 0, 0
			var child kernel.TID
			k.Spawn(kernel.Step(kernel.StepFunc(func(r int64) kernel.Trap {
				switch pc {
				case 0:
					pc = 1
					return kernel.NewTask(stepLoop(out, "foo", -1))
				case 1:
					child, pc = kernel.TID(r), 2
					fallthrough
				case 2:
					if i < 5 {
						i++
						return kernel.Yield()
					}
					pc = 3
					return kernel.KillTask(child)
				}
				fmt.Fprintln(out, "main done")
				return kernel.Exit(0)
			})))
		},
	}},
	"pyos6": {"the WaitTask trap", map[string]func(*kernel.Kernel, io.Writer){
		"native": nativeDemo("ck_pyos6_main"),
		"go": func(k *kernel.Kernel, out io.Writer) {
			k.Spawn(kernel.Go(func(s *kernel.Sys) {
				child := s.NewTask(goLoop(out, "foo", 5))
				fmt.Fprintln(out, "Waiting for child")
				s.WaitTask(child)
				fmt.Fprintln(out, "Child done")
			}))
		},
		"step": func(k *kernel.Kernel, out io.Writer) {
			pc := 0
			k.Spawn(kernel.Step(kernel.StepFunc(func(r int64) kernel.Trap {
				switch pc {
				case 0:
					pc = 1
					return kernel.NewTask(stepLoop(out, "foo", 5))
				case 1:
					pc = 2
					fmt.Fprintln(out, "Waiting for child")
					return kernel.WaitTask(kernel.TID(r))
				}
				fmt.Fprintln(out, "Child done")
				return kernel.Exit(0)
			})))
		},
	}},
}

// goLoop is pyos4's foo as a Go task: GetTid, then n times (forever if
// n < 0) print "I'm name tid" and Yield.
func goLoop(out io.Writer, name string, n int) kernel.Task {
	return kernel.Go(func(s *kernel.Sys) {
		mytid := s.GetTid()
		for i := 0; i != n; i++ {
			fmt.Fprintln(out, "I'm", name, mytid)
			s.Yield()
		}
	})
}

// stepLoop is goLoop as a step machine.
func stepLoop(out io.Writer, name string, n int) kernel.Task {
	pc, i := 0, 0
	var mytid int64
	return kernel.Step(kernel.StepFunc(func(r int64) kernel.Trap {
		if pc == 0 {
			pc = 1
			return kernel.GetTid()
		}
		if pc == 1 {
			mytid, pc = r, 2
		}
		if i == n {
			return kernel.Exit(0)
		}
		i++
		fmt.Fprintln(out, "I'm", name, mytid)
		return kernel.Yield()
	}))
}

// traceIndent sets the trace lines off from the program's output.
const traceIndent = "        "

// demoMain is "corokernel demo": it runs one of Beazley's programs in
// the kernel with the trap trace on, or lists them.
func demoMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("corokernel demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tasks := fs.String("tasks", "go", "task `kind` to write the program in: "+strings.Join(demoKinds(), ", "))
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: corokernel demo [-tasks %s] [name]\n", strings.Join(demoKinds(), "|"))
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "Without a name, demo lists the programs.")
	}
	// Flags may come before or after the name.
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	name := fs.Arg(0)
	if fs.NArg() > 0 {
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return parseExit(err)
		}
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "corokernel demo: "+format+"\n", a...)
		fs.Usage()
		return 2
	}
	if fs.NArg() > 0 {
		return bad("unexpected argument %q", fs.Arg(0))
	}
	if !slices.Contains(demoKinds(), *tasks) {
		return bad("unknown -tasks %q (want %s)", *tasks, strings.Join(demoKinds(), ", "))
	}
	if name == "" {
		fmt.Fprintln(stdout, "Beazley's programs (corokernel demo [-tasks kind] name), with the task kinds each is written as:")
		for _, n := range slices.Sorted(maps.Keys(demos)) {
			kinds := strings.Join(slices.Sorted(maps.Keys(demos[n].kinds)), ", ")
			fmt.Fprintf(stdout, "  %-6s %-18s %s\n", n, "["+kinds+"]", demos[n].summary)
		}
		return 0
	}
	d, ok := demos[name]
	if !ok {
		return bad("unknown program %q (want %s)", name, strings.Join(slices.Sorted(maps.Keys(demos)), ", "))
	}
	prog, ok := d.kinds[*tasks]
	if !ok {
		fmt.Fprintf(stderr, "corokernel demo: %s is not written as %s tasks (it is as %s)\n", name, *tasks, strings.Join(slices.Sorted(maps.Keys(d.kinds)), ", "))
		return 1
	}

	if *tasks == "native" {
		if err := nativeReady(); err != nil {
			fmt.Fprintf(stderr, "corokernel demo: native tasks: %v\n", err)
			return 1
		}
	}
	fmt.Fprintf(stdout, "%s: %s, as %s tasks.\n", name, d.summary, *tasks)
	fmt.Fprintf(stdout, "The program's output is flush left; the kernel's trap trace, \"[task] Trap(args) = result\", indented.\n\n")
	trace := &indenter{w: stdout, indent: traceIndent}
	k := kernel.New(kernel.WithLog(stdout), kernel.WithTrace(trace))
	prog(k, stdout)
	if err := k.Run(); err != nil {
		fmt.Fprintf(stderr, "corokernel demo: %v\n", err)
		return 1
	}
	return 0
}

// demoKinds returns the task kinds every demo is written in.
func demoKinds() []string {
	var kinds []string
	for _, d := range demos {
		for k := range d.kinds {
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
	}
	slices.Sort(kinds)
	return kinds
}

// An indenter writes to w with indent at the start of every line.
type indenter struct {
	w      io.Writer
	indent string
	mid    bool // within a line
}

func (t *indenter) Write(p []byte) (int, error) {
	var b bytes.Buffer
	for _, line := range bytes.SplitAfter(p, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if !t.mid {
			b.WriteString(t.indent)
		}
		b.Write(line)
		t.mid = line[len(line)-1] != '\n'
	}
	if _, err := t.w.Write(b.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}
