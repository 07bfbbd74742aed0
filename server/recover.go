package server

import (
	"context"
	"time"

	"github.com/focus-ingest/focus-ingest/dataset"
)

// DefaultRecoverInterval is how often a running server recovers the
// dataset when Config.RecoverInterval is 0.
const DefaultRecoverInterval = time.Minute

// recoverEvery runs ds.Recover every Config.RecoverInterval until ctx
// ends, so that a server cleans up after a peer process that died on the
// same dataset (its staging, lease and unpublished commit) without a
// restart. Recover at start (openDataset) covers this process's own past.
// A failed round is logged and retried at the next tick.
func (s *Server) recoverEvery(ctx context.Context, ds *dataset.Dataset) {
	if s.cfg.RecoverInterval < 0 {
		return
	}
	t := time.NewTicker(s.cfg.RecoverInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := ds.Recover(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("periodic recovery failed; retrying at the next tick", "error", err)
		case st != (dataset.RecoverStats{}):
			s.log.Info("recovered dataset from interrupted jobs", "published", st.Published,
				"staging_removed", st.StagingRemoved, "leases_removed", st.LeasesRemoved, "strays_removed", st.StraysRemoved)
		}
	}
}
