package measure

import (
	"bytes"
	"compress/flate"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
	"unsafe"

	"github.com/corokernel/corokernel/ctx"
	"github.com/ebitengine/purego"
)

// This file measures real C libraries' callbacks both ways: pulled (a ctx
// loop over yield functions) and pushed (Go callbacks through purego, the
// usual way). One operation is one callback event.

// sqliteTable is the table every sqlite measurement selects from.
const sqliteTable = 20_000

type sqliteLib struct {
	exec uintptr
	db   uintptr
	run  func(db uintptr, sql string, cb, arg, errmsg uintptr) int32
	push uintptr // the purego row callback, made once
	rows int     // what push counted
}

var sqliteState struct {
	once sync.Once
	lib  *sqliteLib
	err  error
}

// loadSqlite opens Debian's libsqlite3 and an in-memory database with a
// table of sqliteTable rows (a integer, b text), once.
func loadSqlite() (*sqliteLib, error) {
	sqliteState.once.Do(func() {
		h, err := purego.Dlopen("libsqlite3.so.0", purego.RTLD_NOW)
		if err != nil {
			sqliteState.err = Unavailable("libsqlite3.so.0 not found: install Debian's libsqlite3-0")
			return
		}
		s := &sqliteLib{}
		if s.exec, err = purego.Dlsym(h, "sqlite3_exec"); err != nil {
			sqliteState.err = err
			return
		}
		var open func(name string, db *uintptr) int32
		purego.RegisterLibFunc(&open, h, "sqlite3_open")
		purego.RegisterLibFunc(&s.run, h, "sqlite3_exec")
		if rc := open(":memory:", &s.db); rc != 0 {
			sqliteState.err = fmt.Errorf("sqlite3_open: %d", rc)
			return
		}
		sql := fmt.Sprintf("create table t(a integer, b text);"+
			"with recursive c(x) as (select 1 union all select x+1 from c where x < %d) "+
			"insert into t select x, 'row ' || x from c;", sqliteTable)
		if rc := s.run(s.db, sql, 0, 0, 0); rc != 0 {
			sqliteState.err = fmt.Errorf("sqlite3_exec: %d", rc)
			return
		}
		s.push = purego.NewCallback(func(_ uintptr, _ int32, values, _ *[2]*byte) int32 {
			sink += uintptr(unsafe.Pointer(values[1]))
			s.rows++
			return 0
		})
		sqliteState.lib = s
	})
	return sqliteState.lib, sqliteState.err
}

// SqliteEvents selects n rows with sqlite3_exec (queries of at most
// sqliteTable rows), each row a callback that reads the row's second
// column: pulled through a ctx loop, or pushed to a purego callback.
func SqliteEvents(pull bool, n int) (time.Duration, error) {
	s, err := loadSqlite()
	if err != nil {
		return 0, err
	}
	var pins ctx.Pins
	defer pins.Unpin()
	start := time.Now()
	for left := n; left > 0; {
		k := min(left, sqliteTable)
		left -= k
		sql := fmt.Sprintf("select a, b from t limit %d", k)
		if !pull {
			s.rows = 0
			if rc := s.run(s.db, sql, s.push, 0, 0); rc != 0 || s.rows != k {
				return 0, fmt.Errorf("sqlite push: %d, %d rows of %d", rc, s.rows, k)
			}
			continue
		}
		rows := 0
		for call, err := range ctx.NewLoop(s.exec, []uintptr{s.db, pins.String(sql), ctx.YieldFunc(), 0, 0}).Calls() {
			if err != nil {
				return 0, err
			}
			sink += uintptr(call.Ptr(2))
			rows++
		}
		if rows != k {
			return 0, fmt.Errorf("sqlite pull: %d rows of %d", rows, k)
		}
	}
	return time.Since(start), nil
}

type zlibLib struct {
	inflateBack, init, end uintptr
	version                string
	packed                 []byte // 1 MB of data, deflated
	size                   int
	in, out                uintptr // the purego callbacks, made once
	src, got               []byte  // what push hands out, and collects
	events                 int
}

var zlibState struct {
	once sync.Once
	lib  *zlibLib
	err  error
}

// zlib's z_stream on 64-bit Linux, its window, and the callbacks' tags.
const (
	zStreamSize   = 112
	zWindow       = 1 << 15
	zChunk        = 4096
	zStreamEnd    = 1
	zTagIn        = 1
	zTagOut       = 2
	zlibInputSize = 1 << 20
)

func loadZlib() (*zlibLib, error) {
	zlibState.once.Do(func() {
		h, err := purego.Dlopen("libz.so.1", purego.RTLD_NOW)
		if err != nil {
			zlibState.err = Unavailable("libz.so.1 not found: install Debian's zlib1g")
			return
		}
		z := &zlibLib{size: zlibInputSize}
		for _, s := range []struct {
			p    *uintptr
			name string
		}{{&z.inflateBack, "inflateBack"}, {&z.init, "inflateBackInit_"}, {&z.end, "inflateBackEnd"}} {
			if *s.p, err = purego.Dlsym(h, s.name); err != nil {
				zlibState.err = err
				return
			}
		}
		var version func() string
		purego.RegisterLibFunc(&version, h, "zlibVersion")
		z.version = version()
		data := make([]byte, zlibInputSize)
		r := rand.New(rand.NewPCG(1, 2))
		for i := range data {
			data[i] = byte(r.IntN(32))
		}
		var b bytes.Buffer
		w, _ := flate.NewWriter(&b, flate.BestSpeed)
		w.Write(data)
		w.Close()
		z.packed = b.Bytes()
		z.in = purego.NewCallback(func(_ uintptr, buf **byte) uint32 {
			z.events++
			k := min(zChunk, len(z.src))
			if k == 0 {
				return 0
			}
			*buf = &z.src[0]
			z.src = z.src[k:]
			return uint32(k)
		})
		z.out = purego.NewCallback(func(_ uintptr, buf *byte, k uint32) int32 {
			z.events++
			z.got = append(z.got, unsafe.Slice(buf, k)...)
			return 0
		})
		zlibState.lib = z
	})
	return zlibState.lib, zlibState.err
}

// inflate inflates z.packed once with inflateBack, pulled or pushed,
// returning the callback events it took.
func (z *zlibLib) inflate(pull bool) (int, error) {
	var pins ctx.Pins
	defer pins.Unpin()
	strm := pins.Bytes(make([]byte, zStreamSize))
	window := pins.Bytes(make([]byte, zWindow))
	if r, _, _ := purego.SyscallN(z.init, strm, 15, window, pins.String(z.version), zStreamSize); int32(r) != 0 {
		return 0, fmt.Errorf("inflateBackInit_: %d", int32(r))
	}
	defer purego.SyscallN(z.end, strm)
	z.got, z.events = z.got[:0], 0
	if !pull {
		z.src = z.packed
		pins.Bytes(z.packed)
		if r, _, _ := purego.SyscallN(z.inflateBack, strm, z.in, 0, z.out, 0); int32(r) != zStreamEnd || len(z.got) != z.size {
			return 0, fmt.Errorf("inflateBack, pushed: %d, %d bytes", int32(r), len(z.got))
		}
		return z.events, nil
	}
	in, _ := ctx.YieldFuncTag(zTagIn)
	out, _ := ctx.YieldFuncTag(zTagOut)
	loop := ctx.NewLoop(z.inflateBack, []uintptr{strm, in, 0, out, 0}, ctx.WithCancelValue(zTagIn, 0), ctx.WithCancelValue(zTagOut, 1))
	src := z.packed
	for call, err := range loop.Calls() {
		if err != nil {
			return 0, err
		}
		z.events++
		if call.Tag() == zTagIn {
			k := min(zChunk, len(src))
			call.SetOut(1, call.Lend(src[:k]))
			call.Return(uintptr(k))
			src = src[k:]
		} else {
			z.got = append(z.got, call.Bytes(1, 2)...)
		}
	}
	if r := loop.Result(); int32(r.Value) != zStreamEnd || len(z.got) != z.size {
		return 0, fmt.Errorf("inflateBack, pulled: %+v, %d bytes", r, len(z.got))
	}
	return z.events, nil
}

// ZlibEvents inflates 1 MB of deflate data with zlib's inflateBack, in
// 4 KiB input chunks, as often as n callback events (in() and out()
// alike) take, and returns the time for n of them: pulled through a ctx
// loop, or pushed to purego callbacks. Each event carries kilobytes of
// inflating, so this is a library's cost, not only a callback's.
func ZlibEvents(pull bool, n int) (time.Duration, error) {
	z, err := loadZlib()
	if err != nil {
		return 0, err
	}
	events := 0
	start := time.Now()
	for events < n {
		k, err := z.inflate(pull)
		if err != nil {
			return 0, err
		}
		events += k
	}
	d := time.Since(start)
	return time.Duration(float64(d) * float64(n) / float64(events)), nil
}
