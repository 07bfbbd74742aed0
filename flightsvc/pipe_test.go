package flightsvc

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

// TestAheadPipeCopies checks that random writes, several larger than the
// pipe, come out of random reads intact and in order, then io.EOF.
func TestAheadPipeCopies(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	want := make([]byte, 3<<20)
	for i := range want {
		want[i] = byte(rng.IntN(256))
	}
	pr, pw := newAheadPipe(64 << 10)
	go func() {
		for rest := want; len(rest) > 0; {
			k := min(len(rest), 1+rng.IntN(200<<10))
			if _, err := pw.Write(rest[:k]); err != nil {
				t.Error(err)
				return
			}
			rest = rest[k:]
		}
		pw.Close()
	}()
	var got bytes.Buffer
	buf := make([]byte, 100<<10)
	for {
		n, err := pr.Read(buf[:1+len(got.Bytes())%len(buf)])
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("read %d bytes, not the %d written", got.Len(), len(want))
	}
}

// TestAheadPipeRunsAhead checks that the writer goes on until the pipe is
// full, then waits for the reader.
func TestAheadPipeRunsAhead(t *testing.T) {
	pr, pw := newAheadPipe(1 << 10)
	if n, err := pw.Write(make([]byte, 1<<10)); n != 1<<10 || err != nil {
		t.Fatalf("a write of the pipe's size: %d, %v", n, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := pw.Write([]byte{1, 2, 3})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("a write into a full pipe returned (%v) before any read", err)
	case <-time.After(50 * time.Millisecond):
	}
	if n, err := pr.Read(make([]byte, 10)); n != 10 || err != nil {
		t.Fatalf("read %d, %v", n, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the write still waits after a read made room")
	}
}

// TestAheadPipeClose checks both ends' close errors: a closed read side
// fails the waiting and later writes with its error; the write side's
// error reaches the reader after the data.
func TestAheadPipeClose(t *testing.T) {
	jobEnded := errors.New("job ended")
	pr, pw := newAheadPipe(4)
	done := make(chan error, 1)
	go func() {
		_, err := pw.Write([]byte("more than four"))
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	pr.CloseWithError(jobEnded)
	if err := <-done; !errors.Is(err, jobEnded) {
		t.Errorf("waiting write: %v, want the read side's error", err)
	}
	if _, err := pw.Write([]byte("x")); !errors.Is(err, jobEnded) {
		t.Errorf("later write: %v, want the read side's error", err)
	}

	clientGone := errors.New("client gone")
	pr, pw = newAheadPipe(16)
	if _, err := pw.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	pw.CloseWithError(clientGone)
	pw.Close() // keeps the first error
	got, err := io.ReadAll(pr)
	if string(got) != "abc" || !errors.Is(err, clientGone) {
		t.Errorf("read %q, %v; want the data, then the write side's error", got, err)
	}
}
