package ctx

// FPRestoreModes runs f once with each way RESTORE_CONTEXT restores the
// floating-point control words (compared first, or loaded always), so
// that a test covers both whatever this CPU's vendor.
func FPRestoreModes(f func(name string)) {
	old := fpLoadAlways
	defer func() { fpLoadAlways = old }()
	for _, always := range []bool{false, true} {
		fpLoadAlways = always
		if always {
			f("load-always")
		} else {
			f("compare")
		}
	}
}

// FPLoadAlways reports how this CPU restores the control words.
func FPLoadAlways() bool { return fpLoadAlways }
