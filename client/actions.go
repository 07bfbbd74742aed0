package client

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/protobuf/proto"

	focuspb "github.com/focus-ingest/focus-ingest/proto"
)

// IngestOptions are the settings of Ingest.
type IngestOptions struct {
	// Format: "csv", "parquet" or "" (by name and content).
	Format string
	// Compression: "gzip", "zstd", "none" or "" (auto).
	Compression string
	// OnError: "fail" (default) or "quarantine".
	OnError string
	// Overwrite replaces everything in the partitions the job touches.
	Overwrite bool
	// Source, when set, is the source key of every row instead of each
	// object's URL.
	Source string
	// Progress, when set, is called with each progress report.
	Progress func(Progress)
}

// Ingest asks the server to read source URLs (globs allowed) as one job
// (DoAction "ingest") and returns its summary. The server reads only URLs
// under its --allow-source prefixes; others fail with PermissionDenied.
func (c *Client) Ingest(ctx context.Context, sources []string, o IngestOptions) (*Summary, error) {
	req := &focuspb.IngestAction{Sources: sources, Compression: o.Compression, OnError: o.OnError, Overwrite: o.Overwrite}
	if o.Format != "" {
		req.Format = &o.Format
	}
	if o.Source != "" {
		req.Source = &o.Source
	}
	return c.job(ctx, "ingest", "ingest", req, o.Progress)
}

// ValidateOptions are the settings of Validate.
type ValidateOptions struct {
	Format, Compression string // as in IngestOptions
	MaxErrors           int64  // most errors reported; 0: the server's default (100)
}

// Validate converts source URLs without writing anything (DoAction
// "validate"). The summary's status is "valid" or "invalid", with the
// first located errors; a call error means it could not run.
func (c *Client) Validate(ctx context.Context, sources []string, o ValidateOptions) (*Summary, error) {
	req := &focuspb.ValidateAction{Sources: sources, Compression: o.Compression, MaxErrors: o.MaxErrors}
	if o.Format != "" {
		req.Format = &o.Format
	}
	return c.job(ctx, "validate", "validate", req, nil)
}

// job runs an action whose results are progress reports and a summary.
func (c *Client) job(ctx context.Context, op, action string, req proto.Message, progress func(Progress)) (*Summary, error) {
	var sum *Summary
	err := c.action(ctx, action, encode(req), func(body []byte) error {
		jr, err := decodeJobResult(body)
		switch {
		case err != nil:
			return err
		case jr.summary != nil:
			sum = jr.summary
		case progress != nil:
			p := jr.progress
			progress(Progress{Input: p.GetInput(), BytesDone: p.GetBytesRead(), BytesTotal: p.GetBytesTotal(), Rows: p.GetRows()})
		}
		return nil
	})
	if err != nil {
		return nil, callError(op, err)
	}
	if sum == nil {
		return nil, fmt.Errorf("%s: the server sent no summary", op)
	}
	return sum, nil
}

// Stats describes the named datasets (all when none are named).
func (c *Client) Stats(ctx context.Context, datasets ...string) (*StatsResult, error) {
	res := &StatsResult{}
	return res, c.single(ctx, "stats", encode(&focuspb.StatsRequest{Datasets: datasets}), res)
}

// Vacuum finishes publishing committed jobs and removes stray files.
func (c *Client) Vacuum(ctx context.Context) (*VacuumResult, error) {
	res := &VacuumResult{}
	return res, c.single(ctx, "vacuum", nil, res)
}

// single runs an action with one result, decoded into res.
func (c *Client) single(ctx context.Context, action string, body []byte, res proto.Message) error {
	n := 0
	err := c.action(ctx, action, body, func(b []byte) error {
		n++
		return decode(b, res)
	})
	if err == nil && n != 1 {
		err = fmt.Errorf("the server sent %d results, want 1", n)
	}
	return callError(action, err)
}

// action runs a DoAction, handing each result body to fn; a refusal
// because the server is busy (which comes before any result) is retried.
func (c *Client) action(ctx context.Context, typ string, body []byte, fn func([]byte) error) error {
	return whileBusy(ctx, c.busyWait, nil, func() error { return c.actionOnce(ctx, typ, body, fn) })
}

// actionOnce runs a DoAction once, handing each result body to fn.
func (c *Client) actionOnce(ctx context.Context, typ string, body []byte, fn func([]byte) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.flight.DoAction(ctx, &flight.Action{Type: typ, Body: body})
	if err != nil {
		return err
	}
	for {
		res, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(res.GetBody()); err != nil {
			return err
		}
	}
}

// ListActions lists the server's actions with their descriptions.
func (c *Client) ListActions(ctx context.Context) ([]*flight.ActionType, error) {
	stream, err := c.flight.ListActions(ctx, &flight.Empty{})
	if err != nil {
		return nil, callError("list actions", err)
	}
	var out []*flight.ActionType
	for {
		a, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, callError("list actions", err)
		}
		out = append(out, a)
	}
}
