package ctx_test

// Pull loops over C libraries nobody here wrote, from Debian's packages:
// sqlite (a thread-owned mutex held across callbacks, a status result),
// glibc's dl_iterate_phdr (the loader lock) and nftw (deep recursion),
// zlib's inflateBack (a callback that returns a length), GSL (double
// arguments and results) and libcurl (a result code). Each test skips,
// naming the package, where its library is missing. They use the public
// API, purego for the set-up calls, and no unsafe: what a user writes.

import (
	"bytes"
	"compress/flate"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/corokernel/corokernel/ctx"
	"github.com/ebitengine/purego"
	"golang.org/x/sys/unix"
)

// openLib dlopens the first of names that loads, or skips the test naming
// the Debian package.
func openLib(t testing.TB, pkg string, names ...string) uintptr {
	t.Helper()
	for _, n := range names {
		if h, err := purego.Dlopen(n, purego.RTLD_NOW|purego.RTLD_GLOBAL); err == nil {
			return h
		}
	}
	if os.Getenv("CK_EXEC_WRAPPER") != "" {
		pkg += ":arm64"
	}
	t.Skipf("%s not found: install Debian's %s (.ci/run does)", names[0], pkg)
	return 0
}

func sym(t testing.TB, lib uintptr, name string) uintptr {
	t.Helper()
	p, err := purego.Dlsym(lib, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// churn keeps the scheduler moving goroutines between threads: busy
// goroutines that yield, and one that sleeps and wakes. It returns a
// function that stops them.
func churn() (stop func()) {
	var done atomic.Bool
	var wg sync.WaitGroup
	for range 2 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for !done.Load() {
				runtime.Gosched()
			}
		})
	}
	wg.Go(func() {
		for !done.Load() {
			time.Sleep(50 * time.Microsecond)
		}
	})
	return func() { done.Store(true); wg.Wait() }
}

// move does what moves a goroutine to another OS thread in a real
// program: it blocks until another goroutine wakes it, and yields.
func move() {
	ch := make(chan struct{})
	go func() { time.Sleep(20 * time.Microsecond); close(ch) }()
	<-ch
	runtime.Gosched()
}

// within runs f on a goroutine and fails the test if it has not returned
// after d: the check that a C library was left unlocked.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v: a lock left held by a thread that moved on", what, d)
	}
}

type sqlite struct {
	exec   uintptr
	open   func(name string, db *uintptr) int32
	close  func(db uintptr) int32
	errmsg func(db uintptr) string
	run    func(db uintptr, sql string, cb, arg, errmsg uintptr) int32
}

func openSqlite(t testing.TB) *sqlite {
	lib := openLib(t, "libsqlite3-0", "libsqlite3.so.0")
	s := &sqlite{exec: sym(t, lib, "sqlite3_exec")}
	purego.RegisterLibFunc(&s.open, lib, "sqlite3_open")
	purego.RegisterLibFunc(&s.close, lib, "sqlite3_close")
	purego.RegisterLibFunc(&s.errmsg, lib, "sqlite3_errmsg")
	purego.RegisterLibFunc(&s.run, lib, "sqlite3_exec")
	return s
}

// db opens an in-memory database with table t of n rows (a, b):
// (1, "row 1"), ..., (n, "row n").
func (s *sqlite) db(t testing.TB, n int) uintptr {
	var db uintptr
	if rc := s.open(":memory:", &db); rc != 0 {
		t.Fatalf("sqlite3_open: %d", rc)
	}
	t.Cleanup(func() { s.close(db) })
	sql := fmt.Sprintf("create table t(a integer, b text);"+
		"with recursive c(x) as (select 1 union all select x+1 from c where x < %d) "+
		"insert into t select x, 'row ' || x from c;", n)
	if rc := s.run(db, sql, 0, 0, 0); rc != 0 {
		t.Fatalf("sqlite3_exec: %d: %s", rc, s.errmsg(db))
	}
	return db
}

// check is the WithCheck rule of a sqlite3_exec loop: SQLITE_OK, or an
// error with sqlite's message.
func (s *sqlite) check(db uintptr) ctx.Option {
	return ctx.WithCheck(func(ret uintptr, _ syscall.Errno) error {
		if rc := int32(ret); rc != 0 {
			return fmt.Errorf("sqlite3_exec: %d: %s", rc, s.errmsg(db))
		}
		return nil
	})
}

// TestSqliteRows: sqlite3_exec's row callback as a pull loop, with the
// goroutine made to move between rows and other goroutines churning the
// scheduler. sqlite holds its connection mutex (a pthread mutex, owned by
// the thread that locked it) for the whole exec, callbacks included: every
// row must come from one OS thread, and the database must stay usable
// from another goroutine after the loop, whole or broken off (a body
// resumed on another thread leaves the mutex owned by the first, and the
// next call waits for ever).
func TestSqliteRows(t *testing.T) {
	s := openSqlite(t)
	const n = 300
	db := s.db(t, n)
	stop := churn()
	defer stop()
	var pins ctx.Pins
	defer pins.Unpin()
	sql := pins.String("select a, b from t order by a")
	tids := map[int]bool{}
	for round := range 3 {
		loop := ctx.NewLoop(s.exec, []uintptr{db, sql, ctx.YieldFunc(), 0, 0}, s.check(db),
			ctx.WithCancelValue(0, 1)) // non-zero from the row callback: abort the query
		rows := 0
		for call, err := range loop.Calls() {
			if err != nil {
				t.Fatal(err)
			}
			// int cb(void *arg, int ncols, char **values, char **names)
			if call.Int32(1) != 2 || call.StringAt(3, 1) != "b" {
				t.Fatalf("row %d: %d columns, second named %q", rows, call.Int32(1), call.StringAt(3, 1))
			}
			rows++
			if want := fmt.Sprint(rows); call.StringAt(2, 0) != want || call.StringAt(2, 1) != "row "+want {
				t.Fatalf("row %d: (%s, %s)", rows, call.StringAt(2, 0), call.StringAt(2, 1))
			}
			tids[unix.Gettid()] = true
			move()
			if round == 1 && rows == n/2 {
				break
			}
		}
		r := loop.Result()
		switch round {
		case 1:
			// Broken off: the row callback returned 1, so sqlite3_exec
			// returned SQLITE_ABORT (4) as the cancel unwound it.
			if rows != n/2 || !r.Canceled || int32(r.Value) != 4 {
				t.Fatalf("broken-off query: %d rows, result %+v; want %d rows, canceled, SQLITE_ABORT", rows, r, n/2)
			}
		default:
			if rows != n || !r.Returned || r.Value != 0 {
				t.Fatalf("query: %d rows, result %+v; want %d, SQLITE_OK", rows, r, n)
			}
		}
		if len(tids) != 1 {
			t.Fatalf("round %d: the rows came from %d OS threads", round, len(tids))
		}
		clear(tids)
		within(t, 10*time.Second, "sqlite3_exec from another goroutine", func() {
			if rc := s.run(db, "update t set a = a", 0, 0, 0); rc != 0 {
				t.Errorf("update after the loop: %d", rc)
			}
		})
	}
}

// TestSqliteError: bad SQL ends the loop with the error WithCheck makes
// of sqlite3_exec's result, and with no check the result is in Result.
func TestSqliteError(t *testing.T) {
	s := openSqlite(t)
	db := s.db(t, 3)
	var pins ctx.Pins
	defer pins.Unpin()
	bad := pins.String("select nosuchcolumn from t")
	var last error
	rows := 0
	for call, err := range ctx.NewLoop(s.exec, []uintptr{db, bad, ctx.YieldFunc(), 0, 0}, s.check(db)).Calls() {
		if err != nil {
			last = err
			continue
		}
		rows++
		call.Return(0)
	}
	if rows != 0 || last == nil || !strings.Contains(last.Error(), "no such column: nosuchcolumn") {
		t.Fatalf("bad SQL: %d rows, error %v; want an error naming the column", rows, last)
	}
	loop := ctx.NewLoop(s.exec, []uintptr{db, bad, ctx.YieldFunc(), 0, 0})
	for _, err := range loop.Calls() {
		t.Fatalf("an iteration without a check: %v", err)
	}
	if r := loop.Result(); !r.Returned || int32(r.Value) != 1 { // SQLITE_ERROR
		t.Fatalf("bad SQL without a check: %+v, want returned SQLITE_ERROR (1)", r)
	}
}

// TestDlIteratePhdr: glibc's dl_iterate_phdr holds the loader lock (a
// recursive pthread mutex) while it calls back for each loaded object.
// The loop moves between objects under churn, then breaks off (the
// callback's cancel value 1 stops the walk); after either, dlopen from
// another goroutine, which takes the same lock, must not hang.
func TestDlIteratePhdr(t *testing.T) {
	iterate := ctx.NewLoop(libcSym("dl_iterate_phdr"), []uintptr{ctx.YieldFunc(), 0}, ctx.WithCancelValue(0, 1))
	stop := churn()
	defer stop()
	for _, breakAt := range []int{-1, 2} {
		tids := map[int]bool{}
		names := 0
		for call, err := range iterate.Calls() {
			if err != nil {
				t.Fatal(err)
			}
			// int cb(struct dl_phdr_info *info, size_t size, void *data):
			// info starts {ElfW(Addr) dlpi_addr; const char *dlpi_name; ...}
			if strings.Contains(call.StringAt(0, 1), "libc.so") {
				names++
			}
			tids[unix.Gettid()] = true
			move()
			if names > 0 && breakAt > 0 {
				break
			}
		}
		if names != 1 || len(tids) != 1 {
			t.Fatalf("break at %d: libc seen %d times, callbacks on %d threads", breakAt, names, len(tids))
		}
		if r := iterate.Result(); !r.Returned || (breakAt > 0) != r.Canceled || (breakAt > 0 && r.Value != 1) {
			t.Fatalf("break at %d: result %+v", breakAt, r)
		}
		within(t, 10*time.Second, "dlopen from another goroutine", func() {
			if _, err := purego.Dlopen("libm.so.6", purego.RTLD_NOW); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestNftwDepth: glibc's nftw walks a tree recursively on the coroutine's
// stack; a tree deeper than the default stack holds needs WithStackSize.
// Its result (-1 for a missing root, with errno ENOENT read on its
// thread) reaches the loop.
func TestNftwDepth(t *testing.T) {
	const depth = 500
	root := deepTree(t, depth)
	for _, c := range []struct {
		root  string
		want  int
		check func(ctx.Result) bool
	}{
		{root, depth + 1, func(r ctx.Result) bool { return r.Returned && r.Value == 0 }},
		{filepath.Join(root, "missing"), 0, func(r ctx.Result) bool {
			return r.Returned && int32(r.Value) == -1 && r.Errno == syscall.ENOENT
		}},
	} {
		// int nftw(const char *dir, int (*fn)(const char *, const struct stat *, int, struct FTW *),
		//          int nopenfd, int flags); FTW_PHYS = 1
		if dirs, r := walk(t, c.root, ctx.WithStackSize(1<<20)); dirs != c.want || !c.check(r) {
			t.Fatalf("nftw %s: %d directories, result %+v", c.root, dirs, r)
		}
	}
}

// deepTree makes a tree depth directories deep and returns its root.
func deepTree(t *testing.T, depth int) string {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, strings.Repeat("d/", depth)), 0o755); err != nil {
		t.Skipf("cannot make a tree %d deep here: %v", depth, err)
	}
	return root
}

// walk walks root with nftw in a pull loop (with opts), counting the
// directories.
func walk(t *testing.T, root string, opts ...ctx.Option) (int, ctx.Result) {
	var pins ctx.Pins
	defer pins.Unpin()
	// int nftw(const char *dir, int (*fn)(const char *, const struct stat *, int, struct FTW *),
	//          int nopenfd, int flags); FTW_PHYS = 1
	loop := ctx.NewLoop(libcSym("nftw"), []uintptr{pins.String(root), ctx.YieldFunc(), 16, 1}, opts...)
	dirs := 0
	for call, err := range loop.Calls() {
		if err != nil {
			t.Fatal(err)
		}
		if call.Int32(2) == 1 { // FTW_D
			dirs++
		}
	}
	return dirs, loop.Result()
}

// TestGSLIntegration: GSL's adaptive integrator gsl_integration_qags
// asks a Go loop for f(x) through a gsl_function whose function is a
// yield function: double f(double x, void *params). The loop answers
// with ReturnFloat64; the integral of exp(-x²) over [0, 1] must match
// Go's own (math.Erf, and Simpson's rule below) within 1e-10.
func TestGSLIntegration(t *testing.T) {
	f := func(x float64) float64 { return math.Exp(-x * x) }
	got, evals, r := integrate(t, f)
	exact := math.Sqrt(math.Pi) / 2 * math.Erf(1)
	simpson := simpson(f, 0, 1, 1<<12)
	t.Logf("qags: %.17g after %d evaluations; erf: %.17g; Simpson: %.17g", got, evals, exact, simpson)
	if !r.Returned || r.Value != 0 || evals < 21 {
		t.Fatalf("gsl_integration_qags: %+v after %d evaluations", r, evals)
	}
	if math.Abs(got-exact) > 1e-10 || math.Abs(got-simpson) > 1e-10 {
		t.Fatalf("∫exp(-x²) over [0,1] = %.17g; Go: %.17g (erf), %.17g (Simpson)", got, exact, simpson)
	}
}

// integrate integrates f over [0, 1] with gsl_integration_qags in a pull
// loop (with opts), returning the integral, the number of evaluations and
// the loop's result.
func integrate(t *testing.T, f func(float64) float64, opts ...ctx.Option) (float64, int, ctx.Result) {
	lib := openLib(t, "libgsl27", "libgsl.so.27")
	qags := sym(t, lib, "gsl_integration_qags")
	var alloc func(n uintptr) uintptr
	var free func(w uintptr)
	var handlerOff func() uintptr
	purego.RegisterLibFunc(&alloc, lib, "gsl_integration_workspace_alloc")
	purego.RegisterLibFunc(&free, lib, "gsl_integration_workspace_free")
	purego.RegisterLibFunc(&handlerOff, lib, "gsl_set_error_handler_off")
	handlerOff() // GSL's default handler aborts the process on an error
	const limit = 1000
	ws := alloc(limit)
	defer free(ws)

	var pins ctx.Pins
	defer pins.Unpin()
	fn := pins.Words([]uintptr{ctx.YieldFunc(), 0}) // gsl_function {function, params}
	res := make([]uintptr, 2)                       // result, abserr: doubles
	resAt := pins.Words(res)
	// int gsl_integration_qags(const gsl_function *f, double a, double b, double epsabs,
	//     double epsrel, size_t limit, gsl_integration_workspace *w, double *result, double *abserr)
	loop := ctx.NewLoop(qags, []uintptr{fn, limit, ws, resAt, resAt + 8},
		append(opts, ctx.WithFloatArgs(ctx.Float64Arg(0), ctx.Float64Arg(1), ctx.Float64Arg(0), ctx.Float64Arg(1e-13)))...)
	evals := 0
	for call, err := range loop.Calls() {
		if err != nil {
			t.Fatal(err)
		}
		x := call.Float64(0)
		if x < 0 || x > 1 {
			t.Fatalf("f asked at %v, outside [0, 1]", x)
		}
		call.ReturnFloat64(f(x))
		evals++
	}
	return math.Float64frombits(uint64(res[0])), evals, loop.Result()
}

// simpson is the composite Simpson rule with n (even) intervals.
func simpson(f func(float64) float64, a, b float64, n int) float64 {
	h := (b - a) / float64(n)
	s := f(a) + f(b)
	for i := 1; i < n; i++ {
		w := 2.0
		if i%2 == 1 {
			w = 4
		}
		s += w * f(a+float64(i)*h)
	}
	return s * h / 3
}

// TestCurlResult: libcurl's transfer of a local file (file://, no
// network) as a pull loop over its write callback; curl_easy_perform's
// CURLcode is the loop's result, CURLE_OK for the file, and
// CURLE_WRITE_ERROR (23) when the loop breaks off (the callback's cancel
// value is not the length it was given), and a missing file is an error
// from WithCheck.
func TestCurlResult(t *testing.T) {
	lib := openLib(t, "libcurl4", "libcurl.so.4")
	perform := sym(t, lib, "curl_easy_perform")
	var initFn func() uintptr
	var cleanup func(uintptr)
	var strerror func(int32) string
	purego.RegisterLibFunc(&initFn, lib, "curl_easy_init")
	purego.RegisterLibFunc(&cleanup, lib, "curl_easy_cleanup")
	purego.RegisterLibFunc(&strerror, lib, "curl_easy_strerror")
	setopt := sym(t, lib, "curl_easy_setopt")
	const (
		optURL           = 10002
		optWriteFunction = 20011
		optBufferSize    = 98
	)
	want := bytes.Repeat([]byte("0123456789abcdef"), 20_000)
	file := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(file, want, 0o644); err != nil {
		t.Fatal(err)
	}
	var pins ctx.Pins
	defer pins.Unpin()
	check := ctx.WithCheck(func(ret uintptr, _ syscall.Errno) error {
		if rc := int32(ret); rc != 0 {
			return fmt.Errorf("curl: %s", strerror(rc))
		}
		return nil
	})
	for _, c := range []struct {
		url     string
		breakAt int
		want    int32
	}{{"file://" + file, 0, 0}, {"file://" + file, 3, 23}, {"file://" + file + ".missing", 0, 37}} {
		h := initFn()
		purego.SyscallN(setopt, h, optURL, pins.String(c.url))
		purego.SyscallN(setopt, h, optWriteFunction, ctx.YieldFunc())
		purego.SyscallN(setopt, h, optBufferSize, 16384)
		loop := ctx.NewLoop(perform, []uintptr{h}, check)
		var got []byte
		var last error
		calls := 0
		for call, err := range loop.Calls() {
			if err != nil {
				last = err
				continue
			}
			// size_t write(char *ptr, size_t size, size_t nmemb, void *userdata)
			if calls++; calls == c.breakAt {
				break
			}
			got = append(got, call.Bytes(0, 2)...)
			call.Return(call.Arg(2))
		}
		r := loop.Result()
		cleanup(h)
		switch {
		case int32(r.Value) != c.want || !r.Returned:
			t.Errorf("%s, break at %d: result %+v, want CURLcode %d", c.url, c.breakAt, r, c.want)
		case c.want == 0 && !bytes.Equal(got, want):
			t.Errorf("%s: %d bytes of %d right", c.url, len(got), len(want))
		case c.want == 37 && (last == nil || !strings.Contains(last.Error(), "file://")):
			t.Errorf("missing file: error %v", last)
		}
	}
}

// stackUse lists what docs/clibs.md says each library's loop needs, in
// bytes, as measured by TestLibraryStackUse (record and overflow line
// included); nftw's figure is per directory level.
var stackUse = map[string]int{
	"sqlite3_exec":         8 << 10,
	"dl_iterate_phdr":      2 << 10,
	"nftw, per level":      512,
	"inflateBack":          4 << 10,
	"gsl_integration_qags": 4 << 10,
}

// TestLibraryStackUse runs the loops above on fresh stacks and checks how
// much of each they touched against stackUse, the figures docs/clibs.md
// gives users to size WithStackSize by.
func TestLibraryStackUse(t *testing.T) {
	measure := func(name string, per int, run func(ctx.Option)) {
		s, err := ctx.FreshStack(4 << 20)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Free()
		run(ctx.WithStack(s))
		used := ctx.StackUsed(s) / per
		t.Logf("%-22s %6d bytes", name, used)
		if used == 0 || used > stackUse[name] {
			t.Errorf("%s used %d bytes of stack; docs/clibs.md says at most %d", name, used, stackUse[name])
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		s := openSqlite(t)
		db := s.db(t, 10)
		var pins ctx.Pins
		defer pins.Unpin()
		measure("sqlite3_exec", 1, func(o ctx.Option) {
			for _, err := range ctx.NewLoop(s.exec, []uintptr{db, pins.String("select a, b from t order by b"), ctx.YieldFunc(), 0, 0}, o).Calls() {
				if err != nil {
					t.Fatal(err)
				}
			}
		})
	})
	t.Run("dl_iterate_phdr", func(t *testing.T) {
		measure("dl_iterate_phdr", 1, func(o ctx.Option) {
			for range ctx.NewLoop(libcSym("dl_iterate_phdr"), []uintptr{ctx.YieldFunc(), 0}, o).Calls() {
			}
		})
	})
	t.Run("nftw", func(t *testing.T) {
		const depth = 200
		root := deepTree(t, depth)
		measure("nftw, per level", depth, func(o ctx.Option) {
			if dirs, _ := walk(t, root, o); dirs != depth+1 {
				t.Fatalf("%d directories", dirs)
			}
		})
	})
	t.Run("zlib", func(t *testing.T) {
		z := openZlib(t)
		var packed bytes.Buffer
		w, _ := flate.NewWriter(&packed, flate.BestCompression)
		w.Write(bytes.Repeat([]byte("stack use "), 50_000))
		w.Close()
		measure("inflateBack", 1, func(o ctx.Option) {
			if _, r := z.inflate(t, packed.Bytes(), o); int32(r.Value) != zStreamEnd {
				t.Fatalf("inflateBack: %+v", r)
			}
		})
	})
	t.Run("gsl", func(t *testing.T) {
		measure("gsl_integration_qags", 1, func(o ctx.Option) {
			integrate(t, func(x float64) float64 { return math.Sqrt(x) }, o)
		})
	})
}
