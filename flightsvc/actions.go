package flightsvc

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/focus-ingest/focus-ingest/dataset"
	"github.com/focus-ingest/focus-ingest/ingest"
	focuspb "github.com/focus-ingest/focus-ingest/proto"
	"github.com/focus-ingest/focus-ingest/storage"
)

// The action types of DoAction.
const (
	ActionIngest   = "ingest"
	ActionValidate = "validate"
	ActionStats    = "stats"
	ActionVacuum   = "vacuum"
)

// actions lists the actions with their descriptions, for ListActions.
var actions = []*flight.ActionType{
	{Type: ActionIngest, Description: `Ingest source URLs (globs allowed) read by the server. Body: {"sources": ["s3://bucket/exports/**/*.csv.gz"], "format": "auto", "compression": "auto", "on_error": "fail", "overwrite": false, "source": "optional source key"}. Results: progress objects ("type": "progress"), then the job summary ("type": "summary").`},
	{Type: ActionValidate, Description: `Dry run over CSV source URLs: convert and discard, nothing written. Body: {"sources": [...], "max_errors": 100}. Result: a summary with status "valid" or "invalid", rows, partitions, rejected, rounded and the first located errors ("source:line:column: Column: reason").`},
	{Type: ActionStats, Description: `Describe the datasets. Body: empty or {"datasets": ["costs_raw"]}. Result: {"seq", "money_scale", "datasets": [{"name", "partitions", "files", "rows", "bytes", "start", "end"}]}.`},
	{Type: ActionVacuum, Description: `Finish publishing committed jobs and remove stray files (staging of dead jobs, files the commit log does not hold). Body: empty. Result: {"published", "staging_removed", "leases_removed", "strays_removed"}.`},
}

// ListActions lists ingest, validate, stats and vacuum.
func (s *Service) ListActions(_ *flight.Empty, stream flight.FlightService_ListActionsServer) error {
	for _, a := range actions {
		if err := stream.Send(a); err != nil {
			return err
		}
	}
	return nil
}

// DoAction runs one of the actions of ListActions.
func (s *Service) DoAction(a *flight.Action, stream flight.FlightService_DoActionServer) error {
	ctx := stream.Context()
	return s.toStatus(ctx, s.doAction(ctx, a, stream))
}

func (s *Service) doAction(ctx context.Context, a *flight.Action, stream flight.FlightService_DoActionServer) error {
	send := func(b []byte) error { return stream.Send(&flight.Result{Body: b}) }
	if err := s.checkRequest(a.GetBody(), "action body"); err != nil {
		return err
	}
	switch a.GetType() {
	case ActionIngest:
		return s.ingestAction(ctx, a.GetBody(), send)
	case ActionValidate:
		return s.validateAction(ctx, a.GetBody(), send)
	case ActionStats:
		return s.statsAction(ctx, a.GetBody(), send)
	case ActionVacuum:
		return s.vacuumAction(ctx, a.GetBody(), send)
	}
	return badRequest(fmt.Errorf("unknown action %q: use ingest, validate, stats or vacuum", a.GetType()))
}

// ingestAction runs an ingest job over source URLs.
func (s *Service) ingestAction(ctx context.Context, body []byte, send func([]byte) error) error {
	req := &focuspb.IngestAction{}
	if err := decode(body, req, "ingest action"); err != nil {
		return err
	}
	o := jobOptions{req.GetFormat(), req.GetCompression(), req.GetOnError(), req.GetOverwrite()}
	inputs, done, err := s.startSourceJob(ctx, o, req.GetSources())
	if err != nil {
		return err
	}
	defer done()
	svc := s.ingestService(o, func(p ingest.Progress) { _ = send(encode(progressMessage(p))) })
	svc.Source = req.GetSource()
	sum, err := s.runJob(ctx, JobIngest, svc, redactedSources(req.GetSources()), func(svc ingest.Service) (ingest.Summary, error) {
		return svc.Ingest(ctx, inputs)
	})
	if err != nil {
		return err
	}
	return send(encode(summaryMessage(sum)))
}

// statsAction describes the datasets of the latest snapshot.
func (s *Service) statsAction(ctx context.Context, body []byte, send func([]byte) error) error {
	req := &focuspb.StatsRequest{}
	if err := decode(body, req, "stats request"); err != nil {
		return err
	}
	names := req.GetDatasets()
	if len(names) == 0 {
		names = []string{dataset.CostsRaw, dataset.TagsIndex}
	}
	for _, n := range names {
		if err := checkDataset(n); err != nil {
			return err
		}
	}
	snap, err := s.cfg.Dataset.Snapshot(ctx)
	if err != nil {
		return err
	}
	res := &focuspb.StatsResult{Seq: snap.Seq(), MoneyScale: s.cfg.Dataset.MoneyScale()}
	for _, n := range names {
		res.Datasets = append(res.Datasets, datasetStats(snap, n))
	}
	return send(encode(res))
}

// datasetStats sums the files of one dataset.
func datasetStats(snap *dataset.Snapshot, name string) *focuspb.DatasetStats {
	st := &focuspb.DatasetStats{Name: name}
	days := snap.Days(name)
	st.Partitions = int64(len(days))
	if len(days) > 0 {
		st.Start = days[0].Format(dateLayout)
		st.End = days[len(days)-1].Format(dateLayout)
	}
	for _, f := range snap.Files(name, zeroTime, zeroTime) {
		st.Files++
		st.Rows += f.Rows
		st.Bytes += f.Bytes
	}
	return st
}

// vacuumAction runs dataset.Recover.
func (s *Service) vacuumAction(ctx context.Context, body []byte, send func([]byte) error) error {
	if err := decode(body, &emptypb.Empty{}, "vacuum request"); err != nil {
		return err
	}
	st, err := s.cfg.Dataset.Recover(ctx)
	if err != nil {
		return err
	}
	return send(encode(&focuspb.VacuumResult{
		Published:      int64(st.Published),
		StagingRemoved: int64(st.StagingRemoved),
		LeasesRemoved:  int64(st.LeasesRemoved),
		StraysRemoved:  int64(st.StraysRemoved),
	}))
}

// redactedSources returns source patterns safe to log.
func redactedSources(sources []string) []string {
	out := make([]string, len(sources))
	for i, src := range sources {
		out[i] = storage.Redact(src)
	}
	return out
}
