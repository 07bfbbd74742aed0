// Package ingest runs ingestion jobs: it streams input objects through
// convert into one dataset.Job, reports progress, and commits the job or
// aborts it, leaving nothing behind.
//
// A Service is the Go face of the seed's IngestionService, shared by the
// CLI and the Flight service:
//
//	s := ingest.Service{Dataset: d, OnError: ingest.Fail}
//	sum, err := s.Ingest(ctx, inputs) // inputs from storage.Expand
//
// With OnError Fail the first bad row ends the job with its
// *convert.ParseError and nothing is committed. With Quarantine bad rows go
// to the dataset's _rejects/ with their original text and the rest
// commits. An input that cannot be read as a cost-and-usage export at all
// (an empty file, a bad header, the wrong kind of file) is rejected as a
// whole, as one reject at its header line. An input that becomes unreadable
// part way (damaged compression, an unterminated quote at the end) keeps
// the rows read before the damage, and the rest of it is one reject at the
// line reached. Errors of the storage itself, and cancellation, always end
// the job.
package ingest
