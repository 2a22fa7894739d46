// Command corokernel runs the programs of the corokernel project.
//
// Usage:
//
//	corokernel command [arguments]
//
// The commands are:
//
//	echo    serve the echo protocol with the kernel's echo server
//
// Run "corokernel command -h" for a command's flags.
package main

import (
	"fmt"
	"io"
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
		"echo": {"serve the echo protocol with the kernel's echo server", echoMain},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command named by args[0] and returns the exit code: 2 for
// a usage error.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "corokernel: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	return c.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("usage: corokernel command [arguments]\n\ncommands:\n")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(&b, "  %-8s %s\n", name, commands[name].summary)
	}
	io.WriteString(w, b.String())
}
