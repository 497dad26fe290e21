package fs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pkgvc/pkgvc/objects"
)

const (
	tmpDir   = "tmp"
	fileMode = 0o444
	dirMode  = 0o755
)

// ErrInvalidKey is returned for keys that are empty, absolute, contain
// "." or ".." or empty segments, or lie in the reserved tmp directory.
var ErrInvalidKey = errors.New("invalid key")

// Backend stores each key as a file under a directory.
type Backend struct {
	dir string
	tmp string
}

var (
	_ objects.Backend     = (*Backend)(nil)
	_ objects.Stager      = (*Backend)(nil)
	_ objects.Syncer      = (*Backend)(nil)
	_ objects.TempCleaner = (*Backend)(nil)
	_ objects.Reaper      = (*Backend)(nil)
	_ objects.Toucher     = (*Backend)(nil)
	_ objects.LocalPather = (*Backend)(nil)
	_ objects.Locker      = (*Backend)(nil)
	_ objects.Staged      = (*staged)(nil)
)

// New returns a Backend on dir, creating dir and dir/tmp if needed.
func New(dir string) (*Backend, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("fs backend %s: %w", dir, err)
	}
	tmp := filepath.Join(abs, tmpDir)
	if err := os.MkdirAll(tmp, dirMode); err != nil {
		return nil, fmt.Errorf("fs backend: %w", err)
	}
	b := &Backend{dir: abs, tmp: tmp}
	b.restoreParked()
	return b, nil
}

func checkKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.ContainsRune(key, 0) {
		return fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	for i, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." || (i == 0 && seg == tmpDir) {
			return fmt.Errorf("%w: %q", ErrInvalidKey, key)
		}
	}
	return nil
}

func (b *Backend) path(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	return filepath.Join(b.dir, filepath.FromSlash(key)), nil
}

// notFound maps "does not exist" errors (including a file where a
// directory was expected) to objects.ErrNotFound.
func notFound(op, key string, err error) error {
	if errors.Is(err, iofs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%s %s: %w", op, key, objects.ErrNotFound)
	}
	return fmt.Errorf("%s %s: %w", op, key, err)
}

// Put writes r to a temporary file, fsyncs it, renames it to key and
// fsyncs the directory.
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	p, err := b.path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.CreateTemp(b.tmp, "put-*")
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	tmp := f.Name()
	err = func() error {
		n, err := io.Copy(f, r)
		if err != nil {
			return err
		}
		if size >= 0 && n != size {
			return fmt.Errorf("read %d bytes, want %d", n, size)
		}
		if err := f.Sync(); err != nil {
			return err
		}
		return f.Chmod(fileMode)
	}()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = b.rename(tmp, p, true)
	}
	if err != nil {
		_ = os.Remove(tmp) // the earlier error is the one that matters
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// rename renames tmp to p, creating p's directory if it is missing (with
// durable, durably).
func (b *Backend) rename(tmp, p string, durable bool) error {
	err := os.Rename(tmp, p)
	if !errors.Is(err, iofs.ErrNotExist) {
		return err
	}
	if err := b.mkdirAll(filepath.Dir(p), durable); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// mkdirAll creates dir and missing parents (inside b.dir); with durable,
// it fsyncs the parent of each directory it creates.
func (b *Backend) mkdirAll(dir string, durable bool) error {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	parent := filepath.Dir(dir)
	if len(parent) > len(b.dir) {
		if err := b.mkdirAll(parent, durable); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, dirMode); err != nil {
		if errors.Is(err, iofs.ErrExist) {
			return nil
		}
		return err
	}
	if durable {
		return syncDir(parent)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Open opens key's file at offset.
func (b *Backend) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	p, err := b.path(key)
	if err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, fmt.Errorf("open %s: negative offset %d", key, offset)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, notFound("open", key, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("open %s: %w", key, objects.ErrNotFound)
	}
	if err == nil && offset > 0 {
		_, err = f.Seek(offset, io.SeekStart)
	}
	if err != nil {
		_ = f.Close() // the earlier error is the one that matters
		return nil, err
	}
	if length < 0 {
		return f, nil
	}
	return &limitedFile{Reader: io.LimitReader(f, length), f: f}, nil
}

type limitedFile struct {
	io.Reader
	f *os.File
}

func (l *limitedFile) Close() error { return l.f.Close() }

// Stat describes key's file.
func (b *Backend) Stat(ctx context.Context, key string) (objects.Info, error) {
	p, err := b.path(key)
	if err != nil {
		return objects.Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return objects.Info{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return objects.Info{}, notFound("stat", key, err)
	}
	if !fi.Mode().IsRegular() {
		return objects.Info{}, fmt.Errorf("stat %s: %w", key, objects.ErrNotFound)
	}
	return objects.Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Delete removes key's file (read-only files included).
func (b *Backend) Delete(ctx context.Context, key string) error {
	p, err := b.path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return notFound("delete", key, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("delete %s: %w", key, objects.ErrNotFound)
	}
	if err := os.Remove(p); err != nil {
		return notFound("delete", key, err)
	}
	return nil
}

// List walks the directories under prefix; prefix may end in the middle
// of a name. The tmp directory is skipped.
func (b *Backend) List(ctx context.Context, prefix string, fn func(objects.Info) error) error {
	dirKey, namePrefix := "", prefix
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dirKey, namePrefix = prefix[:i], prefix[i+1:]
		if err := checkKey(dirKey); err != nil {
			return fmt.Errorf("list %q: %w", prefix, err)
		}
	}
	dir := filepath.Join(b.dir, filepath.FromSlash(dirKey))
	entries, err := os.ReadDir(dir)
	if errors.Is(err, iofs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list %q: %w", prefix, err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, namePrefix) || (dirKey == "" && name == tmpDir) {
			continue
		}
		key := name
		if dirKey != "" {
			key = dirKey + "/" + name
		}
		if err := b.walk(ctx, key, e, fn); err != nil {
			return err
		}
	}
	return nil
}

// walk reports key (a file) or every file below it (a directory).
func (b *Backend) walk(ctx context.Context, key string, e iofs.DirEntry, fn func(objects.Info) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if e.IsDir() {
		entries, err := os.ReadDir(filepath.Join(b.dir, filepath.FromSlash(key)))
		if errors.Is(err, iofs.ErrNotExist) {
			return nil // removed meanwhile
		}
		if err != nil {
			return fmt.Errorf("list %s: %w", key, err)
		}
		for _, c := range entries {
			if err := b.walk(ctx, key+"/"+c.Name(), c, fn); err != nil {
				return err
			}
		}
		return nil
	}
	if !e.Type().IsRegular() {
		return nil
	}
	fi, err := e.Info()
	if errors.Is(err, iofs.ErrNotExist) {
		return nil // removed meanwhile
	}
	if err != nil {
		return fmt.Errorf("list %s: %w", key, err)
	}
	return fn(objects.Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime()})
}

// Touch sets key's modification time to t.
func (b *Backend) Touch(ctx context.Context, key string, t time.Time) error {
	p, err := b.path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Chtimes(p, t, t); err != nil {
		return notFound("touch", key, err)
	}
	return nil
}

// LocalPath returns the path of key's file and whether it exists.
func (b *Backend) LocalPath(key string) (string, bool) {
	p, err := b.path(key)
	if err != nil {
		return "", false
	}
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return "", false
	}
	return p, true
}

// Sync flushes the whole file system holding the directory (syncfs).
func (b *Backend) Sync(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d, err := os.Open(b.dir)
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	defer d.Close()
	raw, err := d.SyscallConn()
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) { serr = unix.Syncfs(int(fd)) }); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("sync: %w", serr)
	}
	return nil
}

// Stage creates a temporary file in dir/tmp.
func (b *Backend) Stage(ctx context.Context) (objects.Staged, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(b.tmp, "stage-*")
	if err != nil {
		return nil, fmt.Errorf("stage: %w", err)
	}
	return &staged{b: b, f: f, name: f.Name()}, nil
}

// staged is a temporary file that Commit renames into place.
type staged struct {
	b                *Backend
	f                *os.File
	name             string
	written, started int64 // bytes written; bytes whose writeback was started
}

// writebackChunk is how much written data waits before its writeback to
// disk is started, so that the flush at the end of a batch finds most of a
// large blob already on disk instead of writing it all then.
const writebackChunk = 8 << 20

func (s *staged) Write(p []byte) (int, error) {
	if s.f == nil {
		return 0, os.ErrClosed
	}
	n, err := s.f.Write(p)
	s.written += int64(n)
	if s.written-s.started >= writebackChunk {
		// Asynchronous: starts writeback and returns; errors surface at Sync.
		_ = unix.SyncFileRange(int(s.f.Fd()), s.started, s.written-s.started, unix.SYNC_FILE_RANGE_WRITE)
		s.started = s.written
	}
	return n, err
}

func (s *staged) WriteAt(p []byte, off int64) (int, error) {
	if s.f == nil {
		return 0, os.ErrClosed
	}
	return s.f.WriteAt(p, off)
}

// Close makes the file read-only and closes it; it stays staged.
func (s *staged) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Chmod(fileMode)
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f = nil
	return err
}

// Commit renames the file to key, without fsync.
func (s *staged) Commit(ctx context.Context, key string) error {
	if s.name == "" {
		return errors.New("commit of spent staged file")
	}
	p, err := s.b.path(key)
	if err != nil {
		return err
	}
	if err := s.Close(); err != nil {
		return fmt.Errorf("commit %s: %w", key, err)
	}
	if err := s.b.rename(s.name, p, false); err != nil {
		return fmt.Errorf("commit %s: %w", key, err)
	}
	s.name = ""
	return nil
}

// Abort removes the file.
func (s *staged) Abort() error {
	cerr := s.Close()
	if s.name == "" {
		return cerr
	}
	err := os.Remove(s.name)
	s.name = ""
	return errors.Join(cerr, err)
}

// CleanTemp removes staging files last modified before olderThan.
// Directories in dir/tmp are left alone: they hold other temporaries
// (upload sessions) that their owners clean up.
func (b *Backend) CleanTemp(ctx context.Context, olderThan time.Time) (int, error) {
	b.restoreParked()
	ents, err := os.ReadDir(b.tmp)
	if err != nil {
		return 0, fmt.Errorf("clean temp: %w", err)
	}
	removed := 0
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(olderThan) {
			continue // gone meanwhile, or still being written
		}
		if os.Remove(filepath.Join(b.tmp, e.Name())) == nil {
			removed++
		}
	}
	return removed, nil
}

// parkDir, under dir/tmp, holds files DeleteIfOlder has renamed aside.
// CleanTemp leaves directories alone, so no other collector's cleanup
// removes a file parked there; each is named after its key, in hex.
const parkDir = "gc"

// DeleteIfOlder deletes key if its modification time is before olderThan.
// It first renames the file aside, so a concurrent Touch either lands before
// the rename (the time check then keeps the file, which goes back) or finds
// nothing (and the writer stores its own copy).
func (b *Backend) DeleteIfOlder(ctx context.Context, key string, olderThan time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	p, err := b.path(key)
	if err != nil {
		return false, err
	}
	park := filepath.Join(b.tmp, parkDir)
	if err := os.MkdirAll(park, dirMode); err != nil {
		return false, fmt.Errorf("delete %s: %w", key, err)
	}
	// No placeholder file: restoreParked must find nothing but parked
	// files there.
	var nonce [8]byte
	_, _ = rand.Read(nonce[:]) // never fails (crypto/rand)
	aside := filepath.Join(park, hex.EncodeToString([]byte(key))+"."+hex.EncodeToString(nonce[:]))
	if err := os.Rename(p, aside); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, notFound("delete", key, err)
		}
		return false, fmt.Errorf("delete %s: %w", key, err)
	}
	fi, err := os.Stat(aside)
	if err == nil && !fi.ModTime().Before(olderThan) {
		// Freshened by a writer that reuses it: put it back, unless a
		// writer stored a new copy meanwhile.
		if err := os.Link(aside, p); err != nil && !errors.Is(err, os.ErrExist) {
			if _, serr := os.Stat(p); serr != nil { // else restoreParked put it back
				return false, fmt.Errorf("restore %s: %w", key, err)
			}
		}
		os.Remove(aside)
		return false, nil
	}
	if err := os.Remove(aside); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("delete %s: %w", key, err)
	}
	return true, nil
}

// parkedStale is how long after it was parked a file counts as left by
// a DeleteIfOlder that stopped: one takes microseconds.
var parkedStale = time.Minute

// changedBefore reports whether the file's status (its name, for a
// renamed file) last changed before t.
func changedBefore(info iofs.FileInfo, t time.Time) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return info.ModTime().Before(t)
	}
	return time.Unix(st.Ctim.Sec, st.Ctim.Nsec).Before(t)
}

// restoreParked puts back every file DeleteIfOlder parked and did not
// finish with (its process stopped): it may have been freshened, and
// keeping a file gc would delete is always safe — the next gc does. A
// DeleteIfOlder running meanwhile finds its parked file gone or its key
// back, and either way loses nothing.
func (b *Backend) restoreParked() {
	park := filepath.Join(b.tmp, parkDir)
	ents, err := os.ReadDir(park)
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		dot := strings.LastIndexByte(name, '.')
		if dot <= 0 || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil || !changedBefore(info, time.Now().Add(-parkedStale)) {
			continue // a DeleteIfOlder may still be at work on it
		}
		key, err := hex.DecodeString(name[:dot])
		if err != nil {
			continue
		}
		p, err := b.path(string(key))
		if err != nil {
			continue
		}
		from := filepath.Join(park, name)
		if err := os.Link(from, p); err == nil || errors.Is(err, os.ErrExist) {
			os.Remove(from)
		}
	}
}
