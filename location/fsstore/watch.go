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
	// log is the refs log as last opened: an fstat of it costs less than
	// a stat by name.
	log *os.File
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
	w.mu.RLock()
	r, fresh := w.logStat()
	m, mapped := w.mappedSeqLocked()
	w.mu.RUnlock()
	if !fresh {
		var err error
		if r, err = w.reopenLog(); err != nil {
			return repo.RefsStamp{}, fmt.Errorf("stat refs log: %w", err)
		}
	}
	if mapped {
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

// logStat stats the open refs log: its identity, size and times; not
// fresh if none is open or it was replaced (a checkpoint renames a new log
// over it, which leaves the open one without a name). The caller holds
// w.mu for reading.
func (w *Watch) logStat() ([5]int64, bool) {
	if w.log == nil {
		return [5]int64{}, false
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(w.log.Fd()), &st); err != nil || st.Nlink == 0 {
		return [5]int64{}, false
	}
	return stampOf(&st), true
}

// reopenLog opens the refs log again by its name and stats it.
func (w *Watch) reopenLog() ([5]int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r, ok := w.logStat(); ok { // another request reopened it
		return r, nil
	}
	if w.log != nil {
		w.log.Close()
		w.log = nil
	}
	if w.closed {
		return statAt(w.dir, refsLog)
	}
	fd, err := unix.Openat(int(w.dir.Fd()), refsLog, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return statAt(w.dir, refsLog)
	}
	w.log = os.NewFile(uintptr(fd), refsLog)
	if r, ok := w.logStat(); ok {
		return r, nil
	}
	return statAt(w.dir, refsLog)
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

// mappedSeqLocked reads the mapped sequence file; the caller holds w.mu
// for reading. Were the file cut short by
// hand, the read would fault: the fault is recovered and the mapping
// dropped, so that reads go back to ReadSeq.
func (w *Watch) mappedSeqLocked() (m string, ok bool) {
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
	return stampOf(&st), nil
}

func stampOf(st *unix.Stat_t) [5]int64 {
	return [5]int64{int64(st.Dev), int64(st.Ino), st.Size, st.Mtim.Nano(), st.Ctim.Nano()}
}

// Close releases the watch.
func (w *Watch) Close() error {
	w.mu.Lock()
	// Unmapped and closed at once: a Stamp meanwhile cannot map again.
	if w.seq != nil {
		_ = unix.Munmap(w.seq)
		w.seq = nil
	}
	w.closed = true
	if w.log != nil {
		w.log.Close()
		w.log = nil
	}
	w.mu.Unlock()
	w.meta.Close()
	return w.dir.Close()
}
