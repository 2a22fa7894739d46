package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corokernel/corokernel/internal/measure"
	"github.com/corokernel/corokernel/kernel"
)

// TestMain lets the tests run the command as a child process: with
// COROKERNEL_MAIN=1 the test binary is corokernel.
func TestMain(m *testing.M) {
	if os.Getenv("COROKERNEL_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		want  string // in stderr
		usage string // the usage line stderr must hold
	}{
		{[]string{"nope"}, `unknown command "nope"`, "usage: corokernel [-quick]"},
		{[]string{"-bogus"}, "flag provided but not defined", "usage: corokernel [-quick]"},
		{[]string{"-quick", "extra"}, `unexpected argument "extra"`, "usage: corokernel [-quick]"},
		{[]string{"-only", "("}, "bad -only", "usage: corokernel [-quick]"},
		{[]string{"-only", "^no such mechanism$"}, "matches no mechanism", "usage: corokernel [-quick]"},
		{[]string{"echo", "-tasks", "fortran"}, `unknown -tasks "fortran"`, "usage: corokernel echo"},
		{[]string{"echo", "-poller", "kqueue"}, `unknown -poller "kqueue"`, "usage: corokernel echo"},
		{[]string{"echo", "-io", "sideways"}, `unknown -io "sideways"`, "usage: corokernel echo"},
		{[]string{"echo", "-kernels", "-1"}, "-kernels -1", "usage: corokernel echo"},
		{[]string{"echo", "-kernels", "5000"}, "-kernels 5000", "usage: corokernel echo"},
		{[]string{"echo", "-bogus"}, "flag provided but not defined", "usage: corokernel echo"},
		{[]string{"echo", "extra"}, `unexpected argument "extra"`, "usage: corokernel echo"},
		{[]string{"demo", "pyos99"}, `unknown program "pyos99"`, "usage: corokernel demo"},
		{[]string{"demo", "-tasks", "fortran", "pyos5"}, `unknown -tasks "fortran"`, "usage: corokernel demo"},
		{[]string{"demo", "pyos5", "-bogus"}, "flag provided but not defined", "usage: corokernel demo"},
		{[]string{"demo", "pyos5", "extra"}, `unexpected argument "extra"`, "usage: corokernel demo"},
		{[]string{"load", "-conns", "0"}, "-conns 0", "usage: corokernel load"},
		{[]string{"load", "-max", "-1"}, "-max -1", "usage: corokernel load"},
		{[]string{"load", "-max", "4611686018427387904"}, "-max 4611686018427387904: want 1 to", "usage: corokernel load"},
		{[]string{"load", "-max", "1099511627776"}, "-max 1099511627776: want 1 to", "usage: corokernel load"},
		{[]string{"load", "-conns", "1000000"}, "-conns 1000000: want at most", "usage: corokernel load"},
		{[]string{"load", "-conns", "100000", "-max", "16000000"}, "the buffers would take", "usage: corokernel load"},
		{[]string{"load", "-timeout", "0s"}, "-timeout 0s", "usage: corokernel load"},
		{[]string{"load", "-bogus"}, "flag provided but not defined", "usage: corokernel load"},
		{[]string{"load", "extra"}, `unexpected argument "extra"`, "usage: corokernel load"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, &stdout, &stderr)
		if code != 2 {
			t.Errorf("corokernel %q: exit code %d, want 2", tc.args, code)
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("corokernel %q: stderr %q does not say %q", tc.args, stderr.String(), tc.want)
		}
		if !strings.Contains(stderr.String(), tc.usage) {
			t.Errorf("corokernel %q: stderr %q holds no %q", tc.args, stderr.String(), tc.usage)
		}
		if stdout.Len() != 0 {
			t.Errorf("corokernel %q: stdout %q, want nothing", tc.args, stdout.String())
		}
	}
}

// TestHelp: -h and -help print the usage and exit 0, as Go's flag package
// has it; an output "folder" that is a file fails before measuring.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"-help"}, {"echo", "-h"}, {"demo", "-help"}, {"load", "-h"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 0 || !strings.Contains(stderr.String(), "usage: corokernel") {
			t.Errorf("corokernel %q: exit %d, stderr %q; want 0 and the usage", args, code, stderr.String())
		}
	}
	file := filepath.Join(t.TempDir(), "afile")
	os.WriteFile(file, nil, 0o666)
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run([]string{"-quick", "-o", file}, &stdout, &stderr)
	if code != 1 || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "not a directory") || time.Since(start) > 5*time.Second {
		t.Errorf("-o FILE: exit %d after %v, stderr %q; want 1 at once, one line", code, time.Since(start), stderr.String())
	}
}

func TestListenError(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"echo", "-addr", "localhost"}, &stdout, &stderr); code != 1 {
		t.Errorf("exit code %d, want 1; stderr %q", code, stderr.String())
	}
}

// TestEchoSignal runs "corokernel echo" for each task kind and poller
// (under uring with the completion traps, -io ops, its default there; and
// epoll with them too), echoes a message through it, and ends it with
// SIGINT or SIGTERM: it must exit with status 0.
func TestEchoSignal(t *testing.T) {
	for tasks := range echoServers {
		for _, poller := range []string{"select", "poll", "epoll", "epoll/ops", "uring", "epoll/ready/2", "uring/ops/0"} {
			sig := syscall.SIGINT
			if poller == "poll" || poller == "uring" {
				sig = syscall.SIGTERM
			}
			t.Run(tasks+"/"+poller, func(t *testing.T) {
				if _, err := echoServers[tasks](); errors.Is(err, measure.ErrUnavailable) {
					t.Skip(err) // the native server is C, built at run time
				}
				parts := append(strings.Split(poller, "/"), "", "")
				poller, ioMode, kernels := parts[0], parts[1], parts[2]
				if err := kernel.CheckPoller(poller); err != nil {
					t.Skip(err)
				}
				args := []string{"echo", "-addr", "127.0.0.1:0", "-tasks", tasks, "-poller", poller}
				if ioMode != "" {
					args = append(args, "-io", ioMode)
				}
				if kernels != "" {
					args = append(args, "-kernels", kernels)
				}
				cmd := exec.Command(os.Args[0], args...)
				cmd.Env = append(os.Environ(), "COROKERNEL_MAIN=1")
				stderr, err := cmd.StderrPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				defer cmd.Process.Kill()
				r := bufio.NewReader(stderr)
				line, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("reading the server's first line: %v", err)
				}
				_, addr, ok := strings.Cut(strings.TrimSpace(line), "listening on ")
				if !ok {
					t.Fatalf("first line %q names no address", line)
				}
				if wantOps := poller == "uring" || ioMode == "ops"; wantOps != strings.Contains(line, "ops I/O") {
					t.Errorf("first line %q: the completion traps should serve exactly under uring and with -io ops", line)
				}
				wantKernels := "1 kernel(s)"
				switch kernels {
				case "2":
					wantKernels = "2 kernel(s)"
				case "0":
					wantKernels = fmt.Sprintf("%d kernel(s)", runtime.GOMAXPROCS(0))
				}
				if !strings.Contains(line, wantKernels) {
					t.Errorf("first line %q: want %s", line, wantKernels)
				}
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				msg := []byte("hello, pyos8\n")
				if _, err := c.Write(msg); err != nil {
					t.Fatal(err)
				}
				back := make([]byte, len(msg))
				if _, err := io.ReadFull(c, back); err != nil || !bytes.Equal(back, msg) {
					t.Fatalf("echo: %q, %v; want %q", back, err, msg)
				}
				// The connection stays open: the signal must end its task too.
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				rest, _ := io.ReadAll(r)
				if err := cmd.Wait(); err != nil {
					t.Fatalf("after %v: %v; stderr %q", sig, err, rest)
				}
				// The server closed the connection when its task was killed.
				if n, err := c.Read(back); err != io.EOF {
					t.Errorf("read after the server ended: %d, %v; want EOF", n, err)
				}
				c.Close()
			})
		}
	}
}
