package ctx_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/corokernel/corokernel/ctx"
)

// TestFPVendor: the restore mode follows the CPU's vendor as the kernel
// reports it: loaded always on AMD and Hygon, compared first elsewhere.
func TestFPVendor(t *testing.T) {
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Skip("no /proc/cpuinfo:", err)
	}
	amd := bytes.Contains(info, []byte("AuthenticAMD")) || bytes.Contains(info, []byte("HygonGenuine"))
	if got := ctx.FPLoadAlways(); got != amd {
		t.Errorf("fpLoadAlways = %v; /proc/cpuinfo names an AMD or Hygon vendor: %v", got, amd)
	}
}
