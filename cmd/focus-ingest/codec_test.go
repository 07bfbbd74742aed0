package main

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/golang/snappy"
)

// TestFastSnappy checks that fastSnappy's output is standard Snappy (the
// reference Go decoder reads it back) and that its decoding is arrow-go's.
func TestFastSnappy(t *testing.T) {
	var src bytes.Buffer
	for i := range 20000 {
		fmt.Fprintf(&src, "2026-05-%02d,Amazon EC2,%d.%07d,usage\n", i%31+1, i%97, i*7919%10000000)
	}
	orig, err := compress.GetCodec(compress.Codecs.Snappy)
	if err != nil {
		t.Fatal(err)
	}
	enc := fastSnappy{orig}.Encode(nil, src.Bytes())
	if len(enc) >= src.Len()/2 {
		t.Errorf("compressed %d bytes to %d", src.Len(), len(enc))
	}
	for name, dec := range map[string]func([]byte) ([]byte, error){
		"golang/snappy": func(b []byte) ([]byte, error) { return snappy.Decode(nil, b) },
		"arrow-go":      func(b []byte) ([]byte, error) { return fastSnappy{orig}.Decode(nil, b), nil },
	} {
		got, err := dec(enc)
		if err != nil || !bytes.Equal(got, src.Bytes()) {
			t.Errorf("%s: decoded %d bytes, err %v; want the %d bytes encoded", name, len(got), err, src.Len())
		}
	}
}
