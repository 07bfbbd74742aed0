package testenv

import (
	"bytes"
	"encoding/json"
	"sync"
	"testing"
)

// LogBuffer is a goroutine-safe log sink: a server's logger or a child
// process's stderr writes to it while the test reads it.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Records decodes what was written so far as JSON log records (one
// object a line, as slog's JSON handler writes them); anything else fails
// the test.
func (b *LogBuffer) Records(t testing.TB) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(b.buf.Bytes()))
	for dec.More() {
		var rec map[string]any
		if err := dec.Decode(&rec); err != nil {
			t.Fatalf("log record %d: %v\n%s", len(out)+1, err, b.buf.String())
		}
		out = append(out, rec)
	}
	return out
}
