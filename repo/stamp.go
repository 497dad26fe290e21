package repo

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"

	metafs "github.com/pkgvc/pkgvc/meta/fs"
)

// refsLog is the file of the refs/fs backend that every ref change appends
// to (see the refs/fs package documentation); OpenDir keeps that backend in
// the store's "refs" directory.
const refsLog = "log"

// RefsWatch tells cheaply whether any ref or metadata document of a local
// store (one opened by OpenDir) may have changed: the refs backend appends
// one line to its log for every change, so the log's identity and size
// change with the refs, and the metadata store rewrites its sequence file
// (meta/fs.SeqFile) with every change.
// This is the test the backend makes itself before it reads; a RefsWatch
// makes it with one stat relative to an open directory, for a hot path
// such as the content server that would otherwise look up several refs,
// each with a stat of the log by its whole path.
type RefsWatch struct {
	dir, meta *os.File
}

// RefsStamp identifies a state of the refs log. Two equal stamps, read one
// after the other, mean no ref changed in between.
type RefsStamp struct {
	refs fileStamp
	meta string
}

type fileStamp struct {
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
	m, err := metafs.OpenSeq(filepath.Join(dir, metaDir))
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("watch refs of %s: %w", dir, err)
	}
	return &RefsWatch{dir: d, meta: m}, nil
}

// Stamp reads the current stamp.
func (w *RefsWatch) Stamp() (RefsStamp, error) {
	r, err := statAt(w.dir, refsLog)
	if err != nil {
		return RefsStamp{}, fmt.Errorf("stat refs log: %w", err)
	}
	m, err := metafs.ReadSeq(w.meta)
	if err != nil {
		return RefsStamp{}, fmt.Errorf("read metadata sequence: %w", err)
	}
	return RefsStamp{refs: r, meta: m}, nil
}

// statAt stats name in dir.
func statAt(dir *os.File, name string) (fileStamp, error) {
	var st unix.Stat_t
	err := unix.Fstatat(int(dir.Fd()), name, &st, 0)
	runtime.KeepAlive(dir)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{
		dev: st.Dev, ino: st.Ino, size: st.Size,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(),
	}, nil
}

// Close releases the watch.
func (w *RefsWatch) Close() error {
	w.meta.Close()
	return w.dir.Close()
}
