package fs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// reflogDir holds one file per ref: the reflog entries checkpoints moved
// out of the log.
const reflogDir = "reflog"

// entryLine is one line of a ref's reflog file.
type entryLine struct {
	Seq    uint64     `json:"seq"`
	Name   string     `json:"name"`
	Time   time.Time  `json:"time"`
	Who    string     `json:"who"`
	Action string     `json:"action"`
	Old    objects.ID `json:"old"`
	New    objects.ID `json:"new"`
}

func (l *entryLine) entry() refs.Entry {
	return refs.Entry{Name: l.Name, Old: l.Old, New: l.New, Time: l.Time, Who: l.Who, Action: l.Action}
}

// reflogName is the file name of a ref's reflog: the SHA-256 of its name
// in hex, so that "a" and "a/b" do not clash and any name fits.
func reflogName(name string) string { return objects.Sum([]byte(name)).String() }

func (b *Backend) reflogPath(name string) string {
	return filepath.Join(b.dir, reflogDir, reflogName(name))
}

// readReflog reads a reflog file: its valid lines, oldest first, and the
// offset just past the last of them. A missing file is an empty reflog.
// Invalid bytes at the end are a torn tail, left by a checkpoint that
// crashed (or one under way): its entries are still in the log. name, if
// not empty, is the ref the file must be of.
func readReflog(ctx context.Context, path, name string) ([]entryLine, int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	var out []entryLine
	res, err := scanFrames(ctx, f, 0, toEOF, func(js []byte, pos, _ int64) error {
		var l entryLine
		if err := json.Unmarshal(js, &l); err != nil {
			return fmt.Errorf("%w: %s: line at offset %d: %w", ErrCorrupt, path, pos, err)
		}
		if name != "" && l.Name != name || name == "" && reflogName(l.Name) != filepath.Base(path) {
			return fmt.Errorf("%w: %s: line at offset %d is of ref %q", ErrCorrupt, path, pos, l.Name)
		}
		if len(out) > 0 && l.Seq <= out[len(out)-1].Seq {
			return fmt.Errorf("%w: %s: seq %d after %d", ErrCorrupt, path, l.Seq, out[len(out)-1].Seq)
		}
		out = append(out, l)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, res.end, nil
}

// appendReflog appends lines, the entries of a log that starts after seq
// base, to the reflog file at path, and fsyncs. It first cuts the file
// back to its lines up to base: anything after them was appended by a
// checkpoint of this same log that crashed (a torn line, or lines the log
// still has), so appending again after a crash changes nothing. It
// reports whether the file had no entries before. The caller holds the
// write lock.
func appendReflog(path string, base uint64, lines []entryLine) (created bool, err error) {
	var buf []byte
	for i := range lines {
		line, err := encodeLine(&lines[i])
		if err != nil {
			return false, err
		}
		buf = append(buf, line...)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	end, err := reflogEnd(f, fi.Size(), base)
	if err != nil {
		return false, err
	}
	if fi.Size() != end {
		if err := f.Truncate(end); err != nil {
			return false, err
		}
	}
	if _, err := f.WriteAt(buf, end); err != nil {
		return false, fmt.Errorf("append to %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return false, fmt.Errorf("sync %s: %w", path, err)
	}
	// A file without entries may be new, or left by a crash before its
	// directory entry was durable.
	return end == 0, nil
}

// reflogEnd returns the offset just past the last valid line of the
// reflog file f (of size bytes) whose seq is at most base. It reads
// backwards from the end, so a long reflog costs nothing more.
func reflogEnd(f *os.File, size int64, base uint64) (int64, error) {
	for n := int64(64 << 10); ; n *= 2 {
		start := max(0, size-n)
		buf := make([]byte, size-start)
		if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("read %s: %w", f.Name(), err)
		}
		end := len(buf)
		for end > 0 {
			if buf[end-1] != '\n' {
				end = bytes.LastIndexByte(buf[:end], '\n') + 1
				continue
			}
			i := bytes.LastIndexByte(buf[:end-1], '\n')
			if i < 0 && start > 0 {
				break // the line may begin before buf: read more
			}
			if js, ok := frame(buf[i+1 : end]); ok {
				var l entryLine
				if err := json.Unmarshal(js, &l); err == nil && l.Seq <= base {
					return start + int64(end), nil
				}
			}
			end = i + 1
		}
		if start == 0 {
			return 0, nil
		}
	}
}

// crashAt, if set (by tests), makes a checkpoint stop at the named point
// as if the process had died there: every write before it is durable.
var crashAt func(point string) error

func crashPoint(point string) error {
	if crashAt == nil {
		return nil
	}
	return crashAt(point)
}

// checkpointWorkers is how many reflog files a checkpoint writes and
// fsyncs at once.
const checkpointWorkers = 8

// checkpoint moves the reflog entries of the log into the refs' reflog
// files and starts a new log holding only a checkpoint record of every
// ref. The caller holds the write lock, and b.st is current.
//
// Order makes it safe at any instant: the reflog files get the entries
// (fsynced) before the new log replaces the old one by rename, so a crash
// in between leaves the entries both in the files and in the log. Readers
// take a file's lines only up to the log's base and the rest from the
// log, and the next checkpoint cuts the files back to that base before
// appending, so no entry is lost or seen twice.
func (b *Backend) checkpoint(ctx context.Context) error {
	f, err := os.Open(b.path(logFile))
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
	off, seq, logBase := b.st.off, b.st.seq, b.st.logBase
	cur := maps.Clone(b.st.refs)
	b.mu.Unlock()
	if !same {
		return fmt.Errorf("%s changed under the write lock", f.Name())
	}
	if seq == logBase {
		return nil // nothing to move
	}

	byRef := map[string][]entryLine{}
	if _, err := scan(ctx, f, 0, off, func(rec *record, _ int64) error {
		if rec.Checkpoint {
			return nil
		}
		for _, u := range rec.Updates {
			byRef[u.Name] = append(byRef[u.Name], entryLine{
				Seq: rec.Seq, Name: u.Name, Time: rec.Time, Who: rec.Who, Action: rec.Action, Old: u.Old, New: u.New,
			})
		}
		return nil
	}); err != nil {
		return err
	}
	if err := b.appendReflogs(logBase, byRef); err != nil {
		return err
	}
	if err := crashPoint("reflogs written"); err != nil {
		return err
	}

	line, err := encodeLine(&record{Seq: seq, Checkpoint: true, Time: time.Now().UTC(), Refs: cur})
	if err != nil {
		return err
	}
	tmp := b.path(logFile + ".tmp")
	if err := writeFileSync(tmp, line); err != nil {
		return err
	}
	if err := crashPoint("new log written"); err != nil {
		return err
	}
	if err := os.Rename(tmp, b.path(logFile)); err != nil {
		return err
	}
	if err := syncDir(b.dir); err != nil {
		return err
	}
	nf, err := os.Open(b.path(logFile))
	if err != nil {
		return err
	}
	nfi, err := nf.Stat()
	if err != nil {
		_ = nf.Close()
		return err
	}
	dev, ino := fileID(nfi)
	b.mu.Lock()
	if b.st.seq == seq {
		snapSeq := max(b.st.snapSeq, seq)
		b.setStateLocked(state{loaded: true, dev: dev, ino: ino, off: int64(len(line)), seq: seq, refs: b.st.refs,
			snapSeq: snapSeq, logBase: seq, hdrEnd: int64(len(line))}, nf)
	} else {
		b.st.loaded = false // cannot happen under the write lock; reload
		_ = nf.Close()
	}
	b.mu.Unlock()
	// The snapshot is of the old log now; readers would ignore it.
	_ = os.Remove(b.path(snapshotFile))
	return nil
}

// appendReflogs appends each ref's lines to its reflog file, a few files
// at a time, and fsyncs the directory if it created any.
func (b *Backend) appendReflogs(base uint64, byRef map[string][]entryLine) error {
	names := make([]string, 0, len(byRef))
	for name := range byRef {
		names = append(names, name)
	}
	slices.Sort(names)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		errs    []error
		created bool
		next    = make(chan string)
	)
	for range min(checkpointWorkers, len(names)) {
		wg.Go(func() {
			for name := range next {
				c, err := appendReflog(b.reflogPath(name), base, byRef[name])
				mu.Lock()
				created = created || c
				if err != nil {
					errs = append(errs, fmt.Errorf("reflog of %s: %w", name, err))
				}
				mu.Unlock()
			}
		})
	}
	for _, name := range names {
		next <- name
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if created {
		return syncDir(filepath.Join(b.dir, reflogDir))
	}
	return nil
}

// writeFileSync creates or truncates path, writes data and fsyncs it.
func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return f.Close()
}

var _ refs.Expirer = (*Backend)(nil)

// Expire deletes the reflog entries stamped before olderThan. Under the
// write lock it checkpoints, so that every entry is in a reflog file, then
// rewrites each file that loses entries (a temporary file renamed over it)
// and deletes each that loses all. A crash leaves every file either
// expired or not; running Expire again finishes the job.
func (b *Backend) Expire(ctx context.Context, olderThan time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	unlock, err := b.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	b.mu.Lock()
	err = b.refreshLocked(ctx)
	b.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if err := b.checkpoint(ctx); err != nil {
		return 0, fmt.Errorf("expire: checkpoint: %w", err)
	}
	dir := filepath.Join(b.dir, reflogDir)
	des, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	removed, changed := 0, false
	defer func() {
		if changed {
			_ = syncDir(dir)
		}
	}()
	for _, de := range des {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		path := filepath.Join(dir, de.Name())
		if strings.HasSuffix(de.Name(), ".tmp") {
			_ = os.Remove(path) // left by an Expire that crashed
			continue
		}
		if _, err := objects.ParseID(de.Name()); err != nil || !de.Type().IsRegular() {
			continue
		}
		lines, _, err := readReflog(ctx, path, "")
		if err != nil {
			return removed, err
		}
		kept := slices.DeleteFunc(slices.Clone(lines), func(l entryLine) bool { return l.Time.Before(olderThan) })
		if len(kept) == len(lines) {
			continue
		}
		if err := rewriteReflog(path, kept); err != nil {
			return removed, err
		}
		removed += len(lines) - len(kept)
		changed = true
	}
	if changed {
		changed = false
		if err := syncDir(dir); err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// rewriteReflog replaces the reflog file at path with lines, or deletes it
// if there are none.
func rewriteReflog(path string, lines []entryLine) error {
	if len(lines) == 0 {
		return os.Remove(path)
	}
	var buf []byte
	for i := range lines {
		line, err := encodeLine(&lines[i])
		if err != nil {
			return err
		}
		buf = append(buf, line...)
	}
	tmp := path + ".tmp"
	if err := writeFileSync(tmp, buf); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
