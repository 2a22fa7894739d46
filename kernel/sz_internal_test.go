package kernel

import (
	"testing"
	"unsafe"
)

// TestIOOpSize: an operation record is 64 bytes, the size class every
// idle connection's waiting Recv pays for.
func TestIOOpSize(t *testing.T) {
	if n := unsafe.Sizeof(ioOp{}); n != 64 {
		t.Errorf("ioOp is %d bytes, want 64", n)
	}
}
