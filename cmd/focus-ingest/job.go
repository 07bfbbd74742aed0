package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/focus-ingest/focus-ingest/convert"
	"github.com/focus-ingest/focus-ingest/dataset"
	"github.com/focus-ingest/focus-ingest/ingest"
	"github.com/focus-ingest/focus-ingest/storage"
)

// ingest runs one job as configured and returns the exit status.
func (a *app) ingest(ctx context.Context, cfg *ingestConfig) int {
	jobID := ingest.NewJobID()
	con := newConsole(a.stderr)
	log, closeLog, err := a.logger(cfg, jobID, con)
	if err != nil {
		return a.usageError(err)
	}
	defer closeLog()
	log.Info("starting job", "inputs", redactAll(cfg.inputs), "output", storage.Redact(cfg.output), "on_error", cfg.onError)
	inputs, closeInputs, err := expandAll(ctx, cfg)
	if err != nil {
		return a.fail(ctx, log, cfg, ingest.Summary{JobID: jobID, Status: ingest.StatusFailed}, err)
	}
	defer closeInputs()
	ds, closeDS, err := a.openDataset(ctx, cfg, log)
	if err != nil {
		return a.fail(ctx, log, cfg, ingest.Summary{JobID: jobID, Status: ingest.StatusFailed}, err)
	}
	defer closeDS()
	svc, bar := a.service(cfg, ds, jobID, con, log)
	sum, err := svc.Ingest(ctx, inputs)
	bar.done()
	if err != nil {
		return a.fail(ctx, log, cfg, sum, err)
	}
	log.Info("job done", "rows", sum.Rows[dataset.CostsRaw], "rejected", sum.Rejected, "elapsed", sum.Elapsed)
	a.printSummary(sum, cfg.json, strings.TrimSuffix(cfg.output, "/")+"/"+dataset.Rejects)
	if sum.Rejected > 0 {
		return exitQuarantined
	}
	return exitOK
}

// service builds the ingest service of a job, with its progress bar (nil
// when there is none).
func (a *app) service(cfg *ingestConfig, ds *dataset.Dataset, jobID string, con *console, log *slog.Logger) (ingest.Service, *progressBar) {
	bar := newProgressBar(con, cfg.progress, a.now)
	return ingest.Service{
		Dataset:   ds,
		BatchSize: cfg.batchSize,
		OnError:   ingest.OnError(cfg.onError),
		Overwrite: cfg.overwrite,
		Source:    cfg.source,
		JobID:     jobID,
		Allocator: a.alloc,
		Logger:    log,
		Limits:    cfg.limits.limits(),
		Progress:  func(p ingest.Progress) { bar.update(p.Input, p.BytesRead, p.BytesTotal, p.Rows) },
	}, bar
}

// expandAll resolves every --input, dropping objects named twice; the
// returned function closes their buckets.
func expandAll(ctx context.Context, cfg *ingestConfig) ([]storage.Input, func(), error) {
	var all, opened []storage.Input
	closeAll := func() { storage.Close(opened) }
	seen := map[string]bool{}
	for _, raw := range cfg.inputs {
		ins, err := storage.Expand(ctx, raw, cfg.fs)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		opened = append(opened, ins...)
		for _, in := range ins {
			if !seen[in.URL] {
				seen[in.URL] = true
				all = append(all, in)
			}
		}
	}
	return all, closeAll, nil
}

// openDataset opens the output dataset and recovers it from earlier
// interrupted jobs.
func (a *app) openDataset(ctx context.Context, cfg *ingestConfig, log *slog.Logger) (*dataset.Dataset, func(), error) {
	b, err := storage.Open(ctx, cfg.output, cfg.fs)
	if err != nil {
		return nil, nil, err
	}
	comp, _ := dataset.ParseCompression(cfg.compression)
	ds, err := dataset.Open(ctx, b, dataset.Options{Compression: comp, MoneyScale: int32(cfg.moneyScale), Allocator: a.alloc,
		LocalDir: storage.LocalDir(cfg.output, cfg.fs)})
	if err == nil {
		var st dataset.RecoverStats
		st, err = ds.Recover(ctx)
		logRecovery(log, st)
	}
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	log.Info("dataset open", "output", storage.Redact(cfg.output), "money_scale", ds.MoneyScale())
	return ds, func() { b.Close() }, nil
}

// redactAll returns the locations safe to log.
func redactAll(locs []string) []string {
	out := make([]string, len(locs))
	for i, l := range locs {
		out[i] = storage.Redact(l)
	}
	return out
}

// logRecovery logs what Recover cleaned up, if anything.
func logRecovery(log *slog.Logger, st dataset.RecoverStats) {
	if st != (dataset.RecoverStats{}) {
		log.Info("recovered dataset from interrupted jobs", "published", st.Published,
			"staging_removed", st.StagingRemoved, "leases_removed", st.LeasesRemoved, "strays_removed", st.StraysRemoved)
	}
}

// fail reports a failed job: the error on stderr (a data error exactly
// as "focus-ingest: source:line:column: Column: reason (value ...)"), and
// with --json a failed summary on stdout.
func (a *app) fail(ctx context.Context, log *slog.Logger, cfg *ingestConfig, sum ingest.Summary, err error) int {
	msg := err.Error()
	var pe *convert.ParseError
	switch {
	case errors.As(err, &pe): // a data error, even when its cause looks like I/O (a truncated gzip)
		msg = pe.Error()
	case errors.Is(err, storage.ErrUnavailable): // an input's store, named in err
	case storage.IsOutage(err) && ctx.Err() == nil: // the output's store
		msg = (&storage.UnavailableError{URL: storage.Display(cfg.output, cfg.fs), Err: err}).Error()
	case ctx.Err() != nil:
		msg = "interrupted: job aborted, nothing committed"
	}
	log.Error("job failed, nothing committed", "error", msg)
	if cfg.json {
		sum.Status, sum.Error = ingest.StatusFailed, msg
		a.writeJSON(sum)
	}
	fmt.Fprintf(a.stderr, "focus-ingest: %s\n", msg)
	return exitFailed
}

// logger returns the job's logger: text on the console, and JSON lines
// in --log-dir when set.
func (a *app) logger(cfg *ingestConfig, jobID string, con *console) (*slog.Logger, func(), error) {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	var h slog.Handler = slog.NewTextHandler(con, opts)
	closeFn := func() {}
	if cfg.logDir != "" {
		name := filepath.Join(cfg.logDir, "focus-ingest-"+jobID+".jsonl")
		f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("invalid --log-dir %q: %v", cfg.logDir, err)
		}
		h = slog.NewMultiHandler(h, slog.NewJSONHandler(f, opts))
		closeFn = func() { f.Close() }
	}
	return slog.New(h).With("job", jobID), closeFn, nil
}

// writeJSON prints v as one JSON object on stdout.
func (a *app) writeJSON(v any) {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

var _ io.Writer = (*console)(nil)
