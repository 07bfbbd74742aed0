package main

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/focus-ingest/focus-ingest/dataset"
	"github.com/focus-ingest/focus-ingest/ingest"
)

// printSummary prints the job summary on stdout: one JSON object with
// --json, else a few aligned lines. rejects is where quarantined rows go
// (<output>/_rejects).
func (a *app) printSummary(s ingest.Summary, asJSON bool, rejects string) {
	if asJSON {
		a.writeJSON(s)
		return
	}
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "job %s %s\n", s.JobID, s.Status)
	fmt.Fprintf(w, "  %s\t%s rows\n", dataset.CostsRaw, itoa(s.Rows[dataset.CostsRaw]))
	fmt.Fprintf(w, "  %s\t%s rows\n", dataset.TagsIndex, itoa(s.Rows[dataset.TagsIndex]))
	fmt.Fprintf(w, "  partitions\t%s\n", partitionsText(s.Partitions))
	fmt.Fprintf(w, "  rejected\t%s%s\n", itoa(s.Rejected), rejectedHint(rejects, s))
	fmt.Fprintf(w, "  rounded\t%s values\n", itoa(s.Rounded))
	if s.Inexact > 0 {
		fmt.Fprintf(w, "  inexact\t%s binary floats not holding their decimal (converted exactly from the stored value)\n", itoa(s.Inexact))
	}
	fmt.Fprintf(w, "  inputs\t%d (%s)\n", s.Inputs, bytesText(s.Bytes))
	fmt.Fprintf(w, "  elapsed\t%s (%s rows/s)\n", s.Elapsed.Round(time.Millisecond), itoa(int64(s.RowsPerSec)))
	w.Flush()
}

// partitionsText names the partitions: all of them when few, else the
// count and the first and last.
func partitionsText(parts []string) string {
	if len(parts) == 0 {
		return "none"
	}
	p := append([]string(nil), parts...)
	sort.Strings(p)
	if len(p) <= 3 {
		return fmt.Sprintf("%d: %s", len(p), strings.Join(p, ", "))
	}
	return fmt.Sprintf("%d: %s ... %s", len(p), p[0], p[len(p)-1])
}

// rejectedHint says where quarantined rows went.
func rejectedHint(rejects string, s ingest.Summary) string {
	if s.Rejected == 0 {
		return ""
	}
	return fmt.Sprintf(" (quarantined in %s/%s.jsonl)", rejects, s.JobID)
}
