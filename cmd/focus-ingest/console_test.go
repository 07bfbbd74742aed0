package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestRender(t *testing.T) {
	b := &progressBar{}
	line := b.render(10*time.Second, "file:///x/aws.csv", 50<<20, 100<<20, 123456)
	for _, want := range []string{"50%", "50.0 MiB/100.0 MiB", "5.0 MiB/s", "123,456 rows", "12,345 rows/s", "ETA 10s", "aws.csv"} {
		if !strings.Contains(line, want) {
			t.Errorf("render = %q, lacks %q", line, want)
		}
	}
	if line := b.render(time.Second, "push", 2048, 0, 0); !strings.HasPrefix(line, "2.0 KiB") || strings.Contains(line, "ETA") {
		t.Errorf("unknown total: render = %q", line)
	}
}

// A log record on a terminal clears the bar, is written whole, and the bar
// is drawn again after it.
func TestConsoleKeepsBarBelowLogs(t *testing.T) {
	var out bytes.Buffer
	c := &console{w: &out, tty: true, width: 40}
	c.draw("[====] 50%")
	c.Write([]byte("level=INFO msg=hello\n"))
	c.clear()
	want := "\r\033[K[====] 50%" + "\r\033[K" + "level=INFO msg=hello\n" + "[====] 50%" + "\r\033[K"
	if out.String() != want {
		t.Errorf("console wrote %q, want %q", out.String(), want)
	}
}

func TestProgressModes(t *testing.T) {
	tty, pipe := &console{tty: true}, &console{}
	for _, c := range []struct {
		con  *console
		mode string
		want bool
	}{{tty, "auto", true}, {pipe, "auto", false}, {pipe, "always", true}, {tty, "never", false}} {
		if got := newProgressBar(c.con, c.mode, time.Now) != nil; got != c.want {
			t.Errorf("mode %s, tty %v: bar %v, want %v", c.mode, c.con.tty, got, c.want)
		}
	}
}

func TestItoaAndBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", -1234567: "-1,234,567"} {
		if got := itoa(n); got != want {
			t.Errorf("itoa(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int64]string{1023: "1023 B", 1536: "1.5 KiB", 3 << 30: "3.0 GiB"} {
		if got := bytesText(n); got != want {
			t.Errorf("bytesText(%d) = %q, want %q", n, got, want)
		}
	}
}
