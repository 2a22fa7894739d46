// Command corokernel compares the coroutine mechanisms of the corokernel
// project and its peers on this machine, and runs the project's programs.
//
// Usage:
//
//	corokernel [-quick] [-only regexp] [-json] [-o dir]
//	corokernel command [arguments]
//
// Without a command it measures every mechanism (about a minute; -quick
// takes seconds) and prints the results as Markdown tables: switch cost
// (ns per round trip, with the bytes each suspended coroutine or task
// holds), I/O wait scaling and echo throughput. It writes the same
// results as a bar chart, report.svg, and as report.json, into dir
// (default the current directory). The flags are:
//
//	-quick        measure briefly: for smoke tests, not for numbers
//	-only regexp  measure only the mechanisms whose names match
//	-json         print the JSON instead of the tables
//	-o dir        write report.svg and report.json into dir
//
// The commands are:
//
//	buses   Beazley's bus feed through his coroutine pipeline
//	demo    run a program from Beazley's course with the kernel's trap trace on
//	echo    serve the echo protocol with the kernel's echo server
//	load    load an echo server, checking every byte
//
// Run "corokernel command -h" for a command's flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
)

// A command is one subcommand of corokernel.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands maps each subcommand's name to the command.
var commands map[string]command

func init() {
	commands = map[string]command{
		"buses": {"Beazley's bus feed through his coroutine pipeline (-gen writes one)", busesMain},
		"demo":  {"run a program from Beazley's course with the kernel's trap trace on", demoMain},
		"echo":  {"serve the echo protocol with the kernel's echo server", echoMain},
		"load":  {"load an echo server, checking every byte", loadMain},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs corokernel with the arguments args and returns the exit code:
// 2 for a usage error, 1 for a failure.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return reportMain(args, stdout, stderr)
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "corokernel: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	return c.run(args[1:], stdout, stderr)
}

// parseExit is the exit code for a flag parsing error: 0 for -h or -help
// (the usage was asked for, and printed), 2 for a usage error, as Go's
// flag package does for its own command lines.
func parseExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// usage writes the command's usage to w.
func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("usage: corokernel [-quick] [-only regexp] [-json] [-o dir]\n")
	b.WriteString("       corokernel command [arguments]\n\n")
	b.WriteString("Without a command, corokernel measures the coroutine mechanisms and reports.\n\ncommands:\n")
	for _, name := range slices.Sorted(maps.Keys(commands)) {
		fmt.Fprintf(&b, "  %-8s %s\n", name, commands[name].summary)
	}
	b.WriteString("\nRun \"corokernel -h\" or \"corokernel command -h\" for the flags.\n")
	io.WriteString(w, b.String())
}
