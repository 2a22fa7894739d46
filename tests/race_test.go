package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRace runs the kernel's tests and these integration tests again under
// the race detector: CGO_ENABLED=1 go test -race -short ./kernel/... ./tests/...
// (the race detector needs cgo, so a C compiler). It is how CI runs them:
// CI's one command is go test ./..., which runs this test.
func TestRace(t *testing.T) {
	if raceEnabled {
		t.Skip("this is the race run itself")
	}
	if testing.Short() {
		t.Skip("-short: the race run is part of the full run")
	}
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "gcc"
	}
	if _, err := exec.LookPath(strings.Fields(cc + " x")[0]); err != nil {
		t.Skipf("the race detector needs cgo and no C compiler was found (%s): install gcc or set CC", cc)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "test", "-race", "-short", "-count=1", "-timeout=5m", "./kernel/...", "./tests/...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	out, err := cmd.CombinedOutput()
	t.Logf("go test -race:\n%s", tail(string(out), 30))
	if err != nil {
		t.Fatalf("the race run failed: %v", err)
	}
	if strings.Contains(string(out), "WARNING: DATA RACE") {
		t.Fatal("the race detector reported a data race")
	}
}
