// Package focuspb holds the messages of focus-ingest's Flight protocol,
// generated from focus.proto. The wire form of every message is its
// protojson encoding with the proto field names (snake_case).
package focuspb

//go:generate protoc --plugin=protoc-gen-go=../bin/tools/protoc-gen-go --go_out=. --go_opt=paths=source_relative focus.proto
