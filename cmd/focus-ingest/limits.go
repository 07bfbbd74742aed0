package main

import (
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/focus-ingest/focus-ingest/convert"
)

// limitsConfig holds the input limit flags, shared by ingest and serve.
type limitsConfig struct {
	maxLineSize         sizeFlag
	maxFieldSize        sizeFlag
	maxDecompressedSize sizeFlag
	maxCompressionRatio int
	maxTags             int
}

// addLimitFlags binds the input limit flags of fs to c, with their defaults.
func addLimitFlags(fs *flag.FlagSet, c *limitsConfig) {
	c.maxLineSize, c.maxFieldSize = convert.DefaultMaxLineSize, convert.DefaultMaxFieldSize
	fs.Var(&c.maxLineSize, "max-line-size", "bytes of one CSV record, line ends inside quoted fields included (`SIZE`: 1MiB, 512KiB, 1048576)")
	fs.Var(&c.maxFieldSize, "max-field-size", "bytes of one CSV field (`SIZE`)")
	fs.Var(&c.maxDecompressedSize, "max-decompressed-size", "bytes a gzip/zstd input may inflate to; 0: no limit (`SIZE`)")
	fs.IntVar(&c.maxCompressionRatio, "max-compression-ratio", convert.DefaultMaxCompressionRatio, "decompressed/compressed bytes of a gzip/zstd input, past its first MiB; 0: no limit (`N`)")
	fs.IntVar(&c.maxTags, "max-tags", convert.DefaultMaxTags, "keys of one Tags object; 0: no limit (`N`)")
}

// validate refuses sizes and counts that cannot be meant.
func (c *limitsConfig) validate() error {
	if c.maxLineSize < 1 || c.maxLineSize > math.MaxInt32 {
		return usagef("invalid --max-line-size %d: use 1 byte to 2GiB (default 1MiB)", c.maxLineSize)
	}
	if c.maxFieldSize < 1 || c.maxFieldSize > math.MaxInt32 {
		return usagef("invalid --max-field-size %d: use 1 byte to 2GiB (default 1MiB)", c.maxFieldSize)
	}
	if c.maxCompressionRatio < 0 {
		return usagef("invalid --max-compression-ratio %d: use 0 (no limit) or more (default %d)", c.maxCompressionRatio, convert.DefaultMaxCompressionRatio)
	}
	if c.maxTags < 0 {
		return usagef("invalid --max-tags %d: use 0 (no limit) or more (default %d)", c.maxTags, convert.DefaultMaxTags)
	}
	return nil
}

// limits returns the validated flags as convert.Limits: 0 means no limit.
func (c *limitsConfig) limits() convert.Limits {
	off := func(v int) int {
		if v == 0 {
			return convert.NoLimit
		}
		return v
	}
	return convert.Limits{
		MaxLineSize:         int(c.maxLineSize),
		MaxFieldSize:        int(c.maxFieldSize),
		MaxTags:             off(c.maxTags),
		MaxDecompressedSize: int64(c.maxDecompressedSize),
		MaxCompressionRatio: off(c.maxCompressionRatio),
	}
}

// sizeFlag is a byte count written as plain bytes or with a binary unit:
// 1048576, 1MiB, 512KiB, 2GiB (B, KiB, MiB, GiB, TiB; K, M, G, T too).
type sizeFlag int64

// sizeUnits maps a lowercase unit to its bytes.
var sizeUnits = map[string]int64{"": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tib": 1 << 40}

func (s *sizeFlag) String() string { return strconv.FormatInt(int64(*s), 10) }

func (s *sizeFlag) Set(v string) error {
	t := strings.TrimSpace(v)
	i := strings.IndexFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(t)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	unit, ok := sizeUnits[strings.ToLower(strings.TrimSpace(t[i:]))]
	if err != nil || !ok || n > math.MaxInt64/unit {
		return fmt.Errorf("invalid size %q: give bytes, or a number with KiB, MiB, GiB or TiB (e.g. 4MiB)", v)
	}
	*s = sizeFlag(n * unit)
	return nil
}
