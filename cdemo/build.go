package cdemo

import (
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/corokernel/corokernel/ctx"
)

// The C sources; ctx.Header is written beside them as corokernel.h.
//
//go:embed c/*.c c/*.h
var sources embed.FS

// cflags are the flags every build passes to the compiler.
var cflags = []string{"-O2", "-fPIC", "-shared"}

// libName is the library's file name inside its cache directory.
const libName = "libcdemo.so"

// Errors from building and loading the library.
var (
	// ErrNoCompiler means the C compiler could not be found or run.
	// Tests skip on it, and only on it.
	ErrNoCompiler = errors.New("cdemo: no C compiler")
	// ErrWrongArch means the compiler built a library for another
	// architecture than the running program's.
	ErrWrongArch = errors.New("cdemo: library built for the wrong architecture")
)

// BuildError is a failed compilation: the command and what it printed.
type BuildError struct {
	Cmd    string // the command line
	Output string // the compiler's standard output and error
	Err    error  // how the command failed
}

// Error returns the command, how it failed and the compiler's output.
func (e *BuildError) Error() string {
	return fmt.Sprintf("cdemo: %s: %v\n%s", e.Cmd, e.Err, e.Output)
}

// Unwrap returns how the command failed.
func (e *BuildError) Unwrap() error { return e.Err }

// compiler is the C compiler named by $CC (default cc), split on spaces:
// the command and any extra arguments.
type compiler []string

func envCompiler() compiler {
	if cc := strings.Fields(os.Getenv("CC")); len(cc) > 0 {
		return cc
	}
	return compiler{"cc"}
}

// command returns the compiler's command with args appended, run in dir.
func (cc compiler) command(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(cc[0], append(slices.Clip(cc[1:]), args...)...)
	cmd.Dir = dir
	return cmd
}

// version identifies the compiler for the cache key: its --version output.
func (cc compiler) version() (string, error) {
	if _, err := exec.LookPath(cc[0]); err != nil {
		return "", fmt.Errorf("%w: set CC (tried %q: %v)", ErrNoCompiler, strings.Join(cc, " "), err)
	}
	out, err := cc.command("", "--version").CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return "", fmt.Errorf("%w: set CC (tried %q: %v)", ErrNoCompiler, strings.Join(cc, " "), err)
	}
	return string(out), nil // a compiler without --version is still keyed by its name
}

// build returns the path of the library compiled by cc, under the cache
// directory root, compiling it first if it is not there. Processes that
// race each compile in a directory of their own and rename the result into
// place, so the library is always whole.
func build(cc compiler, root string) (string, error) {
	ver, err := cc.version()
	if err != nil {
		return "", err
	}
	files, err := sourceFiles()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "cdemo 1\ncc %q\nversion %q\nflags %q\n", cc, ver, cflags)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		fmt.Fprintf(h, "file %q %d\n%s", name, len(files[name]), files[name])
	}
	dir := filepath.Join(root, hex.EncodeToString(h.Sum(nil))[:24])
	lib := filepath.Join(dir, libName)
	built := fmt.Sprintf("the library built by CC=%q", strings.Join(cc, " "))
	if _, err := os.Stat(lib); err == nil {
		return lib, checkArch(lib, built+" ("+lib+")", goarch)
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cdemo: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", fmt.Errorf("cdemo: %w", err)
	}
	defer os.RemoveAll(tmp)
	var cfiles []string
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), text, 0o644); err != nil {
			return "", fmt.Errorf("cdemo: %w", err)
		}
		if strings.HasSuffix(name, ".c") {
			cfiles = append(cfiles, name)
		}
	}
	slices.Sort(cfiles)
	args := append(slices.Clone(cflags), "-o", libName)
	cmd := cc.command(tmp, append(args, cfiles...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", &BuildError{Cmd: strings.Join(cmd.Args, " "), Output: string(out), Err: err}
	}
	if err := checkArch(filepath.Join(tmp, libName), built, goarch); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(tmp, libName), lib); err != nil {
		return "", fmt.Errorf("cdemo: %w", err)
	}
	return lib, nil
}

// sourceFiles returns the C sources and headers by file name, with
// ctx.Header as corokernel.h.
func sourceFiles() (map[string][]byte, error) {
	files := map[string][]byte{"corokernel.h": []byte(ctx.Header)}
	err := fs.WalkDir(sources, "c", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		text, err := sources.ReadFile(p)
		files[path.Base(p)] = text
		return err
	})
	return files, err
}

// cacheRoot is where built libraries live: <user cache>/corokernel/cdemo,
// or under the temporary directory when the user cache is unusable.
func cacheRoot() string {
	if dir, err := os.UserCacheDir(); err == nil {
		root := filepath.Join(dir, "corokernel", "cdemo")
		if os.MkdirAll(root, 0o755) == nil {
			return root
		}
	}
	return filepath.Join(os.TempDir(), "corokernel-cache", "cdemo")
}

// Machine types of the architectures checkArch knows.
var (
	elfMachines = map[string]elf.Machine{
		"386": elf.EM_386, "amd64": elf.EM_X86_64, "arm": elf.EM_ARM,
		"arm64": elf.EM_AARCH64, "loong64": elf.EM_LOONGARCH,
		"ppc64le": elf.EM_PPC64, "riscv64": elf.EM_RISCV, "s390x": elf.EM_S390,
	}
	machoCPUs = map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}
)

// checkArch returns an ErrWrongArch error, which calls the file name,
// unless the ELF or Mach-O file at lib is for the Go architecture arch.
// Architectures it does not know pass.
func checkArch(lib, name, arch string) error {
	f, err := os.Open(lib)
	if err != nil {
		return fmt.Errorf("cdemo: %w", err)
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		return fmt.Errorf("cdemo: %s: %w", lib, err)
	}
	var got, want fmt.Stringer
	switch {
	case string(magic[:]) == elf.ELFMAG:
		ef, err := elf.NewFile(f)
		if err != nil {
			return fmt.Errorf("cdemo: %w", err)
		}
		m, ok := elfMachines[arch]
		if !ok || ef.Machine == m {
			return nil
		}
		got, want = ef.Machine, m
	default:
		mf, err := macho.NewFile(f)
		if err != nil {
			return fmt.Errorf("cdemo: %s is neither ELF nor Mach-O: %w", lib, err)
		}
		c, ok := machoCPUs[arch]
		if !ok || mf.Cpu == c {
			return nil
		}
		got, want = mf.Cpu, c
	}
	return fmt.Errorf("%w: %s is for %v, but this program runs on %s (%v): set CC to a compiler for %s",
		ErrWrongArch, name, got, arch, want, arch)
}

// checkSyntax compiles src, a C file that sits beside the library's
// sources, with -fsyntax-only and any extra flags, and returns what the
// compiler printed. err is nil when the compiler accepted it.
func checkSyntax(cc compiler, src string, flags ...string) (output string, err error) {
	if _, err := cc.version(); err != nil {
		return "", err
	}
	files, err := sourceFiles()
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp("", "cdemo-snippet-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	files["snippet.c"] = []byte(src)
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), text, 0o644); err != nil {
			return "", err
		}
	}
	args := append(append([]string{"-fsyntax-only"}, flags...), "snippet.c")
	out, err := cc.command(tmp, args...).CombinedOutput()
	return string(out), err
}
