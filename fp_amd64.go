package corokernel

// fpLoadAlways makes RESTORE_CONTEXT (ctxframe_amd64.h) load the saved
// floating-point control words without comparing them first: on AMD
// cores, where an LDMXCSR is cheap whatever it changes and reading back
// STMXCSR's result is not.
var fpLoadAlways = cpuAMD()

// cpuAMD reports whether CPUID names AMD or Hygon as the vendor.
func cpuAMD() bool
