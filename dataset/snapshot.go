package dataset

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// dateLayout is the layout of FileInfo.Date.
const dateLayout = "2006-01-02"

// FileInfo describes one live file of a dataset.
type FileInfo struct {
	Path    string `json:"path"`             // key in the bucket
	Dataset string `json:"dataset"`          // CostsRaw, TagsIndex or Rejects
	Date    string `json:"date,omitempty"`   // partition date, YYYY-MM-DD (UTC)
	Rows    int64  `json:"rows"`             // rows in the file
	Bytes   int64  `json:"bytes"`            // size of the file
	Source  string `json:"source,omitempty"` // source key the rows came from (costs_raw)
	Job     string `json:"job"`              // job that wrote the file

	day int32 // Date as days since the epoch
}

// Day returns the partition date as days since the Unix epoch (date32).
func (f FileInfo) Day() int32 { return f.day }

func (f *FileInfo) parseDate() error {
	if f.Date == "" {
		return nil
	}
	t, err := time.Parse(dateLayout, f.Date)
	if err != nil {
		return fmt.Errorf("parse date of %s: %w", f.Path, err)
	}
	f.day = int32(t.Unix() / 86400)
	return nil
}

// dayTime returns the UTC midnight of day.
func dayTime(day int32) time.Time { return time.Unix(int64(day)*86400, 0).UTC() }

// dayString formats day as YYYY-MM-DD.
func dayString(day int32) string { return dayTime(day).Format(dateLayout) }

// partitionDir returns the Hive directory of dataset ds for day.
func partitionDir(ds string, day int32) string {
	y, m, dd := dayTime(day).Date()
	return fmt.Sprintf("%s/year=%04d/month=%02d/day=%02d", ds, y, int(m), dd)
}

// Snapshot is the set of live files at one commit.
type Snapshot struct {
	seq   int64
	files []FileInfo // sorted by dataset, day, path
}

// Snapshot returns the live files as of the latest commit.
func (d *Dataset) Snapshot(ctx context.Context) (*Snapshot, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.refresh(ctx); err != nil {
		return nil, err
	}
	s := &Snapshot{seq: d.state.seq, files: make([]FileInfo, 0, len(d.state.files))}
	for _, f := range d.state.files {
		s.files = append(s.files, f)
	}
	sort.Slice(s.files, func(i, j int) bool {
		a, b := s.files[i], s.files[j]
		if a.Dataset != b.Dataset {
			return a.Dataset < b.Dataset
		}
		if a.day != b.day {
			return a.day < b.day
		}
		return a.Path < b.Path
	})
	return s, nil
}

// Seq returns the sequence number of the last commit the snapshot holds
// (0 for an empty dataset).
func (s *Snapshot) Seq() int64 { return s.seq }

// Files returns the files of dataset whose partition date lies in
// [start, end), ordered by date then path. A zero start or end leaves that
// side unbounded; times are truncated to their UTC date.
func (s *Snapshot) Files(dataset string, start, end time.Time) []FileInfo {
	var out []FileInfo
	for _, f := range s.files {
		if f.Dataset != dataset {
			continue
		}
		t := dayTime(f.day)
		if !start.IsZero() && t.Before(truncDay(start)) {
			continue
		}
		if !end.IsZero() && !t.Before(truncDay(end)) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// Days returns the distinct partition days of dataset, ascending.
func (s *Snapshot) Days(dataset string) []time.Time {
	var out []time.Time
	for _, f := range s.files {
		if f.Dataset == dataset && (len(out) == 0 || !out[len(out)-1].Equal(dayTime(f.day))) {
			out = append(out, dayTime(f.day))
		}
	}
	return out
}

// truncDay returns the UTC midnight of t's UTC date.
func truncDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// OpenFile opens a Parquet file of the dataset for reading through the
// bucket (ranged reads, bound to ctx); wrap it with pqarrow.NewFileReader
// for Arrow and Close it when done. A file whose commit is not yet
// published is read from its job's staging.
func (d *Dataset) OpenFile(ctx context.Context, f FileInfo) (*file.Reader, error) {
	keys := []string{f.Path}
	if f.Job != "" {
		keys = append(keys, stagedKey(f.Job, f.Path))
	}
	size := f.Bytes
	if size <= 0 {
		attrs, err := d.bucket.Attributes(ctx, f.Path)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", f.Path, err)
		}
		size = attrs.Size
	}
	props := parquet.NewReaderProperties(d.opts.Allocator)
	r, err := file.NewParquetReader(&blobReaderAt{ctx: ctx, b: d.bucket, keys: keys, size: size}, file.WithReadProps(props))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", f.Path, err)
	}
	return r, nil
}

// blobReaderAt reads a blob with one range request per ReadAt. It tries
// each of keys in turn (final path, then staging) and stays on the first
// that exists: publishing moves files between them at any time.
type blobReaderAt struct {
	ctx  context.Context
	b    *blob.Bucket
	keys []string
	size int64
	off  int64
}

// open opens a range of the first existing key, rotating keys on NotFound.
func (r *blobReaderAt) open(off, n int64) (*blob.Reader, error) {
	var err error
	for range 2 * len(r.keys) {
		var rr *blob.Reader
		rr, err = r.b.NewRangeReader(r.ctx, r.keys[0], off, n, nil)
		if gcerrors.Code(err) != gcerrors.NotFound {
			return rr, err
		}
		r.keys = append(r.keys[1:], r.keys[0])
	}
	return nil, err
}

// ReadAt implements io.ReaderAt.
func (r *blobReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.size {
		return 0, io.EOF
	}
	n := int64(len(p))
	if off+n > r.size {
		n = r.size - off
	}
	rr, err := r.open(off, n)
	if err != nil {
		return 0, err
	}
	defer rr.Close()
	got, err := io.ReadFull(rr, p[:n])
	if err == nil && got < len(p) {
		err = io.EOF
	}
	return got, err
}

// Seek implements io.Seeker (the Parquet reader only asks for the size).
func (r *blobReaderAt) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		r.off = offset
	case io.SeekCurrent:
		r.off += offset
	case io.SeekEnd:
		r.off = r.size + offset
	}
	if r.off < 0 {
		return 0, fmt.Errorf("seek %s: negative offset", r.keys[0])
	}
	return r.off, nil
}

// Read implements io.Reader from the current offset.
func (r *blobReaderAt) Read(p []byte) (int, error) {
	n, err := r.ReadAt(p, r.off)
	r.off += int64(n)
	return n, err
}
