package kernel

import (
	"testing"
	"time"
)

// setSweep makes the epoll kernels started during the test check the fds
// waited on every d instead of every second.
func setSweep(t *testing.T, d time.Duration) {
	old := sweepInterval
	sweepInterval = d
	t.Cleanup(func() { sweepInterval = old })
}

// lentNow counts the lent buffers the kernel's tasks hold now.
func (k *Kernel) lentNow() int {
	n := 0
	for _, t := range k.tasks {
		if t.lent != 0 {
			n++
		}
	}
	return n
}

// setLendRing makes the uring kernels started during the test lend n
// buffers (a power of two) instead of lendBufs.
func setLendRing(t *testing.T, n int) {
	old := lendRing
	lendRing = n
	t.Cleanup(func() { lendRing = old })
}
