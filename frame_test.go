package corokernel

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
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

// TestAddressWords: every assembly entry whose address Go needs has a
// read-only word beside it (DATA ·nameAddr, $·name(SB)), which Go declares
// as a plain uintptr variable. A DATA whose name matches no Go declaration
// in its package would leave the Go variable zero, silently: each named
// word must be declared in a Go file of the same directory. (The values
// themselves are checked non-zero by each package's own tests.)
func TestAddressWords(t *testing.T) {
	dataRe := regexp.MustCompile(`(?m)^DATA\s+·(\w+)\+0\(SB\)/8, \$·\w+\(SB\)`)
	dirs := map[string]bool{}
	n := 0
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".s") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dir := filepath.Dir(path)
		var goSrc []byte
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, _ := os.ReadFile(f)
			goSrc = append(goSrc, b...)
		}
		for _, m := range dataRe.FindAllSubmatch(src, -1) {
			n++
			dirs[dir] = true
			decl := regexp.MustCompile(`\b` + string(m[1]) + `\b[^\n]*uintptr|\b` + string(m[1]) + `,`)
			if !decl.Match(goSrc) {
				t.Errorf("%s: DATA ·%s has no Go declaration in %s", path, m[1], dir)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{".", "ctx", filepath.Join("internal", "cabi")} {
		if !dirs[d] {
			t.Errorf("no address words found in %s", d)
		}
	}
	t.Logf("%d address words in %d packages", n, len(dirs))
}
