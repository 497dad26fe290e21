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
	file     *os.File // the log the state was read from, kept open
	dev, ino uint64   // its identity
	off      int64    // offset just past the last applied line
	seq      uint64   // seq of the last applied line; 0 for an empty log
	tail     int64    // bytes seen after off at the last read
	refs     map[string]objects.ID
	base     int64  // offset the state was loaded from: 0 or a snapshot's
	snapSeq  uint64 // seq of the newest snapshot known to this process
	logBase  uint64 // seq of the log's checkpoint record; 0 if it has none
	hdrEnd   int64  // offset just past the checkpoint record, if read
}

// apply applies one record that ends at offset end. The record must carry
// the next seq and Olds that match; otherwise the log is corrupt.
func (st *state) apply(rec *record, end int64, path string) error {
	if rec.Checkpoint {
		if st.off != 0 {
			return fmt.Errorf("%w: %s: checkpoint record at offset %d", ErrCorrupt, path, st.off)
		}
		st.refs = make(map[string]objects.ID, len(rec.Refs))
		for name, id := range rec.Refs {
			if !id.IsZero() {
				st.refs[name] = id
			}
		}
		st.seq, st.logBase, st.hdrEnd = rec.Seq, rec.Seq, end
		st.snapSeq = max(st.snapSeq, rec.Seq)
		st.off, st.tail = end, 0
		return nil
	}
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
