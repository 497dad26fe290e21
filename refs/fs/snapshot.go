package fs

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pkgvc/pkgvc/objects"
)

// snapshot is the state of the refs after the log line with Seq, which
// ends at Offset.
type snapshot struct {
	Offset int64                 `json:"offset"`
	Seq    uint64                `json:"seq"`
	Refs   map[string]objects.ID `json:"refs"`
}

// readSnapshot reads dir/snapshot and checks it against the open log: its
// offset must lie within the log, just after a newline.
func readSnapshot(dir string, log *os.File, logSize int64) (*snapshot, error) {
	data, err := os.ReadFile(filepath.Join(dir, snapshotFile))
	if err != nil {
		return nil, err
	}
	var s snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, snapshotFile, err)
	}
	if s.Offset < 0 || s.Offset > logSize || (s.Offset == 0) != (s.Seq == 0) {
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
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
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
