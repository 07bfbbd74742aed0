package convert

import (
	"fmt"
	"math"
)

// Defaults of Limits.
const (
	DefaultMaxLineSize         = 1 << 20 // bytes of one CSV record
	DefaultMaxFieldSize        = 1 << 20 // bytes of one field
	DefaultMaxTags             = 10000   // keys of one Tags object
	DefaultMaxCompressionRatio = 200     // decompressed bytes per compressed byte
	// RatioWarmUp is how many bytes a gzip/zstd stream inflates to before
	// its compression ratio is checked: a small file, or the highly
	// repetitive header of a large one, may compress better than a whole
	// export.
	RatioWarmUp = 1 << 20
)

// NoLimit, in a field of Limits that allows it, turns that limit off.
const NoLimit = -1

// Limits bound what one input may cost; a value over a limit is a
// *ParseError wrapping ErrLimit, located at the line reached, that names
// the limit's command-line flag. A zero field takes its default.
type Limits struct {
	// MaxLineSize bounds the bytes of one CSV record, line ends inside
	// quoted fields included (a record may span several physical lines).
	// A longer record ends the read: its end cannot be found without
	// buffering it whole. Default DefaultMaxLineSize.
	MaxLineSize int
	// MaxFieldSize bounds the bytes of one field, quotes excluded; the row
	// is refused (quarantined with OnReject). Default DefaultMaxFieldSize;
	// NoLimit: only MaxLineSize applies.
	MaxFieldSize int
	// MaxTags bounds the keys of one Tags or AllocatedTags object
	// (duplicated keys count). Default DefaultMaxTags; NoLimit: none.
	MaxTags int
	// MaxDecompressedSize bounds the bytes a gzip or zstd input inflates
	// to. Default: none (NoLimit); MaxCompressionRatio stops bombs.
	MaxDecompressedSize int64
	// MaxCompressionRatio bounds decompressed/compressed bytes of a gzip
	// or zstd input, checked once RatioWarmUp bytes are out, so that a
	// bomb is refused after inflating about a megabyte. Default
	// DefaultMaxCompressionRatio; NoLimit: none.
	MaxCompressionRatio int
}

// withDefaults fills the zero fields of l and turns NoLimit into the
// largest value.
func (l Limits) withDefaults() Limits {
	if l.MaxLineSize <= 0 {
		l.MaxLineSize = DefaultMaxLineSize
	}
	l.MaxFieldSize = orDefault(l.MaxFieldSize, DefaultMaxFieldSize)
	l.MaxTags = orDefault(l.MaxTags, DefaultMaxTags)
	l.MaxCompressionRatio = orDefault(l.MaxCompressionRatio, DefaultMaxCompressionRatio)
	if l.MaxDecompressedSize <= 0 {
		l.MaxDecompressedSize = math.MaxInt64
	}
	return l
}

// orDefault returns def for 0 and no limit (MaxInt) for a negative v.
func orDefault(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return math.MaxInt
	}
	return v
}

// inflateError is a compressed stream refused by a limit.
type inflateError struct {
	format string
	reason string
}

func (e *inflateError) Error() string { return e.format + " input " + e.reason }

// inflateMeter counts the bytes in and out of a decompressor and checks
// them against the limits.
type inflateMeter struct {
	limits  Limits
	in, out int64
}

// check returns an *inflateError once out passes a limit.
func (m *inflateMeter) check(format string) error {
	l := m.limits
	switch {
	case m.out > l.MaxDecompressedSize:
		return &inflateError{format, fmt.Sprintf("decompresses to more than %d bytes (limit --max-decompressed-size)", l.MaxDecompressedSize)}
	case m.out > RatioWarmUp && m.out/max(m.in, 1) > int64(l.MaxCompressionRatio):
		return &inflateError{format, fmt.Sprintf("decompresses to more than %d times its size: %d bytes from the first %d (limit --max-compression-ratio; a compression bomb?)",
			l.MaxCompressionRatio, m.out, m.in)}
	}
	return nil
}
