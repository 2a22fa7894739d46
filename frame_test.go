package corokernel

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestFrameHeaderCopies: the packages that assemble with the context frame
// (ctx, internal/cabi) include copies of ctxframe_*.h of their own, since
// the go command rebuilds a package only when its own files change: a
// package that included ../ctxframe_amd64.h kept an old build after an
// edit of it. Each copy must hold exactly the header here (go generate
// writes them), after a comment saying where it comes from.
func TestFrameHeaderCopies(t *testing.T) {
	for _, h := range []string{"ctxframe_amd64.h", "ctxframe_arm64.h"} {
		want, err := os.ReadFile(h)
		if err != nil {
			t.Fatal(err)
		}
		for _, dir := range []string{"ctx", filepath.Join("internal", "cabi")} {
			got, err := os.ReadFile(filepath.Join(dir, h))
			if err != nil {
				t.Fatal(err)
			}
			note, ok := bytes.CutSuffix(got, want)
			if !ok || !bytes.Contains(note, []byte("A copy of the repository root's "+h)) {
				t.Errorf("%s is not a copy of %s: run go generate in the repository root", filepath.Join(dir, h), h)
			}
		}
	}
}
