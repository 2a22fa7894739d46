package ctx

// FPRestoreModes runs f once: arm64 has one way to restore FPCR.
func FPRestoreModes(f func(name string)) { f("fpcr") }
