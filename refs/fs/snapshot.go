package fs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/pkgvc/pkgvc/objects"
)

// snapshot is the state of the refs after the log line with Seq, which
// ends at Offset, in the log that starts with the checkpoint record of
// Base (0: a log without one).
type snapshot struct {
	Offset int64                 `json:"offset"`
	Seq    uint64                `json:"seq"`
	Base   uint64                `json:"base,omitempty"`
	Refs   map[string]objects.ID `json:"refs"`
}

// readSnapshot reads dir/snapshot and checks it against the open log,
// which starts with the checkpoint record of logBase: the snapshot must be
// of that log, and its offset must lie within it, just after a newline.
func readSnapshot(dir string, log *os.File, logSize int64, logBase uint64) (*snapshot, error) {
	data, err := os.ReadFile(filepath.Join(dir, snapshotFile))
	if err != nil {
		return nil, err
	}
	var s snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, snapshotFile, err)
	}
	if s.Base != logBase {
		return nil, fmt.Errorf("%s: of the log after seq %d, not of the log after seq %d", snapshotFile, s.Base, logBase)
	}
	if s.Offset < 0 || s.Offset > logSize || (s.Offset == 0) != (s.Seq == 0) || s.Seq < s.Base {
		return nil, fmt.Errorf("%w: %s: offset %d seq %d do not fit a log of %d bytes", ErrCorrupt, snapshotFile, s.Offset, s.Seq, logSize)
	}
	if s.Offset > 0 {
		var b [1]byte
		if _, err := log.ReadAt(b[:], s.Offset-1); err != nil {
			return nil, fmt.Errorf("read %s: %w", log.Name(), err)
		}
		if b[0] != '\n' {
			return nil, fmt.Errorf("%w: %s: offset %d is not at a line boundary", ErrCorrupt, snapshotFile, s.Offset)
		}
	}
	if s.Refs == nil {
		s.Refs = make(map[string]objects.ID)
	}
	return &s, nil
}

// writeSnapshot replaces dir/snapshot atomically: write a temporary file,
// fsync it, rename it over the snapshot, fsync the directory. The caller
// holds the write lock, so the temporary name is fixed.
func writeSnapshot(dir string, s *snapshot) error {
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	tmp := filepath.Join(dir, snapshotFile+".tmp")
	if err := writeFileSync(tmp, data); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, snapshotFile)); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return d.Close()
}

// readLogBase returns the seq of the checkpoint record the log starts
// with, or 0 if it starts with none. Only the first bytes are read: the
// record's CRC is checked when the log is read from the start.
func readLogBase(log *os.File) (uint64, error) {
	var buf [64]byte
	n, err := log.ReadAt(buf[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("read %s: %w", log.Name(), err)
	}
	rest, ok := bytes.CutPrefix(buf[:n], []byte(`{"seq":`))
	if !ok {
		return 0, nil
	}
	i := bytes.IndexByte(rest, ',')
	if i < 0 || !bytes.HasPrefix(rest[i:], []byte(`,"checkpoint":true,`)) {
		return 0, nil
	}
	seq, err := strconv.ParseUint(string(rest[:i]), 10, 64)
	if err != nil {
		return 0, nil
	}
	return seq, nil
}
