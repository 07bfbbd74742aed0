package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// console is stderr shared by the logs and the progress bar. On a terminal
// the bar is one line redrawn in place; a log record clears it, is written,
// and the bar is drawn again below, so neither garbles the other.
type console struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	width int
	bar   string // the bar currently drawn (tty) or "" when none
}

// newConsole wraps w, detecting a terminal.
func newConsole(w io.Writer) *console {
	c := &console{w: w, width: 80}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		c.tty = true
		if wd, _, err := term.GetSize(int(f.Fd())); err == nil && wd > 20 {
			c.width = wd
		}
	}
	return c
}

// Write writes a log record, keeping the bar below it.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bar != "" {
		io.WriteString(c.w, "\r\033[K")
	}
	n, err := c.w.Write(p)
	if c.bar != "" {
		io.WriteString(c.w, c.bar)
	}
	return n, err
}

// draw shows line as the bar: in place on a terminal, as a line otherwise.
func (c *console) draw(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.tty {
		fmt.Fprintln(c.w, line)
		return
	}
	if r := []rune(line); len(r) > c.width-1 {
		line = string(r[:c.width-1])
	}
	c.bar = line
	io.WriteString(c.w, "\r\033[K"+line)
}

// clear removes the bar.
func (c *console) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bar != "" {
		io.WriteString(c.w, "\r\033[K")
		c.bar = ""
	}
}

// progressBar renders ingest progress: bytes, rows, rate and ETA.
type progressBar struct {
	con      *console
	start    time.Time
	now      func() time.Time
	every    time.Duration // minimum time between two draws
	last     time.Time
	lastLine string
}

// newProgressBar returns a bar on con, or nil when mode and the console
// say there should be none.
func newProgressBar(con *console, mode string, now func() time.Time) *progressBar {
	if mode == "never" || (mode == "auto" && !con.tty) {
		return nil
	}
	every := 100 * time.Millisecond
	if !con.tty {
		every = time.Second // a log file or pipe gets a line a second
	}
	return &progressBar{con: con, start: now(), now: now, every: every}
}

// update redraws the bar for p, at most once per b.every.
func (b *progressBar) update(input string, read, total, rows int64) {
	if b == nil {
		return
	}
	t := b.now()
	if t.Sub(b.last) < b.every && read < total {
		return
	}
	b.last = t
	b.con.draw(b.render(t.Sub(b.start), input, read, total, rows))
}

// done removes the bar.
func (b *progressBar) done() {
	if b != nil {
		b.con.clear()
	}
}

// render formats one bar line: bar, percent, bytes, bytes/s, rows, rows/s, ETA
// and the input being read, most important first (a narrow terminal cuts
// the end).
func (b *progressBar) render(elapsed time.Duration, input string, read, total, rows int64) string {
	secs := max(elapsed.Seconds(), 1e-3)
	var sb strings.Builder
	if total > 0 {
		frac := min(float64(read)/float64(total), 1)
		const cells = 20
		full := int(frac * cells)
		sb.WriteString("[" + strings.Repeat("=", full) + strings.Repeat(" ", cells-full) + "] ")
		fmt.Fprintf(&sb, "%3.0f%% %s/%s", frac*100, bytesText(read), bytesText(total))
	} else {
		sb.WriteString(bytesText(read))
	}
	fmt.Fprintf(&sb, "  %s/s  %s rows  %s rows/s", bytesText(int64(float64(read)/secs)), itoa(rows), itoa(int64(float64(rows)/secs)))
	if total > 0 && read > 0 && read < total {
		eta := time.Duration(float64(total-read) / (float64(read) / secs) * float64(time.Second))
		fmt.Fprintf(&sb, "  ETA %s", eta.Round(time.Second))
	}
	if input != "" {
		sb.WriteString("  " + baseName(input))
	}
	return sb.String()
}

// baseName returns the last path element of a URL.
func baseName(u string) string {
	if i := strings.LastIndexByte(u, '/'); i >= 0 && i < len(u)-1 {
		return u[i+1:]
	}
	return u
}

// bytesText formats a byte count in binary units.
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), -1
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTP"[i])
}
