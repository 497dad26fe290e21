package fs

import (
	"fmt"
	"os"
	"syscall"

	"github.com/pkgvc/pkgvc/objects"
)

// state is what one process knows of the log: the refs after applying
// every valid line up to off.
type state struct {
	loaded   bool
	dev, ino uint64 // identity of the log file the state was read from
	off      int64  // offset just past the last applied line
	seq      uint64 // seq of the last applied line; 0 for an empty log
	tail     int64  // bytes seen after off at the last read
	refs     map[string]objects.ID
	base     int64  // offset the state was loaded from: 0 or a snapshot's
	snapSeq  uint64 // seq of the newest snapshot known to this process
}

// apply applies one record that ends at offset end. The record must carry
// the next seq and Olds that match; otherwise the log is corrupt.
func (st *state) apply(rec *record, end int64, path string) error {
	if rec.Seq != st.seq+1 {
		return fmt.Errorf("%w: %s: seq %d after %d", ErrCorrupt, path, rec.Seq, st.seq)
	}
	for _, u := range rec.Updates {
		if st.refs[u.Name] != u.Old {
			return fmt.Errorf("%w: %s: seq %d: ref %s does not match its old value", ErrCorrupt, path, rec.Seq, u.Name)
		}
	}
	for _, u := range rec.Updates {
		if u.New.IsZero() {
			delete(st.refs, u.Name)
		} else {
			st.refs[u.Name] = u.New
		}
	}
	st.seq = rec.Seq
	st.off = end
	st.tail = 0
	return nil
}

func (st *state) sameFile(fi os.FileInfo) bool {
	dev, ino := fileID(fi)
	return st.loaded && st.dev == dev && st.ino == ino
}

func fileID(fi os.FileInfo) (dev, ino uint64) {
	if s, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(s.Dev), uint64(s.Ino)
	}
	return 0, 0
}
