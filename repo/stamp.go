package repo

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// refsLog is the file of the refs/fs backend that every ref change appends
// to (see the refs/fs package documentation); OpenDir keeps that backend in
// the store's "refs" directory.
const refsLog = "log"

// RefsWatch tells cheaply whether any ref of a local store (one opened by
// OpenDir) may have changed: the refs backend appends one line to its log
// for every change, so the log's identity and size change with the refs.
// This is the test the backend makes itself before it reads; a RefsWatch
// makes it with one stat relative to an open directory, for a hot path
// such as the content server that would otherwise look up several refs,
// each with a stat of the log by its whole path.
type RefsWatch struct {
	dir *os.File
	fd  int
}

// RefsStamp identifies a state of the refs log. Two equal stamps, read one
// after the other, mean no ref changed in between.
type RefsStamp struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64
}

// WatchRefs returns a RefsWatch on the store in dir.
func WatchRefs(dir string) (*RefsWatch, error) {
	d, err := os.Open(filepath.Join(dir, "refs"))
	if err != nil {
		return nil, fmt.Errorf("watch refs of %s: %w", dir, err)
	}
	return &RefsWatch{dir: d, fd: int(d.Fd())}, nil
}

// Stamp reads the current stamp.
func (w *RefsWatch) Stamp() (RefsStamp, error) {
	var st unix.Stat_t
	err := unix.Fstatat(w.fd, refsLog, &st, 0)
	runtime.KeepAlive(w.dir)
	if err != nil {
		return RefsStamp{}, fmt.Errorf("stat refs log: %w", err)
	}
	return RefsStamp{
		dev: st.Dev, ino: st.Ino, size: st.Size,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(),
	}, nil
}

// Close releases the watch.
func (w *RefsWatch) Close() error { return w.dir.Close() }
