package flightsvc

import (
	"context"
	"log/slog"
	"slices"

	"github.com/focus-ingest/focus-ingest/ingest"
)

// Job kinds, as Config.OnJob and the job logs name them.
const (
	JobPut    = "put"    // a DoPut stream
	JobIngest = "ingest" // a DoAction "ingest"
)

// logAttrsKey is the context key of the attributes of WithLogAttrs.
type logAttrsKey struct{}

// WithLogAttrs returns a context whose calls into a Service carry attrs
// on every log line they cause (the job's lines included): a host server
// puts its request id here. Without it, lines carry only their own
// attributes.
func WithLogAttrs(ctx context.Context, attrs ...slog.Attr) context.Context {
	old, _ := ctx.Value(logAttrsKey{}).([]slog.Attr)
	return context.WithValue(ctx, logAttrsKey{}, append(slices.Clip(old), attrs...))
}

// logger returns the service's logger with the attributes of ctx.
func (s *Service) logger(ctx context.Context) *slog.Logger {
	attrs, _ := ctx.Value(logAttrsKey{}).([]slog.Attr)
	if len(attrs) == 0 {
		return s.log
	}
	return slog.New(s.log.Handler().WithAttrs(attrs))
}

// runJob runs one job of kind through run: it names the job, logs its
// start (and its failure; ingest logs the commit) with the attributes of
// ctx and the job id, and reports the end to Config.OnJob.
func (s *Service) runJob(ctx context.Context, kind string, svc ingest.Service, sources []string,
	run func(ingest.Service) (ingest.Summary, error)) (ingest.Summary, error) {
	svc.JobID = ingest.NewJobID()
	svc.Logger = s.logger(ctx).With("job_id", svc.JobID)
	svc.Logger.InfoContext(ctx, "job started", "kind", kind, "sources", sources)
	sum, err := run(svc)
	err = outputFailure(ctx, err)
	if err != nil {
		svc.Logger.WarnContext(ctx, "job failed, nothing committed", "kind", kind, "error", err.Error())
	}
	if s.cfg.OnJob != nil {
		s.cfg.OnJob(kind, sum, err)
	}
	return sum, err
}
