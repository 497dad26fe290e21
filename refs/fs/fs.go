package fs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
)

// ErrCorrupt means the log or snapshot holds bytes no writer could have
// left behind, such as an invalid line followed by valid ones.
var ErrCorrupt = errors.New("corrupt ref log")

const (
	logFile      = "log"
	lockFile     = "lock"
	snapshotFile = "snapshot"

	// defaultSnapshotEvery is how many transactions pass between snapshots.
	defaultSnapshotEvery = 1000
	// defaultCheckpointEvery is how many transactions pass between
	// checkpoints, which bound the log (and so every reader's work).
	defaultCheckpointEvery = 1000
)

var _ refs.Backend = (*Backend)(nil)

// Backend stores refs in a directory shared by any number of processes.
// See the package documentation for the layout. Its methods are safe for
// concurrent use.
type Backend struct {
	dir             string
	snapshotEvery   uint64        // 0 disables snapshots
	checkpointEvery uint64        // 0 disables checkpoints
	sem             chan struct{} // serializes this process's writers

	mu sync.Mutex // guards st
	st state
}

// New opens the refs directory dir, creating it and its files if needed,
// and reads the current state.
func New(dir string) (*Backend, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	created := false
	if err := os.Mkdir(filepath.Join(dir, reflogDir), 0o755); err == nil {
		created = true
	} else if !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	for _, name := range []string{logFile, lockFile} {
		c, err := ensureFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		created = created || c
	}
	if created {
		if err := syncDir(dir); err != nil {
			return nil, err
		}
	}
	b := &Backend{
		dir:             dir,
		snapshotEvery:   defaultSnapshotEvery,
		checkpointEvery: defaultCheckpointEvery,
		sem:             make(chan struct{}, 1),
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.refreshLocked(context.Background()); err != nil {
		return nil, err
	}
	return b, nil
}

// ensureFile creates path if it does not exist and reports whether it did.
// Losing the race to another process is fine: the file exists either way.
func ensureFile(path string) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, f.Close()
}

func (b *Backend) path(name string) string { return filepath.Join(b.dir, name) }

// Get returns the current value of the ref.
func (b *Backend) Get(ctx context.Context, name string) (objects.ID, error) {
	if err := ctx.Err(); err != nil {
		return objects.ID{}, err
	}
	if err := refs.ValidName(name); err != nil {
		return objects.ID{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.refreshLocked(ctx); err != nil {
		return objects.ID{}, err
	}
	id, ok := b.st.refs[name]
	if !ok {
		return objects.ID{}, refs.NotFound(name)
	}
	return id, nil
}

// List calls fn for every ref whose name starts with prefix, sorted by
// name. fn runs without the Backend's lock held, so it may call b.
func (b *Backend) List(ctx context.Context, prefix string, fn func(name string, id objects.ID) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	if err := b.refreshLocked(ctx); err != nil {
		b.mu.Unlock()
		return err
	}
	var names []string
	ids := make(map[string]objects.ID)
	for name, id := range b.st.refs {
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
			ids[name] = id
		}
	}
	b.mu.Unlock()
	slices.Sort(names)
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(name, ids[name]); err != nil {
			return err
		}
	}
	return nil
}

// Log calls fn for each reflog entry of the ref, oldest first: those of
// the ref's reflog file up to the log's checkpoint record, then those of
// the log.
func (b *Backend) Log(ctx context.Context, name string, fn func(refs.Entry) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := refs.ValidName(name); err != nil {
		return err
	}
	// A checkpoint or an expiry that replaced the log while it was read
	// may have changed the reflog file too, and a checkpoint cutting back
	// what a crashed one left can look like corruption to a reader: read
	// again. Either is rare, so a few tries do; real corruption stays.
	const tries = 20
	var err error
	for range tries {
		var entries []refs.Entry
		var ok bool
		entries, ok, err = b.readLog(ctx, name)
		if errors.Is(err, ErrCorrupt) && ctx.Err() == nil {
			continue
		}
		if err != nil {
			return err
		}
		if !ok {
			err = fmt.Errorf("reflog of %s: %s was replaced %d times while reading, retry", name, b.path(logFile), tries)
			continue
		}
		for _, e := range entries {
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	}
	return err
}

// readLog reads the ref's reflog; ok is false if the log was replaced
// meanwhile.
func (b *Backend) readLog(ctx context.Context, name string) (entries []refs.Entry, ok bool, err error) {
	// Open the log first: the reflog file then holds every entry up to
	// this log's checkpoint record, as a checkpoint fills the files before
	// it puts the new log in place. Lines after that are the log's to
	// tell: the file may have them from a checkpoint that crashed or is
	// under way.
	f, err := os.Open(b.path(logFile))
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	b.mu.Lock()
	err = b.refreshLocked(ctx)
	same, base, start, end := b.st.sameFile(fi), b.st.logBase, b.st.hdrEnd, b.st.off
	b.mu.Unlock()
	if err != nil || !same {
		return nil, false, err
	}
	stored, _, err := readReflog(ctx, b.reflogPath(name), name)
	if err != nil {
		return nil, false, err
	}
	entries = make([]refs.Entry, 0, len(stored))
	for i := range stored {
		if stored[i].Seq > base {
			break
		}
		entries = append(entries, stored[i].entry())
	}
	// Read only the lines the state covers; any later bytes may be a
	// line being written.
	res, err := scan(ctx, f, start, end, func(rec *record, _ int64) error {
		if rec.Checkpoint {
			return nil
		}
		for _, u := range rec.Updates {
			if u.Name == name {
				entries = append(entries, refs.Entry{
					Name: u.Name, Old: u.Old, New: u.New,
					Time: rec.Time, Who: rec.Who, Action: rec.Action,
				})
			}
		}
		return nil
	})
	if err == nil && res.tail > 0 {
		err = fmt.Errorf("%w: %s: invalid bytes at offset %d", ErrCorrupt, f.Name(), res.end)
	}
	if err != nil {
		return nil, false, err
	}
	now, err := os.Stat(f.Name())
	if err != nil {
		return nil, false, err
	}
	return entries, os.SameFile(fi, now), nil
}

// Apply applies txn atomically. It holds the write lock while it catches
// up with the log, checks every Old, and appends and fsyncs one line.
func (b *Backend) Apply(ctx context.Context, txn refs.Txn) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := txn.Validate(); err != nil {
		return err
	}
	unlock, err := b.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()

	// Under the write lock nobody else appends, so the state read here
	// stays current until this Apply appends its own line.
	b.mu.Lock()
	if err := b.refreshLocked(ctx); err != nil {
		b.mu.Unlock()
		return err
	}
	for _, u := range txn.Updates {
		if b.st.refs[u.Name] != u.Old {
			b.mu.Unlock()
			return refs.Conflict(u.Name)
		}
	}
	off, seq, tail := b.st.off, b.st.seq, b.st.tail
	b.mu.Unlock()

	rec := &record{Seq: seq + 1, Time: time.Now().UTC(), Who: txn.Who, Action: txn.Action}
	for _, u := range txn.Updates {
		if u.Old != u.New {
			rec.Updates = append(rec.Updates, recordItem(u))
		}
	}
	if len(rec.Updates) == 0 {
		return nil // only checks, and they passed
	}
	line, err := encodeLine(rec)
	if err != nil {
		return err
	}
	if err := b.append(off, tail, line); err != nil {
		return err
	}

	b.mu.Lock()
	if b.st.seq == seq && b.st.off == off {
		// No reader in this process has read the new line yet.
		if err := b.st.apply(rec, off+int64(len(line)), b.path(logFile)); err != nil {
			b.st.loaded = false // cannot happen; reload on the next call
		}
	}
	var snap *snapshot
	current := b.st.seq == rec.Seq
	checkpoint := b.checkpointEvery > 0 && current && b.st.seq >= b.st.logBase+b.checkpointEvery
	if !checkpoint && b.snapshotEvery > 0 && current && b.st.seq >= b.st.snapSeq+b.snapshotEvery {
		snap = &snapshot{Offset: b.st.off, Seq: b.st.seq, Base: b.st.logBase, Refs: maps.Clone(b.st.refs)}
	}
	b.mu.Unlock()

	if checkpoint {
		// As with the snapshot: the transaction is durable, and a failed
		// checkpoint is tried again by the next Apply. It finishes even if
		// ctx ends, so that it does not leave work half done.
		_ = b.checkpoint(context.WithoutCancel(ctx))
	}
	if snap != nil {
		// The transaction is durable already; a failed snapshot only
		// means the next Apply tries again, so it does not fail this one.
		if err := writeSnapshot(b.dir, snap); err == nil {
			b.mu.Lock()
			b.st.snapSeq = max(b.st.snapSeq, snap.Seq)
			b.mu.Unlock()
		}
	}
	return nil
}

// append writes line at offset off of the log, first truncating a torn
// tail of tail bytes, and fsyncs. The caller holds the write lock.
func (b *Backend) append(off, tail int64, line []byte) error {
	f, err := os.OpenFile(b.path(logFile), os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	b.mu.Lock()
	same := b.st.sameFile(fi)
	b.mu.Unlock()
	if !same || fi.Size() != off+tail {
		return fmt.Errorf("%s changed under the write lock (size %d, want %d)", f.Name(), fi.Size(), off+tail)
	}
	if tail > 0 {
		// A writer crashed mid-append: drop its partial line.
		if err := f.Truncate(off); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
	}
	if _, err := f.Write(line); err != nil {
		// Whatever part was written is a torn tail for the next writer.
		return fmt.Errorf("append to %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		// Readers may have seen the line already; dropping it shrinks
		// the log below their offset, which makes them reload.
		_ = f.Truncate(off)
		return fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	return nil
}

// refreshLocked brings b.st up to date with the log: nothing to do if the
// log is the same file and ends where the state does; otherwise apply the
// new complete lines, or reload from scratch if the log was replaced or
// shrank. The caller holds b.mu.
func (b *Backend) refreshLocked(ctx context.Context) error {
	path := b.path(logFile)
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if b.st.sameFile(fi) && fi.Size() == b.st.off {
		b.st.tail = 0
		return nil
	}
	if !b.st.sameFile(fi) || fi.Size() < b.st.off {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		if fi, err = f.Stat(); err == nil {
			err = b.reloadLocked(ctx, f, fi) // which keeps f open on success
		}
		if err != nil {
			_ = f.Close()
		}
		return err
	}
	err = b.readLocked(ctx, b.st.file, &b.st)
	if errors.Is(err, ErrCorrupt) {
		// A torn tail truncated and overwritten while it was being read
		// can look like an invalid line followed by a valid one. Real
		// corruption stays when read again.
		err = b.readLocked(ctx, b.st.file, &b.st)
	}
	return err
}

// setStateLocked installs st, read from the open log f, which it keeps
// open: while it is, no other file can have its inode number, so a log
// that a checkpoint put in place is never taken for the one st was read
// from.
func (b *Backend) setStateLocked(st state, f *os.File) {
	if b.st.file != nil && b.st.file != f {
		_ = b.st.file.Close()
	}
	st.file = f
	b.st = st
}

// readLocked applies the complete lines after st.off to st.
func (b *Backend) readLocked(ctx context.Context, f *os.File, st *state) error {
	res, err := scan(ctx, f, st.off, toEOF, func(rec *record, end int64) error {
		return st.apply(rec, end, f.Name())
	})
	if err != nil {
		return err
	}
	st.tail = res.tail
	return nil
}

// reloadLocked rebuilds b.st from the snapshot, if there is a usable one,
// and the log after it; or else from the whole log.
func (b *Backend) reloadLocked(ctx context.Context, f *os.File, fi os.FileInfo) error {
	dev, ino := fileID(fi)
	fresh := func() state {
		return state{loaded: true, dev: dev, ino: ino, refs: make(map[string]objects.ID)}
	}
	logBase, err := readLogBase(f)
	if err != nil {
		return err
	}
	snap, snapErr := readSnapshot(b.dir, f, fi.Size(), logBase)
	if snapErr == nil {
		st := fresh()
		st.refs, st.off, st.seq, st.base, st.snapSeq = snap.Refs, snap.Offset, snap.Seq, snap.Offset, snap.Seq
		st.logBase = snap.Base
		err := b.readLocked(ctx, f, &st)
		if err == nil {
			b.setStateLocked(st, f)
			return nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		// The snapshot does not fit the log; ignore it.
	}
	st := fresh()
	err = b.readLocked(ctx, f, &st)
	if errors.Is(err, ErrCorrupt) {
		err = b.readLocked(ctx, f, &st) // see refreshLocked
	}
	if err != nil {
		return err
	}
	b.setStateLocked(st, f)
	return nil
}
