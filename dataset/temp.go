package dataset

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// tmpDir is where linkCreator writes a log entry before linking it.
const tmpDir = "_focus/tmp"

// hostChars are the characters of a host name kept in a temporary name.
var hostChars = regexp.MustCompile(`[^A-Za-z0-9-]`)

// tempName returns a new name for a temporary file of this process:
// ".<pid>.<host>.<random hex>.tmp", so that Recover can tell the files of
// dead processes (tempOfDeadProcess).
func tempName() string {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	host, _ := os.Hostname()
	return "." + strconv.Itoa(os.Getpid()) + "." + hostChars.ReplaceAllString(host, "_") + "." + hex.EncodeToString(rnd[:]) + ".tmp"
}

// tempOfDeadProcess reports whether name, from tempName, belongs to a
// process of this host that is gone.
func tempOfDeadProcess(name string) bool {
	parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(name, "."), ".tmp"), ".")
	if len(parts) != 3 {
		return false
	}
	pid, err := strconv.Atoi(parts[0])
	host, _ := os.Hostname()
	return err == nil && pid > 0 && pid != os.Getpid() && parts[1] == hostChars.ReplaceAllString(host, "_") && !processAlive(pid)
}

// removeDeadTemps deletes, in a dataset on a local directory, the
// temporary files killed processes left: linkCreator's in _focus/tmp/
// (named by tempName; a dead process's at once), fileblob's
// "<seq>.<hex>.tmp" of a published marker once the marker itself exists
// (publishing is idempotent: a writer still busy with it finds the marker
// when its rename fails), and fileblob's other temporaries of leases and
// markers once older than leaseExpiry (their writer is unknown; no write
// takes that long).
func (d *Dataset) removeDeadTemps(st *RecoverStats) error {
	if d.opts.LocalDir == "" {
		return nil
	}
	now := d.opts.Now()
	for _, dir := range []string{tmpDir, jobsPrefix, publishedPrefix} {
		full := filepath.Join(d.opts.LocalDir, filepath.FromSlash(dir))
		ents, err := os.ReadDir(full)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		for _, e := range ents {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".tmp") {
				continue
			}
			info, err := e.Info()
			if err != nil {
				continue // gone meanwhile
			}
			old := now.Sub(info.ModTime()) > leaseExpiry
			if !old && !(dir == tmpDir && tempOfDeadProcess(e.Name())) && !(dir == publishedPrefix && markerExists(full, e.Name())) {
				continue
			}
			if err := os.Remove(filepath.Join(full, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			st.StraysRemoved++
		}
	}
	return nil
}

// markerExists reports whether the published marker that fileblob's
// temporary name ("<seq>.<hex>.tmp") in dir was writing exists.
func markerExists(dir, name string) bool {
	seq, _, ok := strings.Cut(name, ".")
	if !ok || seq == "" {
		return false
	}
	info, err := os.Stat(filepath.Join(dir, seq))
	return err == nil && info.Mode().IsRegular()
}
