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
