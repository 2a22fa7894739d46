package ctx_test

import (
	"bytes"
	"compress/flate"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/corokernel/corokernel/ctx"
	"github.com/ebitengine/purego"
)

// BenchmarkLibraries: the cost per event of a real library driven both
// ways in one run, pulled (a ctx loop over yield functions) and pushed
// (Go callbacks through purego, the usual way), reported as ns/event and,
// on the pull rows, the ratio pull/push of the same run:
//
//	go test -run '^$' -bench Libraries ./ctx
//
// sqlite: one event is one row of a 20,000-row select. zlib: one event is
// one callback of inflateBack over 1 MB of deflate data in 4 KiB chunks
// (in() and out() alike).
func BenchmarkLibraries(b *testing.B) {
	var push time.Duration // of the library's push row, for its pull row's ratio
	var pushEvents int
	ratio := func(b *testing.B, d time.Duration, events int, pull bool) {
		per := float64(d.Nanoseconds()) / float64(events)
		b.ReportMetric(per, "ns/event")
		b.ReportMetric(0, "ns/op")
		if pull && push > 0 {
			b.ReportMetric(per/(float64(push.Nanoseconds())/float64(pushEvents)), "pull/push")
		}
	}

	s := openSqlite(b)
	const rows = 20_000
	db := s.db(b, rows)
	var pins ctx.Pins
	defer pins.Unpin()
	sql := pins.String("select a, b from t")
	b.Run("sqlite/push", func(b *testing.B) {
		n := 0
		cb := sqlitePushCallback(&n)
		start := time.Now()
		for range b.N {
			if rc := s.run(db, "select a, b from t", cb, 0, 0); rc != 0 {
				b.Fatal(rc)
			}
		}
		push, pushEvents = time.Since(start), n
		ratio(b, push, n, false)
	})
	b.Run("sqlite/pull", func(b *testing.B) {
		n := 0
		loop := ctx.NewLoop(s.exec, []uintptr{db, sql, ctx.YieldFunc(), 0, 0})
		start := time.Now()
		for range b.N {
			for call := range loop.Calls() {
				_ = call.StringAt(2, 1)
				n++
			}
		}
		ratio(b, time.Since(start), n, true)
	})

	z := openZlib(b)
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(rand.IntN(32))
	}
	var packed bytes.Buffer
	w, _ := flate.NewWriter(&packed, flate.BestSpeed)
	w.Write(data)
	w.Close()
	src := packed.Bytes()
	push = 0
	b.Run("zlib/push", func(b *testing.B) {
		n := 0
		for range b.N {
			d := time.Now()
			got, events := z.inflatePush(b, src)
			push += time.Since(d)
			n += events
			if len(got) != len(data) {
				b.Fatalf("%d bytes of %d", len(got), len(data))
			}
		}
		pushEvents = n
		ratio(b, push, n, false)
	})
	b.Run("zlib/pull", func(b *testing.B) {
		var d time.Duration
		n := 0
		for range b.N {
			start, before := time.Now(), z.events
			got, r := z.inflate(b, src)
			d += time.Since(start)
			n += z.events - before
			if int32(r.Value) != zStreamEnd || len(got) != len(data) {
				b.Fatalf("%+v, %d bytes", r, len(got))
			}
		}
		ratio(b, d, n, true)
	})
}

// sqlitePushCallback is a purego callback for sqlite3_exec's rows that
// counts them in *n and reads the second column, as the pull loop does.
// purego's callbacks are never freed, so it is made once.
var sqlitePush = struct {
	once sync.Once
	cb   uintptr
	n    *int
}{}

func sqlitePushCallback(n *int) uintptr {
	sqlitePush.n = n
	sqlitePush.once.Do(func() {
		sqlitePush.cb = purego.NewCallback(func(_ uintptr, ncols int32, values, _ *[2]*byte) int32 {
			_ = values[1]
			*sqlitePush.n++
			return 0
		})
	})
	return sqlitePush.cb
}

// zlibPush are purego callbacks for inflateBack, made once: in() hands
// out zlibPush.src chunk by chunk, out() appends to zlibPush.out.
var zlibPush struct {
	once        sync.Once
	inCB, outCB uintptr
	src, out    []byte
	events      int
}

// inflatePush is inflate with purego callbacks instead of a loop.
func (z *zlib) inflatePush(b testing.TB, src []byte) ([]byte, int) {
	zlibPush.once.Do(func() {
		zlibPush.inCB = purego.NewCallback(func(_ uintptr, buf **byte) uint32 {
			zlibPush.events++
			n := min(chunkSize, len(zlibPush.src))
			if n == 0 {
				return 0
			}
			*buf = &zlibPush.src[0]
			zlibPush.src = zlibPush.src[n:]
			return uint32(n)
		})
		zlibPush.outCB = purego.NewCallback(func(_ uintptr, buf *byte, n uint32) int32 {
			zlibPush.events++
			zlibPush.out = append(zlibPush.out, unsafe.Slice(buf, n)...)
			return 0
		})
	})
	var pins ctx.Pins
	defer pins.Unpin()
	pins.Bytes(src)
	zlibPush.src, zlibPush.out, zlibPush.events = src, zlibPush.out[:0], 0
	strm, end := z.stream(b, &pins)
	defer end()
	r, _, _ := purego.SyscallN(z.inflateBack, strm, zlibPush.inCB, 0, zlibPush.outCB, 0)
	if int32(r) != zStreamEnd {
		b.Fatalf("inflateBack: %d", int32(r))
	}
	return zlibPush.out, zlibPush.events
}
