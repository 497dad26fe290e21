// Package fs is a meta.Store in a directory, shared safely by several
// processes (a server and command-line runs on one store).
//
// Layout of the directory:
//
//	lock     flock(2)ed: LOCK_EX by a writer for its whole batch, LOCK_SH by
//	         a reader for one Get or List
//	rev      a ceiling of the revisions given, in decimal: a writer stores
//	         a new one (temp file, fsync, rename) before any key takes a
//	         revision past it, 4096 ahead, so a crash may skip revisions
//	         but never gives one twice
//	seq      the boot id and the last revision given, written in place
//	         without fsync by every batch: the next writer goes on from
//	         it if this boot wrote it (the machine did not crash since),
//	         else from the ceiling
//	journal  a batch of several ops, stored whole (temp file, fsync,
//	         rename) before the first key file changes; whoever takes the
//	         lock next and finds it applies it again and removes it
//	tmp/     temp files, all written under the write lock (New removes
//	         those a crash left)
//	keys/    key "a/b/c" is the file keys/a/b/c,v ("," is never in a key,
//	         so a key and the directory of the keys under it never
//	         clash): its revision, a newline, its value; a segment longer
//	         than 200 bytes is cut into directories "chunk+"
//
// A batch of one op needs no journal: renaming its file over the key's (or
// removing it) is the moment it lands. A batch of several lands when its
// journal is renamed into place; a crash before that leaves none of it, a
// crash after leaves a journal that the next writer or reader (or New)
// applies before anything else. Readers hold LOCK_SH, so they never see a
// batch half applied.
//
// List walks only the directories under its prefix and reads only the
// files of the keys it reports.
//
// Every file that holds a value (a key's, a journal) has mode 0600:
// documents may be secrets, such as signing keys.
package fs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/pkgvc/pkgvc/internal/flock"
	"github.com/pkgvc/pkgvc/meta"
	"golang.org/x/sys/unix"
)

// Files of the store directory.
const (
	lockFile    = "lock"
	journalFile = "journal"
	tmpDir      = "tmp"
	keysDir     = "keys"
	// RevFile holds the ceiling of the revisions given, stored durably
	// before any key takes a revision past the one before.
	RevFile = "rev"
	// SeqFile holds the last revision given, for the next writer; a
	// watcher can tell by reading it that no key changed.
	SeqFile = "seq"
	// valueSuffix ends a key's file name.
	valueSuffix = ",v"
	// chunkSuffix ends a directory holding the rest of a long segment.
	chunkSuffix = "+"
	maxChunk    = 200
	// fileMode is the mode of every file holding values: only the
	// store's owner reads them, since some are secrets.
	fileMode = 0o600
)

// Store is a meta.Store in a directory.
type Store struct {
	dir string
	sem chan struct{} // one writer of this process at a time
}

var _ meta.Store = (*Store)(nil)

// crashHook, when set (by tests), is called at each step of a write that a
// crash could interrupt.
var crashHook func(step string)

func crashPoint(step string) {
	if crashHook != nil {
		crashHook(step)
	}
}

// New opens the store in dir, creating it if missing, and finishes a batch
// a crashed writer left.
func New(dir string) (*Store, error) {
	for _, d := range []string{dir, filepath.Join(dir, tmpDir), filepath.Join(dir, keysDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("open metadata store: %w", err)
		}
	}
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open metadata store: %w", err)
	}
	f.Close()
	s := &Store{dir: dir, sem: make(chan struct{}, 1)}
	unlock, err := s.lock(context.Background())
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := s.recover(); err != nil {
		return nil, err
	}
	// Every temp file is written under the write lock: those there now
	// are a crashed writer's.
	if ents, err := os.ReadDir(s.path(tmpDir)); err == nil {
		for _, e := range ents {
			_ = os.Remove(s.path(tmpDir, e.Name()))
		}
	}
	return s, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(parts ...string) string {
	return filepath.Join(append([]string{s.dir}, parts...)...)
}

// keyPath returns the file of key.
func (s *Store) keyPath(key string) string {
	return filepath.Join(s.dir, keysDir, encodeKey(key))
}

// lock takes the write lock: the in-process semaphore, then LOCK_EX on
// the lock file through an open file description of its own.
func (s *Store) lock(ctx context.Context) (unlock func(), err error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	f, err := s.lockFile(ctx, flock.Lock)
	if err != nil {
		<-s.sem
		return nil, err
	}
	return func() {
		unlockFile(f)
		<-s.sem
	}, nil
}

func (s *Store) lockFile(ctx context.Context, how func(context.Context, *os.File) error) (*os.File, error) {
	f, err := os.Open(s.path(lockFile))
	if err != nil {
		return nil, fmt.Errorf("metadata store lock: %w", err)
	}
	if err := how(ctx, f); err != nil {
		f.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("metadata store lock: %w", err)
	}
	return f, nil
}

// unlockFile releases explicitly: a child forked meanwhile would keep the
// open file description, and the lock, alive past Close.
func unlockFile(f *os.File) {
	_ = flock.Unlock(f)
	_ = f.Close()
}

// read runs fn under the shared lock, once no journal is left to apply.
func (s *Store) read(ctx context.Context, fn func() error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := s.lockFile(ctx, flock.LockShared)
		if err != nil {
			return err
		}
		if _, err := os.Lstat(s.path(journalFile)); errors.Is(err, os.ErrNotExist) {
			err := fn()
			unlockFile(f)
			return err
		}
		unlockFile(f)
		unlock, err := s.lock(ctx)
		if err != nil {
			return err
		}
		err = s.recover()
		unlock()
		if err != nil {
			return err
		}
	}
}

// Get implements meta.Store.
func (s *Store) Get(ctx context.Context, key string) ([]byte, meta.Rev, error) {
	if err := meta.ValidKey(key); err != nil {
		return nil, "", err
	}
	var value []byte
	var rev meta.Rev
	err := s.read(ctx, func() error {
		var err error
		value, rev, err = s.readKey(key)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return value, rev, nil
}

// readKey reads key's file; a missing one is meta.NotFound.
func (s *Store) readKey(key string) ([]byte, meta.Rev, error) {
	data, err := os.ReadFile(s.keyPath(key))
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		return nil, "", meta.NotFound(key)
	}
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", key, err)
	}
	rev, value, ok := bytes.Cut(data, []byte{'\n'})
	if !ok || len(rev) == 0 {
		return nil, "", fmt.Errorf("read %s: damaged file %s", key, s.keyPath(key))
	}
	return value, meta.Rev(rev), nil
}

// List implements meta.Store.
func (s *Store) List(ctx context.Context, prefix string, fn func(string, []byte, meta.Rev) error) error {
	type item struct {
		key   string
		value []byte
		rev   meta.Rev
	}
	var items []item
	err := s.read(ctx, func() error {
		keys, err := s.keys(ctx, prefix)
		if err != nil {
			return err
		}
		items = make([]item, 0, len(keys))
		for _, k := range keys {
			if err := ctx.Err(); err != nil {
				return err
			}
			v, rev, err := s.readKey(k)
			if errors.Is(err, meta.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			items = append(items, item{k, v, rev})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(it.key, it.value, it.rev); err != nil {
			return err
		}
	}
	return nil
}

// keys returns the keys under prefix, sorted, reading only directories
// along and under prefix.
func (s *Store) keys(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	// walk lists dir, whose entries' keys start with rel.
	var walk func(dir, rel string) error
	walk = func(dir, rel string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		ents, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, e := range ents {
			name := e.Name()
			switch {
			case strings.HasSuffix(name, valueSuffix) && e.Type().IsRegular():
				if k := rel + strings.TrimSuffix(name, valueSuffix); strings.HasPrefix(k, prefix) {
					out = append(out, k)
				}
			case !e.IsDir():
			case strings.HasSuffix(name, chunkSuffix):
				if k := rel + strings.TrimSuffix(name, chunkSuffix); compatible(k, prefix) {
					if err := walk(filepath.Join(dir, name), k); err != nil {
						return err
					}
				}
			default:
				if k := rel + name + "/"; compatible(k, prefix) {
					if err := walk(filepath.Join(dir, name), k); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	if err := walk(s.path(keysDir), ""); err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	sort.Strings(out)
	return out, nil
}

// compatible reports whether keys starting with k may start with prefix.
func compatible(k, prefix string) bool {
	return strings.HasPrefix(k, prefix) || strings.HasPrefix(prefix, k)
}

// encodeKey returns key's file, relative to keys/: each segment a
// directory, the last one's file ending in valueSuffix; a segment longer
// than a file name may be is cut into chunks, each but the last a
// directory ending in chunkSuffix (never in a key either).
func encodeKey(key string) string {
	var parts []string
	for _, seg := range strings.Split(key, "/") {
		for len(seg) > maxChunk {
			parts = append(parts, seg[:maxChunk]+chunkSuffix)
			seg = seg[maxChunk:]
		}
		parts = append(parts, seg)
	}
	return filepath.Join(parts...) + valueSuffix
}

// journalOp is one op of a journal.
type journalOp struct {
	Key    string   `json:"key"`
	Rev    meta.Rev `json:"rev,omitempty"`
	Value  []byte   `json:"value,omitempty"`
	Delete bool     `json:"delete,omitempty"`
}

// Apply implements meta.Store.
func (s *Store) Apply(ctx context.Context, ops ...meta.Op) ([]meta.Rev, error) {
	if err := meta.ValidateOps(ops); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := s.recover(); err != nil {
		return nil, err
	}
	for _, op := range ops {
		_, rev, err := s.readKey(op.Key)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return nil, err
		}
		if rev != op.Old {
			return nil, meta.Conflict(op.Key)
		}
	}
	// Past the checks only a failed write stops the batch; a canceled
	// ctx does not, so that it lands whole.
	last, err := s.reserve(len(ops))
	if err != nil {
		return nil, err
	}
	revs := make([]meta.Rev, len(ops))
	jops := make([]journalOp, len(ops))
	puts := 0
	for i, op := range ops {
		jops[i] = journalOp{Key: op.Key}
		if op.Value == nil {
			jops[i].Delete = true
			continue
		}
		puts++
		revs[i] = meta.Rev(strconv.FormatUint(last+uint64(puts), 10))
		jops[i].Rev, jops[i].Value = revs[i], op.Value
	}
	crashPoint("rev")
	if len(jops) == 1 {
		if err := s.applyOp(jops[0]); err != nil {
			return nil, err
		}
		return revs, nil
	}
	data, err := json.Marshal(jops)
	if err != nil {
		return nil, err
	}
	if err := s.writeFile(s.path(journalFile), data); err != nil {
		return nil, err
	}
	crashPoint("journal")
	if err := s.replay(jops); err != nil {
		return nil, err
	}
	return revs, nil
}

// reserve returns the last revision given and records that n more (at
// least one, so that a watcher of SeqFile sees every batch) are: in
// SeqFile, and, when they pass the ceiling in RevFile, in a new ceiling
// stored durably first. The caller holds the write lock.
func (s *Store) reserve(n int) (uint64, error) {
	ceiling, err := s.lastRev()
	if err != nil {
		return 0, err
	}
	last, ok := s.readSeq()
	if !ok || last > ceiling {
		// A new boot (the page cache may have lost SeqFile) or none yet:
		// every revision given is at most the ceiling.
		last = ceiling
	}
	next := last + uint64(max(n, 1))
	if next > ceiling {
		if err := s.writeFile(s.path(RevFile), []byte(strconv.FormatUint(next+reserveAhead, 10)+"\n")); err != nil {
			return 0, err
		}
	}
	if err := s.writeSeq(next); err != nil {
		return 0, err
	}
	return last, nil
}

// reserveAhead is how many revisions past the last given a new ceiling
// allows, so that RevFile is stored once per that many.
const reserveAhead = 4096

// SeqLen is the length of SeqFile once a batch has written it (boot id,
// space, 20 digits, newline); it is then only rewritten in place.
const SeqLen = 36 + 1 + 20 + 1

const seqLen = SeqLen

// readSeq reads SeqFile; ok only if this boot wrote it.
func (s *Store) readSeq() (uint64, bool) {
	boot := bootID()
	if boot == "" {
		return 0, false
	}
	data, err := os.ReadFile(s.path(SeqFile))
	if err != nil || len(data) != seqLen || string(data[:36]) != boot {
		return 0, false
	}
	n, err := strconv.ParseUint(string(data[37:57]), 10, 64)
	return n, err == nil
}

// writeSeq stores the last revision given in SeqFile, in place and without
// fsync: it must survive a process, not the machine (see readSeq).
func (s *Store) writeSeq(n uint64) error {
	boot := bootID()
	if boot == "" {
		boot = strings.Repeat("-", 36)
	}
	f, err := os.OpenFile(s.path(SeqFile), os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("metadata store revision: %w", err)
	}
	_, err = f.WriteAt([]byte(fmt.Sprintf("%s %020d\n", boot, n)), 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("metadata store revision: %w", err)
	}
	return nil
}

var bootOnce = sync.OnceValue(func() string {
	data, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	id := strings.TrimSpace(string(data))
	if err != nil || len(id) != 36 {
		return ""
	}
	return id
})

// bootID identifies this boot of the machine; "" if unknown, which makes
// every batch store RevFile.
func bootID() string { return bootOnce() }

// OpenSeq opens the SeqFile of the store in dir, for ReadSeq, creating it
// (empty) if no batch has yet.
func OpenSeq(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, SeqFile), os.O_RDONLY|os.O_CREATE, 0o644)
}

// ReadSeq returns the content of a SeqFile opened by OpenSeq: it changes
// with every batch.
func ReadSeq(f *os.File) (string, error) {
	var buf [seqLen]byte
	n, err := f.ReadAt(buf[:], 0)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return string(buf[:n]), err
}

// lastRev reads RevFile; none is 0.
func (s *Store) lastRev() (uint64, error) {
	data, err := os.ReadFile(s.path(RevFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("metadata store revision: %w", err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("metadata store revision: damaged %s: %w", s.path(RevFile), err)
	}
	return n, nil
}

// recover applies and removes a journal a crashed writer left; the caller
// holds the write lock.
func (s *Store) recover() error {
	data, err := os.ReadFile(s.path(journalFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("metadata store journal: %w", err)
	}
	var jops []journalOp
	if err := json.Unmarshal(data, &jops); err != nil {
		return fmt.Errorf("metadata store journal %s is damaged: %w", s.path(journalFile), err)
	}
	for _, op := range jops {
		if meta.ValidKey(op.Key) != nil || !op.Delete && op.Rev == "" {
			return fmt.Errorf("metadata store journal %s is damaged: bad op for %q", s.path(journalFile), op.Key)
		}
	}
	return s.replay(jops)
}

// replay applies a journal's ops, which is idempotent, then removes it.
func (s *Store) replay(jops []journalOp) error {
	for i, op := range jops {
		if err := s.applyOp(op); err != nil {
			return err
		}
		crashPoint("op" + strconv.Itoa(i))
	}
	if err := os.Remove(s.path(journalFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("metadata store journal: %w", err)
	}
	return syncDir(s.dir)
}

// applyOp makes key's file hold op.
func (s *Store) applyOp(op journalOp) error {
	p := s.keyPath(op.Key)
	if op.Delete {
		err := os.Remove(p)
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("delete %s: %w", op.Key, err)
		}
		if err := syncDir(filepath.Dir(p)); err != nil {
			return err
		}
		s.pruneDirs(filepath.Dir(p))
		return nil
	}
	if err := s.mkdirs(filepath.Dir(p)); err != nil {
		return fmt.Errorf("write %s: %w", op.Key, err)
	}
	data := make([]byte, 0, len(op.Rev)+1+len(op.Value))
	data = append(append(append(data, op.Rev...), '\n'), op.Value...)
	if err := s.writeFile(p, data); err != nil {
		return fmt.Errorf("write %s: %w", op.Key, err)
	}
	return nil
}

// mkdirs creates dir and its missing parents under keys/, syncing each
// parent that gains one.
func (s *Store) mkdirs(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := s.mkdirs(filepath.Dir(dir)); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return syncDir(filepath.Dir(dir))
}

// pruneDirs removes dir and its parents while they are empty, up to keys/.
func (s *Store) pruneDirs(dir string) {
	root := s.path(keysDir)
	for dir != root && strings.HasPrefix(dir, root+string(filepath.Separator)) {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// writeFile replaces dst with data durably: temp file, fsync, rename,
// fsync of dst's directory.
func (s *Store) writeFile(dst string, data []byte) error {
	f, err := os.CreateTemp(s.path(tmpDir), "w-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(fileMode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	crashPoint("temp")
	if err := os.Rename(f.Name(), dst); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dst))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
