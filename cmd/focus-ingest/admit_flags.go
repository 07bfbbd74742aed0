package main

import (
	"flag"

	"github.com/focus-ingest/focus-ingest/flightsvc"
)

// admitConfig holds serve's admission limits beyond --max-concurrent-jobs
// (see "Memory model" in docs/INTERNALS.md).
type admitConfig struct {
	maxReads         int
	maxInflightBytes int64
}

// register binds the limit flags to fs.
func (l *admitConfig) register(fs *flag.FlagSet) {
	fs.IntVar(&l.maxReads, "max-concurrent-reads", flightsvc.DefaultMaxReads, "DoGet streams at once; more are refused (`N`)")
	fs.Int64Var(&l.maxInflightBytes, "max-inflight-bytes", flightsvc.DefaultMaxInflightBytes,
		"pushed bytes held before conversion, over all DoPut streams; past it pushes are held, then refused (`N`)")
}

// validate refuses no reads at all, and an in-flight budget under 1 MiB,
// which would let one small message through at a time.
func (l *admitConfig) validate() error {
	if l.maxReads < 1 {
		return usagef("invalid --max-concurrent-reads %d: use 1 or more (default %d)", l.maxReads, flightsvc.DefaultMaxReads)
	}
	if l.maxInflightBytes < 1<<20 {
		return usagef("invalid --max-inflight-bytes %d: use 1048576 (1 MiB) or more (default %d)", l.maxInflightBytes, flightsvc.DefaultMaxInflightBytes)
	}
	return nil
}
