package fsstore

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"

	"golang.org/x/sys/unix"

	metafs "github.com/pkgvc/pkgvc/meta/fs"
	"github.com/pkgvc/pkgvc/repo"
)

// refsLog is the file of the refs/fs backend that every ref change appends
// to (see the refs/fs package documentation).
const refsLog = "log"

// Watch is the repo.RefsWatch of a local store: it tells cheaply whether
// any ref or metadata document may have changed: the refs backend appends
// one line to its log for every change, so the log's identity and size
// change with the refs, and the metadata store rewrites its sequence file
// (meta/fs.SeqFile) with every change.
// This is the test the backend makes itself before it reads; a RefsWatch
// makes it with one stat relative to an open directory, for a hot path
// such as the content server that would otherwise look up several refs,
// each with a stat of the log by its whole path.
type Watch struct {
	dir, meta *os.File
	// seq maps the metadata sequence file once it has its full length
	// (it is then only ever rewritten in place): reading it is then no
	// system call, which a small file's request notices.
	seq    []byte
	closed bool
	mu     sync.RWMutex
}

var _ repo.RefsWatch = (*Watch)(nil)

// WatchRefs returns a Watch on the store in dir.
func WatchRefs(dir string) (*Watch, error) {
	d, err := os.Open(filepath.Join(dir, refsDir))
	if err != nil {
		return nil, fmt.Errorf("watch refs of %s: %w", dir, err)
	}
	m, err := metafs.OpenSeq(filepath.Join(dir, metaDir))
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("watch refs of %s: %w", dir, err)
	}
	return &Watch{dir: d, meta: m}, nil
}

// Stamp reads the current stamp.
func (w *Watch) Stamp() (repo.RefsStamp, error) {
	r, err := statAt(w.dir, refsLog)
	if err != nil {
		return repo.RefsStamp{}, fmt.Errorf("stat refs log: %w", err)
	}
	if m, ok := w.mappedSeq(); ok {
		return repo.RefsStamp{Refs: r, Meta: m}, nil
	}
	m, err := metafs.ReadSeq(w.meta)
	if err != nil {
		return repo.RefsStamp{}, fmt.Errorf("read metadata sequence: %w", err)
	}
	if len(m) == metafs.SeqLen {
		w.mapSeq()
	}
	return repo.RefsStamp{Refs: r, Meta: m}, nil
}

// mapSeq maps the sequence file; a failure leaves reads to ReadSeq.
func (w *Watch) mapSeq() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seq != nil || w.closed {
		return
	}
	b, err := unix.Mmap(int(w.meta.Fd()), 0, metafs.SeqLen, unix.PROT_READ, unix.MAP_SHARED)
	if err == nil {
		w.seq = b
	}
}

// mappedSeq reads the mapped sequence file. Were the file cut short by
// hand, the read would fault: the fault is recovered and the mapping
// dropped, so that reads go back to ReadSeq.
func (w *Watch) mappedSeq() (m string, ok bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.seq == nil {
		return "", false
	}
	defer func() {
		if recover() != nil {
			m, ok = "", false
			go w.unmapSeq()
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return string(w.seq), true
}

func (w *Watch) unmapSeq() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seq != nil {
		_ = unix.Munmap(w.seq)
		w.seq = nil
	}
}

// statAt stats name in dir: its identity, size and times.
func statAt(dir *os.File, name string) ([5]int64, error) {
	var st unix.Stat_t
	err := unix.Fstatat(int(dir.Fd()), name, &st, 0)
	runtime.KeepAlive(dir)
	if err != nil {
		return [5]int64{}, err
	}
	return [5]int64{int64(st.Dev), int64(st.Ino), st.Size, st.Mtim.Nano(), st.Ctim.Nano()}, nil
}

// Close releases the watch.
func (w *Watch) Close() error {
	w.unmapSeq()
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.meta.Close()
	return w.dir.Close()
}
