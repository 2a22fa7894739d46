package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/corokernel/corokernel/expat"
	"github.com/corokernel/corokernel/internal/buses"
)

// busesMain is Beazley's bus feed through his
// pipeline, with the event source chosen by -source; or, with -gen, a
// feed written for it.
func busesMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("corokernel buses", flag.ContinueOnError)
	fs.SetOutput(stderr)
	route := fs.String("route", "", "print only the buses of this `route` (exact text; default every route)")
	direction := fs.String("direction", "", "print only the buses going this `direction`, as \"North Bound\" (default every direction)")
	source := fs.String("source", "expat-pull", "the XML event source: "+strings.Join(buses.SourceNames, ", "))
	gen := fs.Int("gen", 0, "write a feed of `n` buses to FILE instead of reading one")
	stagesFlag := fs.String("stages", "inline", "where the stages after the source run: inline (Run's one pipeline), thread (a task on another kernel, fed through its mailbox) or process (a child process, fed the events through a pipe)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: corokernel buses [-route r] [-direction d] [-source expat-pull|expat-push|encoding-xml] FILE")
		fmt.Fprintln(stderr, "       corokernel buses -gen n FILE")
		fmt.Fprintln(stderr, "\nPrints route,id,\"direction\",latitude,longitude for each matching <bus> of FILE")
		fmt.Fprintln(stderr, "(\"-\" is standard input or, with -gen, output), as Beazley's bus_locations does.")
		fs.PrintDefaults()
	}
	// Flags may come before or after FILE.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return parseExit(err)
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "corokernel buses: "+format+"\n", a...)
		fs.Usage()
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	src, ok := buses.Sources[*source]
	switch {
	case len(files) == 0:
		return bad("no FILE")
	case len(files) > 1:
		return bad("one FILE, not %d (%s)", len(files), strings.Join(files, " "))
	case !ok:
		return bad("-source %q: want one of %s", *source, strings.Join(buses.SourceNames, ", "))
	case set["gen"] && *gen < 1:
		return bad("-gen %d: want at least 1 bus", *gen)
	case set["gen"] && (set["route"] || set["direction"] || set["source"] || set["stages"]):
		return bad("-gen writes a feed: -route, -direction, -source and -stages are for reading one")
	case *stagesFlag != "inline" && *stagesFlag != "thread" && *stagesFlag != "process" && *stagesFlag != "child":
		return bad("-stages %q: want inline, thread or process", *stagesFlag)
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "corokernel buses: %v\n", err)
		return 1
	}
	if set["gen"] {
		return genFeed(files[0], *gen, stdout, fail)
	}
	filter := buses.Filter{Route: *route, Direction: *direction}
	if *stagesFlag == "child" {
		// The coprocess of -stages process: records on standard input.
		if err := buses.RunEvents(os.Stdin, stdout, filter); err != nil {
			return fail(err)
		}
		return 0
	}
	if *source != "encoding-xml" {
		if err := expat.Available(); err != nil {
			return fail(fmt.Errorf("-source %s: %w (or use -source encoding-xml)", *source, err))
		}
	}
	in := io.Reader(os.Stdin)
	if files[0] != "-" {
		f, err := os.Open(files[0])
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		in = f
	}
	var err error
	switch *stagesFlag {
	case "thread":
		err = buses.RunThread(src, in, stdout, filter)
	case "process":
		err = buses.RunProcess(src, in, stdout, stageProcess(filter))
	default:
		err = buses.Run(src, in, stdout, filter)
	}
	if err != nil {
		var se *expat.SyntaxError
		if errors.As(err, &se) || !strings.Contains(err.Error(), files[0]) {
			err = fmt.Errorf("%s: %w", files[0], err)
		}
		return fail(err)
	}
	return 0
}

// stageProcess is the child of -stages process: this program again,
// running the stages on the events its standard input brings.
func stageProcess(f buses.Filter) *exec.Cmd {
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	cmd := exec.Command(self, "buses", "-stages", "child", "-route", f.Route, "-direction", f.Direction, "-")
	cmd.Env = append(os.Environ(), "COROKERNEL_MAIN=1") // the tests' binary runs main with it
	cmd.Stderr = os.Stderr
	return cmd
}

// genFeed writes a feed of n buses to name ("-": stdout).
func genFeed(name string, n int, stdout io.Writer, fail func(error) int) int {
	if name == "-" {
		if err := buses.Gen(stdout, n); err != nil {
			return fail(err)
		}
		return 0
	}
	f, err := os.Create(name)
	if err != nil {
		return fail(err)
	}
	if err := buses.Gen(f, n); err != nil {
		f.Close()
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	return 0
}
