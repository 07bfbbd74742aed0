package main

import (
	"flag"
	"runtime/debug"
)

// Garbage collector settings of the ingest command (not of serve, whose
// concurrent jobs need more), unless GOMEMLIMIT or GOGC are set in the
// environment: a fixed memory envelope. The collector runs only when the
// heap reaches the soft memory limit (GOGC off), so peak RSS is about the
// same for any input (flat with the input size, under the 512 MB target)
// and a small job pays no collection at all. The live heap stays well
// below the limit: the open Parquet writers' buffers are bounded by
// dataset.DefaultMaxBufferedBytes, the batches in flight by --batch-size
// and the parallel conversion's 8 MiB pieces (convert/parallel.go): at 1M
// rows of 57 columns the heap left after a collection is ~250 MB (at most
// ~300 MB) against 416 MiB, and the collector runs about 30 times.
const (
	memoryLimit = 416 << 20
	gcPercent   = -1
)

// tuneGC applies the settings above, leaving those the environment gives.
func tuneGC(getenv func(string) string) {
	setMemoryLimit(getenv, memoryLimit)
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

// setMemoryLimit sets the soft memory limit, unless GOMEMLIMIT is set.
func setMemoryLimit(getenv func(string) string, limit int64) {
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(limit)
	}
}

// Parts of serve's live-bytes bound L (docs/INTERNALS.md, "Memory model of
// the server"): L = base + B + J × (W + P) + R × D.
const (
	liveBase    = 64 << 20  // runtime, gRPC, Arrow, code, idle connections
	liveJobW    = 128 << 20 // a job's Parquet writers
	liveJobP    = 128 << 20 // a job's pipeline (parallel conversion, a DoPut's read-ahead included)
	liveReadGet = 48 << 20  // a DoGet
)

// serveGCPercent is serve's GOGC unless the environment sets one: the
// heap may grow to 3 × its live bytes, under the soft memory limit L, so
// the collector works harder near L instead of growing past it and the
// ceiling stays about L. Measured against GOGC=100 (one DoPut of 1M
// rows, 3 alternating runs each): median 10.5 s instead of 11.5 s, ~8%
// less server CPU, peak RSS ~800 MB instead of ~550 MB (both under L).
const serveGCPercent = 200

// serveGC holds serve's --memory-limit.
type serveGC struct {
	memoryLimit sizeFlag // 0: the live-bytes bound
}

// register binds --memory-limit to fs.
func (g *serveGC) register(fs *flag.FlagSet) {
	fs.Var(&g.memoryLimit, "memory-limit", "soft memory limit of the Go runtime (`SIZE`); default: the live-bytes bound of the memory model")
}

// liveBound returns L for jobs J, reads R and in-flight bytes B.
func liveBound(jobs, reads int, inflight int64) int64 {
	return liveBase + inflight + int64(jobs)*(liveJobW+liveJobP) + int64(reads)*liveReadGet
}

// limit returns the soft memory limit of c: --memory-limit, or L.
func (g *serveGC) limit(c *serveConfig) int64 {
	if g.memoryLimit > 0 {
		return int64(g.memoryLimit)
	}
	return liveBound(c.maxJobs, c.admit.maxReads, c.admit.maxInflightBytes)
}
