//go:build ignore

// gen_frames writes ctx's and internal/cabi's copies of the context frame
// headers, ctxframe_amd64.h and ctxframe_arm64.h. The go command hashes
// only a package's own .h files into its build cache key, so a package
// that included ../ctxframe_*.h kept building against an old header after
// an edit of it: each package assembles with a copy of its own, and
// TestFrameHeaderCopies fails when a copy differs. Run with go generate
// in the repository root after editing a header here.
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// copyNote begins every copy: where it comes from and how it is made.
const copyNote = "// A copy of the repository root's %s, written by go generate there\n// (gen_frames.go): edit that one, not this. TestFrameHeaderCopies checks it.\n\n"

func main() {
	for _, h := range []string{"ctxframe_amd64.h", "ctxframe_arm64.h"} {
		src, err := os.ReadFile(h)
		if err != nil {
			panic(err)
		}
		for _, dir := range []string{"ctx", filepath.Join("internal", "cabi")} {
			out := append([]byte(fmt.Sprintf(copyNote, h)), src...)
			if err := os.WriteFile(filepath.Join(dir, h), out, 0o644); err != nil {
				panic(err)
			}
		}
	}
}
