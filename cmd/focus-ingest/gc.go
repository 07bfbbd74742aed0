package main

import "runtime/debug"

// Garbage collector settings of the ingest command (not of serve, whose
// concurrent jobs need more), unless GOMEMLIMIT or GOGC are set in the
// environment. The soft memory limit keeps peak RSS under
// the 512 MB target and flat with the input size (the open Parquet
// writers are bounded by dataset.DefaultMaxBufferedBytes, a batch by
// --batch-size); below it, GOGC=200 halves the collections of a small job.
const (
	memoryLimit = 448 << 20
	gcPercent   = 200
)

// tuneGC applies the settings above, leaving those the environment gives.
func tuneGC(getenv func(string) string) {
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}
