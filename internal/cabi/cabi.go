// Package cabi holds small C-ABI functions written in Go assembly: bodies
// and native loops for the tests and benchmarks of ctx and the report, so
// that they need no C compiler. Each variable is a C function pointer.
//
//	uintptr_t Count(ck_coroutine *co, uintptr_t n)     yields 0, 1, ... n-1, returns n (n = 0: forever)
//	uintptr_t Deep(ck_coroutine *co, uintptr_t n)      recurses n frames of 1 KiB, returns n
//	uintptr_t SkipGuard(ck_coroutine *co, uintptr_t pagesize)
//	          writes a word two pages below the stack and one at its lowest address,
//	          as a frame too large for the stack would, without touching the page
//	          just below the stack; then yields 1
//	uintptr_t Call6(ck_coroutine *co, uintptr_t a[7]) returns a[0](a[1], ..., a[6])
//	int       CmpYield(const void *a, const void *b)  a qsort comparator that yields
//	          &{a, b} from the current coroutine and returns the word it is resumed with
//	void      Pong(ck_transfer t)                       fcontext entry: first t.data is the
//	          jump function J, then for ever t = J(t.from, t.data)
//	void      JumpLoop(struct { J; ctx; n; init; flags } *a) n fcontext round trips with Pong;
//	          flags != 0 flips this side's MXCSR inexact flag for the loop (amd64; arm64's
//	          flags live in FPSR, which no context switches)
//	void      SwapLoop(struct { swap; main; co; n } *a) n ucontext round trips with SwapBody
//	void      SwapBody(struct { swap; main; co } *a)     makecontext entry: for ever swap(co, main)
//	uintptr_t TrapSeq(ck_coroutine *co, uint32_t *ops) for each op of the zero-terminated
//	          list: r = co->api->trap(co, op, index, previous r); returns the sum of the r
//	uintptr_t TrapLoop(ck_coroutine *co, uintptr_t op) for ever: co->api->trap(co, op, i++, 0),
//	          returning when a trap's result is negative (the result)
//	uintptr_t YieldN(ck_coroutine *co, uintptr_t n)    traps op 1 (the kernel's Yield) n times,
//	          returns n (or at once, the result, when a trap's result is negative)
//	uintptr_t Trap1(ck_coroutine *co, uintptr_t t[2])  traps once, op t[0] with a = t[1];
//	          returns the result
//	int64_t   Echo(ck_coroutine *co, int64_t *last)     yields back every word it is resumed with
//	          (first co->value); when a yield returns anything but CK_OK, stores the code at
//	          last (if not NULL) and returns it
//	void     *ThreadResume(struct { resume; co; out; code } *a)  a pthread start routine:
//	          a->code = a->resume(a->co, 0, &a->out)
//	int       ResumeLoop(ck_coroutine *co, uintptr_t n)  co->api->resume(co, 0, NULL) n times from
//	          native code; returns the last code
//
// The parts of a round trip, one at a time (ctx's BenchmarkRoundTripParts):
//
//	ck_transfer BareJump(ck_context to, uintptr_t data) the machine layer's jump without the FP
//	          control state, leaving by an indirect jump: the switch itself
//	ck_transfer RetJump(ck_context to, uintptr_t data)  BareJump leaving by a return, which
//	          mispredicts on the other stack: two mispredicted returns per round trip
//	void      ClaimLoop(struct { uintptr_t *word; n } *a) n claims (locked compare-and-swap
//	          0 -> 1) and releasing stores of *word, as a resume claims a coroutine
//	void      TLSLoop(struct { getspecific; key; n; setspecific } *a) sets key on this thread,
//	          then n pthread_getspecific(key) calls, as a resume looks up its thread block
//	uintptr_t FPBody(ck_coroutine *co, uintptr_t a[2])  sets the FP control state to a[0]
//	          (amd64: MXCSR = low 32 bits, x87 CW = bits 32-47; arm64: FPCR); then three
//	          times calls a[1]() unless it is 0, and reads the state (amd64: MXCSR without the
//	          flags | x87 CW << 32; arm64: FPCR);
//	          yields the first two readings and returns the third
//
// Role: test harness: bodies and native loops for the tests and
// benchmarks, which the report binary reaches through internal/measure;
// no library package imports it.
package cabi

// Implemented in assembly with the C ABI; declared here for vet only.
func count()
func deep()
func skipGuard()
func call6()
func cmpYield()
func pong()
func jumpLoop()
func swapLoop()
func swapBody()
func trapSeq()
func trapLoop()
func yieldN()
func trap1()
func echo()
func threadResume()
func fpBody()
func resumeLoop()
func bareJump()
func retJump()
func claimLoop()
func tlsLoop()

// C function pointers: read-only words the assembly defines (DATA
// ·Count, $·count(SB)); a write faults.
var (
	Count, Deep, SkipGuard, Call6, CmpYield, Pong, JumpLoop, SwapLoop, SwapBody, TrapSeq, TrapLoop, YieldN, Trap1, Echo, ThreadResume, FPBody, ResumeLoop, BareJump, RetJump, ClaimLoop, TLSLoop uintptr
)

// Word returns the machine word at addr, for reading what native code
// handed over by address (vet rightly flags unsafe.Pointer(uintptr)).
func Word(addr uintptr) uintptr

// api is the ck_api table CmpYield uses (SetAPI).
var api uintptr

// SetAPI gives CmpYield the ck_api table (ctx.API()).
func SetAPI(p uintptr) { api = p }
