package client

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	focuspb "github.com/focus-ingest/focus-ingest/proto"
)

// The messages of the protocol that callers handle, from package focuspb.
type (
	// Ticket selects rows: a DoGet ticket and a GetFlightInfo command.
	Ticket = focuspb.Ticket
	// TicketFilter narrows a Ticket to a resource and tags.
	TicketFilter = focuspb.TicketFilter
	// Summary ends every job: rows per dataset, partitions, rejected and
	// rounded counts; for Validate, the status "valid" or "invalid" and
	// the first located errors.
	Summary = focuspb.Summary
	// StatsResult describes the datasets.
	StatsResult = focuspb.StatsResult
	// VacuumResult counts what Vacuum removed or published.
	VacuumResult = focuspb.VacuumResult
)

// Values of the "type" field of results.
const (
	typeProgress = "progress"
	typeSummary  = "summary"
)

// encode writes m as the JSON the server reads.
func encode(m proto.Message) []byte {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("client: encode %T: %v", m, err)) // cannot happen for our messages
	}
	return b
}

// decode reads a JSON result into m; fields a newer server adds are
// ignored.
func decode(b []byte, m proto.Message) error {
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, m); err != nil {
		return fmt.Errorf("read server result %.200q: %w", b, err)
	}
	return nil
}

// jobResult is one result of a job: a progress report or its summary.
type jobResult struct {
	progress *focuspb.Progress
	summary  *Summary
}

// decodeJobResult reads a progress report or a summary, by its "type".
func decodeJobResult(b []byte) (jobResult, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return jobResult{}, fmt.Errorf("read server result %.200q: %w", b, err)
	}
	switch head.Type {
	case typeProgress:
		p := &focuspb.Progress{}
		return jobResult{progress: p}, decode(b, p)
	case typeSummary:
		s := &Summary{}
		return jobResult{summary: s}, decode(b, s)
	}
	return jobResult{}, fmt.Errorf("read server result %.200q: unknown type %q", b, head.Type)
}

// Progress reports how far a job is.
type Progress struct {
	// Input being read: the pushed source, or the URL the server reads.
	Input string
	// BytesDone are the bytes sent (Push) or read by the server (Ingest,
	// compressed size) so far, of BytesTotal (0 when unknown).
	BytesDone, BytesTotal int64
	// Rows converted so far, as the server last reported.
	Rows int64
}
