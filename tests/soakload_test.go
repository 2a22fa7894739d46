package tests

// TestSoakLoad: the echo servers under the load generator's longest run,
// for every task kind, with the process's fd limit raised.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/corokernel/corokernel/internal/echoload"
	"golang.org/x/sys/unix"
)

// soakResult is what the load process reports, on a line of its own
// starting "soakload ".
type soakResult struct {
	Stats echoload.Stats
	Err   string
}

// TestSoakLoad is the load process of TestSoak: it runs only when TestSoak
// starts it with the load's configuration in CK_SOAK_LOAD.
func TestSoakLoad(t *testing.T) {
	env := os.Getenv(soakEnv)
	if env == "" {
		t.Skip("the load process of TestSoak: runs only when TestSoak starts it with " + soakEnv + " set")
	}
	var cfg echoload.Config
	if err := json.Unmarshal([]byte(env), &cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := echoload.Run(ctx, cfg)
	res := soakResult{Stats: st}
	if err != nil {
		res.Err = err.Error()
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("soakload %s\n", b)
}

// runLoad runs cfg's load in a child process and returns its stats.
func runLoad(t *testing.T, cfg echoload.Config) (echoload.Stats, error) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{exe, "-test.run=^TestSoakLoad$", "-test.count=1", "-test.timeout=5m"}
	if w := strings.Fields(os.Getenv("CK_EXEC_WRAPPER")); len(w) > 0 {
		args = append(w, args...) // the binary runs under emulation: so does its child
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), soakEnv+"="+string(b))
	if os.Getenv("GORACE") == "" {
		// A race-enabled child would sleep a second before it exits.
		cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0")
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("load process: %v\n%s", err, tail(out.String(), 20))
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "soakload "); ok {
			var res soakResult
			if err := json.Unmarshal([]byte(rest), &res); err != nil {
				t.Fatalf("load process: %v: %q", err, line)
			}
			if res.Err != "" {
				return res.Stats, errors.New(res.Err)
			}
			return res.Stats, nil
		}
	}
	t.Fatalf("the load process reported nothing:\n%s", tail(out.String(), 20))
	return echoload.Stats{}, nil
}

// raiseNoFile raises the soft limit on open files to at least n, as far as
// the hard limit allows (Go raises it to the hard limit at start-up, so
// this is usually done already), and skips the test if n cannot be had.
func raiseNoFile(t *testing.T, n uint64) {
	t.Helper()
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Skipf("RLIMIT_NOFILE hard limit %d: the test needs %d open files", lim.Max, n)
	}
	lim.Cur = lim.Max
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
}
