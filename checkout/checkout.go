package checkout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/internal/parallel"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// ErrNotCheckout reports a checkout directory, or the directory beside it,
// that pkgvc did not make: checkout refuses to replace it.
var ErrNotCheckout = errors.New("not a pkgvc checkout")

// Options configures a checkout. The zero value writes the
// packages only, with no publication files.
type Options struct {
	// Publishers generate the files written beside the packages, such as
	// PULP_MANIFEST; nil writes none.
	Publishers *publish.Registry
	// Publications, if set, gives the publication files instead: the
	// stored publication of the version (the one the content server
	// serves), built from an earlier one's if need be, rather than files
	// generated anew by Publishers.
	Publications *publish.Publications
	// Params are the distribution's settings its publication is made
	// under (Dist sets them).
	Params publish.Params
	// Fetch, if set, brings the blob of an on-demand record into the store;
	// checkout calls it, from several goroutines, for such records whose
	// blob is missing. Without it a missing blob fails the checkout, naming
	// the file.
	Fetch func(ctx context.Context, r repo.Record) error
	// Workers bounds how many files are written at once; 0 means 8.
	Workers int
	// Link hard-links raw blobs from the store instead of cloning or
	// copying them: fastest, but a checked-out file is then the store's
	// blob, and whoever can write it despite its mode (root) changes the
	// package in every version that holds it.
	Link bool
}

// Result reports a checkout.
type Result struct {
	Dist string `json:"dist"`
	// Dir is the checkout, a symbolic link to Tree.
	Dir     string        `json:"dir"`
	Tree    string        `json:"tree"`
	Version *repo.Version `json:"version"`
	// UpToDate is true when Dir already held Version and nothing was done.
	UpToDate bool `json:"up_to_date"`
	// Written counts the files written into Tree (hard-linked, cloned or
	// copied, publication files included); Linked those that are hard
	// links (to the store with Link, or to the other tree); Cloned those
	// that are copy-on-write clones of a store blob; Removed the files
	// deleted from it.
	Written int `json:"written"`
	Linked  int `json:"linked"`
	Cloned  int `json:"cloned"`
	Removed int `json:"removed"`
	// Bytes counts the bytes copied: blobs stored compressed, blobs on
	// another file system, publication files.
	Bytes int64 `json:"bytes"`
	// Fetched counts on-demand blobs fetched by Options.Fetch.
	Fetched int `json:"fetched"`
	// Standby counts the files of the first checkout linked into the
	// second tree, so that the next checkout only writes what changed.
	Standby int `json:"standby,omitempty"`
}

// Dist materializes the version distribution name of d serves as plain
// files under dir, for any web server (nginx, a CDN bucket) to serve.
//
// # Layout
//
// dir is a symbolic link to dir.pkgvc/a or dir.pkgvc/b: two trees, one
// served and one standby, which remembers the version it holds
// (dir.pkgvc/state.json). A checkout updates the standby tree to the new
// version, writing only the records that differ between the two (removed
// files deleted, changed ones replaced by rename, never rewritten), writes
// the publication files, makes it durable (syncfs), and then replaces dir
// by a new symbolic link with rename(2): readers of dir see the old tree
// or the new one, never a mix or a partial file. The first checkout writes
// every file, then links them into the standby tree too. Files the served
// tree already holds are linked from it rather than written again.
//
// Raw blobs are cloned from the store (a copy-on-write reflink, FICLONE)
// where the file system can, else copied; compressed ones decompressed.
// With Options.Link they are hard-linked instead (copied when the
// store is on another file system). Every file is read-only and never
// written in place; without Link, not even root writing into a checked-out
// file changes the store. An interrupted checkout leaves the served tree as it was; the next
// one finishes the standby tree. A dir that exists and was not made by
// checkout (other than an empty directory) is refused with ErrNotCheckout.
func Dist(ctx context.Context, d *dist.Dists, name, dir string, o Options) (*Result, error) {
	dist, err := d.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	v, err := d.Resolve(ctx, dist)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("%w: distribution %s follows repository %s, which has no versions yet; commit to it first", repo.ErrVersionNotFound, name, dist.Repo)
	}
	o.Params = publish.Params{Options: dist.Options}
	res, err := checkout(ctx, d.Store(), dist.Kind, v, dir, o)
	if res != nil {
		res.Dist = name
	}
	if err != nil {
		return res, fmt.Errorf("checkout %s into %s: %w", name, dir, err)
	}
	return res, nil
}

// Version writes version v of content kind into dir, as Dist
// does for a distribution, from st: the store of a copy of what a
// distribution serves (a checkout through a server).
func Version(ctx context.Context, st *repo.Store, kind string, v *repo.Version, dir string, o Options) (*Result, error) {
	return checkout(ctx, st, kind, v, dir, o)
}

// HomeDir is where the checkout into dir keeps its trees and state.
func HomeDir(dir string) string { return filepath.Clean(dir) + homeSuffix }

// ReplicaDir is where a checkout into dir through a server keeps its copy
// of what the distribution serves: a store in the checkout's home, on the
// same file system as its trees, so that packages are hard-linked.
func ReplicaDir(dir string) string { return filepath.Join(HomeDir(dir), replicaName) }

const (
	homeSuffix    = ".pkgvc"
	replicaName   = "store"
	stateName     = "state.json"
	lockName      = "lock"
	tmpName       = "tmp"
	stateFormat   = 1
	maxPartial    = 4 // interrupted updates a tree may carry before it is rebuilt
	dirMode       = 0o755
	fileMode      = 0o444
	copyBufSize   = 256 << 10
	defaultWorker = 8
)

// The two trees of a checkout.
const (
	slotA = "a"
	slotB = "b"
)

func otherSlot(s string) string {
	if s == slotA {
		return slotB
	}
	return slotA
}

// checkoutState is dir.pkgvc/state.json: what each tree holds.
type checkoutState struct {
	Format int                   `json:"format"`
	Slots  map[string]*slotState `json:"slots"`
}

// slotState describes one tree. It holds Version (with tree Tree) and its
// publication files Published completely, plus, if Partial is not empty,
// some records of the trees of interrupted updates; zero Version and Tree
// mean an empty tree.
type slotState struct {
	Version   objects.ID   `json:"version,omitzero"`
	Tree      objects.ID   `json:"tree,omitzero"`
	Partial   []objects.ID `json:"partial,omitempty"`
	Published []string     `json:"published,omitempty"`
}

func (s *slotState) complete() bool { return s != nil && !s.Version.IsZero() && len(s.Partial) == 0 }

// checkouter does one checkout into dir, holding dir.pkgvc/lock.
type checkouter struct {
	st      *repo.Store
	o       Options
	kind    string // content kind, which picks the publisher
	dir     string // the checkout (symbolic link), absolute and clean
	home    string // dir + ".pkgvc"
	tmp     string // home/tmp: temporary files, renamed into the trees
	seq     atomic.Uint64
	noLink  atomic.Bool // the store is on another file system
	noClone atomic.Bool // the file system cannot clone blobs
	chmod   bool        // the umask clears read bits: chmod what is made
	bufs    sync.Pool   // *[]byte of copyBufSize
	state   *checkoutState
	written atomic.Int64
	linked  atomic.Int64
	cloned  atomic.Int64
	bytes   atomic.Int64
	fetched atomic.Int64
}

func checkout(ctx context.Context, st *repo.Store, kind string, v *repo.Version, dir string, o Options) (*Result, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if filepath.Dir(abs) == abs {
		return nil, fmt.Errorf("%w: cannot check out into %s", repo.ErrInvalid, abs)
	}
	if o.Workers <= 0 {
		o.Workers = defaultWorker
	}
	c := &checkouter{st: st, o: o, kind: kind, dir: abs, home: abs + homeSuffix, tmp: filepath.Join(abs+homeSuffix, tmpName), chmod: umaskHidesRead()}
	c.bufs.New = func() any {
		b := make([]byte, copyBufSize)
		return &b
	}
	if _, _, err := c.served(); err != nil { // refuse before making anything
		return nil, err
	}
	unlock, err := c.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return c.run(ctx, v)
}

func (c *checkouter) run(ctx context.Context, v *repo.Version) (*Result, error) {
	served, emptyDir, err := c.served() // again, under the lock
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(c.tmp); err != nil {
		return nil, err
	}
	if err := os.Mkdir(c.tmp, 0o700); err != nil {
		return nil, err
	}
	if err := c.loadState(); err != nil {
		return nil, err
	}
	res := &Result{Dir: c.dir, Version: v}
	reuse := served // a complete tree to link unchanged files from
	if !c.state.Slots[served].complete() {
		reuse = "" // state lost: trust neither tree
	}
	if reuse != "" && c.state.Slots[served].Version == v.ID {
		res.Tree, res.UpToDate = c.slotDir(served), true
		return res, c.standby(ctx, res, served, v, nil)
	}
	pubs, err := c.publish(ctx, c.kind, v, reuse)
	if err != nil {
		return nil, err
	}
	target := slotA
	if served != "" {
		target = otherSlot(served)
	}
	removed, err := c.build(ctx, target, v, pubs, reuse)
	if err != nil {
		return nil, err
	}
	if err := c.swap(target, emptyDir); err != nil {
		return nil, err
	}
	res.Tree, res.Removed = c.slotDir(target), removed
	res.Written, res.Linked, res.Cloned = int(c.written.Load()), int(c.linked.Load()), int(c.cloned.Load())
	res.Bytes, res.Fetched = c.bytes.Load(), int(c.fetched.Load())
	return res, c.standby(ctx, res, target, v, pubs)
}

// standby fills the tree that is not served with v by links from served,
// if it is not complete (after the first checkout, or a failure), so that
// the next checkout writes only what changed.
func (c *checkouter) standby(ctx context.Context, res *Result, served string, v *repo.Version, pubs []publish.File) error {
	slot := otherSlot(served)
	if c.state.Slots[slot].complete() {
		return nil
	}
	if pubs == nil {
		var err error
		if pubs, err = c.publish(ctx, c.kind, v, served); err != nil {
			return err
		}
	}
	c.written.Store(0)
	if _, err := c.build(ctx, slot, v, pubs, served); err != nil {
		return fmt.Errorf("%s serves %s, but preparing the standby tree %s failed (the next checkout retries): %w", c.dir, v, c.slotDir(slot), err)
	}
	res.Standby = int(c.written.Load())
	return nil
}

// served inspects dir: the tree it links to ("" if none), and whether it
// is an empty directory to replace.
func (c *checkouter) served() (slot string, emptyDir bool, err error) {
	fi, err := os.Lstat(c.dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", false, nil
	case err != nil:
		return "", false, err
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(c.dir)
		if err != nil {
			return "", false, err
		}
		for _, s := range []string{slotA, slotB} {
			if target == c.linkTarget(s) {
				return s, false, nil
			}
		}
		return "", false, fmt.Errorf("%w: %s is a symbolic link to %s, not to %s; remove it or give another directory", ErrNotCheckout, c.dir, target, c.linkTarget(slotA))
	case fi.IsDir():
		f, err := os.Open(c.dir)
		if err != nil {
			return "", false, err
		}
		names, err := f.Readdirnames(1)
		_ = f.Close() // read-only
		if len(names) == 0 && errors.Is(err, io.EOF) {
			return "", true, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, err
		}
		return "", false, fmt.Errorf("%w: %s is a directory with files that pkgvc did not write; give a new or empty directory (checkout makes it a symbolic link to %s)", ErrNotCheckout, c.dir, c.slotDir(slotA))
	}
	return "", false, fmt.Errorf("%w: %s is a file; give a new or empty directory", ErrNotCheckout, c.dir)
}

// linkTarget is the content of dir's symbolic link to slot: relative, so
// that moving the parent directory keeps it working.
func (c *checkouter) linkTarget(slot string) string {
	return filepath.Base(c.dir) + homeSuffix + "/" + slot
}

func (c *checkouter) slotDir(slot string) string { return filepath.Join(c.home, slot) }

// lock creates home if needed and takes its lock, so that checkouts into
// one dir run one at a time.
func (c *checkouter) lock(ctx context.Context) (func(), error) {
	lockPath := filepath.Join(c.home, lockName)
	fi, err := os.Lstat(c.home)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(c.home, dirMode); err != nil {
			return nil, err
		}
		if err := os.Chmod(c.home, dirMode); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	case !fi.IsDir():
		return nil, fmt.Errorf("%w: %s is not a directory; checkout keeps its trees there, remove it", ErrNotCheckout, c.home)
	default:
		if _, err := os.Stat(lockPath); errors.Is(err, fs.ErrNotExist) {
			ents, err := os.ReadDir(c.home)
			if err != nil {
				return nil, err
			}
			for _, e := range ents {
				if !slices.Contains([]string{lockName, stateName, tmpName, slotA, slotB, replicaName}, e.Name()) {
					return nil, fmt.Errorf("%w: %s exists and was not made by pkgvc checkout; checkout keeps its trees there, move it away", ErrNotCheckout, c.home)
				}
			}
		}
	}
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := flock(ctx, f); err != nil {
		_ = f.Close() // the lock error is the one that matters
		return nil, fmt.Errorf("lock %s: %w", lockPath, err)
	}
	return func() {
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		_ = f.Close()
	}, nil
}

func (c *checkouter) loadState() error {
	c.state = &checkoutState{Format: stateFormat, Slots: map[string]*slotState{}}
	data, err := os.ReadFile(filepath.Join(c.home, stateName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var s checkoutState
	if err := json.Unmarshal(data, &s); err != nil || s.Format != stateFormat {
		return nil // unreadable: every tree is rebuilt
	}
	for _, slot := range []string{slotA, slotB} {
		if st := s.Slots[slot]; st != nil {
			c.state.Slots[slot] = st
		}
	}
	return nil
}

// saveState replaces state.json durably.
func (c *checkouter) saveState() error {
	data, err := json.MarshalIndent(c.state, "", "  ")
	if err != nil {
		return err
	}
	tmp := c.tempName()
	if err := writeFileSync(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(c.home, stateName)); err != nil {
		return err
	}
	return syncDir(c.home)
}

func (c *checkouter) tempName() string {
	return filepath.Join(c.tmp, strconv.FormatUint(c.seq.Add(1), 36))
}

// Change is a record that differs between two versions: Old is nil for an
// added record, New for a removed one.
type Change struct {
	Old, New *repo.Record
}

// Path is the path of the changed record.
func (c Change) Path() string {
	if c.New != nil {
		return c.New.Path
	}
	return c.Old.Path
}

// Updater is an optional capability of a Publisher: Update derives the
// files of a version from old, the files Publish made for an earlier
// version, and the records that differ between the two, so that an
// incremental checkout costs what changed rather than what the version
// holds. An error makes the caller fall back to Publish.
type Updater interface {
	Update(ctx context.Context, old []publish.File, changes []Change) ([]publish.File, error)
}

// publish generates the publication files of v, from those of the served
// tree when the publisher is an Updater, and checks that no record sits
// where one of them goes.
func (c *checkouter) publish(ctx context.Context, kind string, v *repo.Version, served string) ([]publish.File, error) {
	if c.o.Publications != nil {
		files, err := c.stored(ctx, kind, v)
		if err != nil {
			return nil, err
		}
		return files, c.checkPublished(ctx, kind, v, files)
	}
	if c.o.Publishers == nil {
		return nil, nil
	}
	p, ok := c.o.Publishers.Lookup(kind)
	if !ok {
		return nil, nil
	}
	var files []publish.File
	var err error
	if u, ok := p.(Updater); ok && served != "" {
		files, err = c.update(ctx, u, served, v)
	}
	if files == nil || err != nil {
		if files, err = p.Publish(ctx, c.st, v); err != nil {
			return nil, fmt.Errorf("publish %s: %w", v, err)
		}
	}
	return files, c.checkPublished(ctx, kind, v, files)
}

// checkPublished checks that no record of v sits where a publication file
// goes.
func (c *checkouter) checkPublished(ctx context.Context, kind string, v *repo.Version, files []publish.File) error {
	for _, f := range files {
		if _, err := under("", f.Path); err != nil {
			return fmt.Errorf("publish %s: %w", v, err)
		}
		_, clash, err := tree.Get(ctx, c.st.Objects(), v.Tree, f.Path)
		if err != nil {
			return err
		}
		if clash {
			return fmt.Errorf("%w: %s holds a package at %s, where the %s publication writes its own file; remove that package", repo.ErrInvalid, v, f.Path, kind)
		}
	}
	return nil
}

// stored reads the files of v's stored publication.
func (c *checkouter) stored(ctx context.Context, kind string, v *repo.Version) ([]publish.File, error) {
	pub, err := c.o.Publications.ForParams(ctx, kind, v, c.o.Params)
	if err != nil {
		return nil, err
	}
	var files []publish.File
	err = pub.Walk(ctx, func(f *publish.File) error {
		rc, err := pub.Open(ctx, f)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(rc)
		_ = rc.Close() // read-only
		if err != nil {
			return err
		}
		files = append(files, publish.File{Path: f.Path, ContentType: f.ContentType, Content: data})
		return nil
	})
	return files, err
}

// update derives v's publication from the files of the complete tree slot.
func (c *checkouter) update(ctx context.Context, u Updater, slot string, v *repo.Version) ([]publish.File, error) {
	ss := c.state.Slots[slot]
	old := make([]publish.File, 0, len(ss.Published))
	for _, p := range ss.Published {
		full, err := under(c.slotDir(slot), p)
		if err != nil {
			return nil, err
		}
		data, err := os.ReadFile(full)
		if err != nil {
			return nil, err
		}
		old = append(old, publish.File{Path: p, Content: data})
	}
	var changes []Change
	if err := tree.Diff(ctx, c.st.Objects(), ss.Tree, v.Tree, func(o, n *tree.Entry) error {
		changes = append(changes, Change{Old: o, New: n})
		return nil
	}); err != nil {
		return nil, err
	}
	return u.Update(ctx, old, changes)
}

// build brings tree slot to version v: it deletes and writes the records
// that differ from what the tree holds, then the publication files, and
// records the new state durably. Files that reuse (a complete tree, or "")
// holds unchanged are linked from it. It returns how many files it removed.
func (c *checkouter) build(ctx context.Context, slot string, v *repo.Version, pubs []publish.File, reuse string) (int, error) {
	root := c.slotDir(slot)
	ss := c.state.Slots[slot]
	fresh := false
	if _, err := os.Lstat(root); errors.Is(err, fs.ErrNotExist) {
		fresh = true
	} else if err != nil {
		return 0, err
	}
	if ss == nil || len(ss.Partial) >= maxPartial || (fresh && !ss.Version.IsZero()) {
		ss, fresh = &slotState{}, true
	}
	writes, removes, err := c.plan(ctx, ss, v)
	if errors.Is(err, objects.ErrNotFound) && !fresh {
		// An old version's tree was collected: start the tree afresh.
		ss, fresh = &slotState{}, true
		writes, removes, err = c.plan(ctx, ss, v)
	}
	if err != nil {
		return 0, err
	}
	if fresh {
		if err := os.RemoveAll(root); err != nil {
			return 0, err
		}
	}
	if err := mkdirAll(root); err != nil {
		return 0, err
	}
	// From here on the tree may hold some of v's records: say so first.
	pubPaths := make([]string, len(pubs))
	for i, f := range pubs {
		pubPaths[i] = f.Path
	}
	if !slices.Contains(ss.Partial, v.Tree) {
		ss.Partial = append(ss.Partial, v.Tree)
	}
	stale := diffStrings(ss.Published, pubPaths)
	ss.Published = unionStrings(ss.Published, pubPaths)
	c.state.Slots[slot] = ss
	if err := c.saveState(); err != nil {
		return 0, err
	}
	var reuseRoot string
	var changed map[string]bool
	if rs := c.state.Slots[reuse]; reuse != "" && rs.complete() {
		changed = map[string]bool{}
		err := tree.Diff(ctx, c.st.Objects(), rs.Tree, v.Tree, func(_, n *tree.Entry) error {
			if n != nil {
				changed[n.Path] = true
			}
			return nil
		})
		if err == nil {
			reuseRoot = c.slotDir(reuse)
		}
	}
	removed, err := c.remove(ctx, root, append(removes, stale...))
	if err != nil {
		return removed, err
	}
	if err := forEach(ctx, c.o.Workers, writes, func(e *tree.Entry) error {
		from := ""
		if reuseRoot != "" && !changed[e.Path] {
			from = reuseRoot
		}
		return c.materialize(ctx, root, e, from)
	}); err != nil {
		return removed, err
	}
	samePubs := reuseRoot != "" && c.state.Slots[reuse].Version == v.ID
	for _, f := range pubs {
		from := ""
		if samePubs {
			from = reuseRoot
		}
		if err := c.writePublished(root, f, from); err != nil {
			return removed, err
		}
	}
	if err := syncFS(root); err != nil {
		return removed, err
	}
	c.state.Slots[slot] = &slotState{Version: v.ID, Tree: v.Tree, Published: pubPaths}
	return removed, c.saveState()
}

// plan lists the records to write and the paths to delete so that a tree
// in state ss holds v: the differences from its version and from every
// interrupted update, each path once.
func (c *checkouter) plan(ctx context.Context, ss *slotState, v *repo.Version) ([]*tree.Entry, []string, error) {
	writes := map[string]*tree.Entry{}
	removes := map[string]bool{}
	for _, base := range append([]objects.ID{ss.Tree}, ss.Partial...) {
		err := tree.Diff(ctx, c.st.Objects(), base, v.Tree, func(o, n *tree.Entry) error {
			if n == nil {
				removes[o.Path] = true
			} else {
				writes[n.Path] = n
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	ws := make([]*tree.Entry, 0, len(writes))
	for _, e := range writes {
		ws = append(ws, e)
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].Path < ws[j].Path })
	rs := make([]string, 0, len(removes))
	for p := range removes {
		rs = append(rs, p)
	}
	sort.Strings(rs)
	return ws, rs, nil
}

// remove deletes paths from the tree at root (absent ones are fine, and so
// is a directory, which then holds other records) and prunes the
// directories it leaves empty.
func (c *checkouter) remove(ctx context.Context, root string, paths []string) (int, error) {
	var mu sync.Mutex
	n := 0
	parents := map[string]bool{}
	err := forEach(ctx, c.o.Workers, paths, func(p string) error {
		full, err := under(root, p)
		if err != nil {
			return err
		}
		err = unix.Unlink(full)
		switch {
		case err == nil:
			mu.Lock()
			n++
			parents[filepath.Dir(full)] = true
			mu.Unlock()
			return nil
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, unix.EISDIR):
			return nil // gone, or a directory of other records
		}
		return fmt.Errorf("remove %s: %w", p, err)
	})
	if err != nil {
		return n, err
	}
	dirs := make([]string, 0, len(parents))
	for d := range parents {
		dirs = append(dirs, d)
	}
	// Deepest first, so that a directory is pruned after its children.
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	for _, d := range dirs {
		for d != root && strings.HasPrefix(d, root+string(filepath.Separator)) {
			if err := unix.Rmdir(d); err != nil {
				break // not empty, or gone already
			}
			d = filepath.Dir(d)
		}
	}
	return n, nil
}

// materialize writes record e into the tree at root: a hard link to the
// same file in the tree fromRoot when given, else a clone of the store's
// raw blob (with Link, a hard link to it), else a copy of the blob's
// content.
func (c *checkouter) materialize(ctx context.Context, root string, e *tree.Entry, fromRoot string) error {
	dst, err := under(root, e.Path)
	if err != nil {
		return err
	}
	if fromRoot != "" {
		src, err := under(fromRoot, e.Path)
		if err != nil {
			return err
		}
		err = c.link(src, dst)
		switch {
		case err == nil:
			return nil
		case isLayout(err):
			return layoutError(e.Path, err)
		}
		// Gone from that tree, or not linkable: take it from the store.
	}
	objs := c.st.Objects()
	for fetched := false; ; fetched = true {
		if !c.o.Link {
			if src, ok := objs.BlobPath(e.SHA256); ok {
				err := c.place(dst, func(name string) error { return c.cloneOrCopy(src, name, e) })
				switch {
				case err == nil:
					return nil
				case isLayout(err):
					return layoutError(e.Path, err)
				case errors.Is(err, objects.ErrCorrupt):
					return err
				}
				// Collected meanwhile: copyBlob reports it, or fetches it.
			}
		}
		if c.o.Link && !c.noLink.Load() {
			if src, ok := objs.BlobPath(e.SHA256); ok {
				err := c.link(src, dst)
				switch {
				case err == nil:
					return nil
				case isLayout(err):
					return layoutError(e.Path, err)
				case errors.Is(err, unix.EXDEV):
					c.noLink.Store(true)
				}
				// Collected meanwhile, or not linkable: copy (which
				// reports a missing blob).
			}
		}
		err := c.copyBlob(ctx, e, dst)
		if err == nil || !errors.Is(err, objects.ErrNotFound) {
			return err
		}
		if !repo.IsOnDemand(*e) {
			return fmt.Errorf("%s: %w", e.Path, err)
		}
		if c.o.Fetch == nil || fetched {
			return fmt.Errorf("%s: on-demand package not fetched from remote %s yet (%s): %w", e.Path, e.Metadata[repo.MetaRemote], e.Metadata[repo.MetaURL], err)
		}
		if err := c.o.Fetch(ctx, *e); err != nil {
			return fmt.Errorf("%s: fetch %s: %w", e.Path, e.Metadata[repo.MetaURL], err)
		}
		c.fetched.Add(1)
	}
}

// link hard-links src to dst, replacing dst if it exists.
func (c *checkouter) link(src, dst string) error {
	err := c.place(dst, func(name string) error { return os.Link(src, name) })
	if err == nil {
		c.written.Add(1)
		c.linked.Add(1)
	}
	return err
}

// copyBlob writes the content of e's blob to dst: created in place if dst
// is new (O_EXCL never opens an existing, maybe linked, file; the tree is
// not served yet), else under a temporary name renamed over dst.
func (c *checkouter) copyBlob(ctx context.Context, e *tree.Entry, dst string) error {
	rc, err := c.st.Objects().OpenBlob(ctx, e.SHA256)
	if err != nil {
		return err
	}
	defer rc.Close()
	fill := func(f *os.File) (int64, error) {
		buf := c.bufs.Get().(*[]byte)
		defer c.bufs.Put(buf)
		return io.CopyBuffer(onlyWriter{f}, rc, *buf)
	}
	name := dst
	n, err := c.create(name, fill)
	if errors.Is(err, fs.ErrNotExist) {
		if err := mkdirAll(filepath.Dir(dst)); err != nil {
			return layoutOr(e.Path, err)
		}
		n, err = c.create(name, fill)
	}
	if errors.Is(err, fs.ErrExist) {
		name = c.tempName()
		n, err = c.create(name, fill)
	}
	if err != nil {
		return layoutOr(e.Path, err) // create removed what it made
	}
	if n != e.Size {
		err = fmt.Errorf("%s: blob %s: %w: %d bytes, the record says %d", e.Path, e.SHA256, objects.ErrCorrupt, n, e.Size)
	} else if name != dst {
		err = rename(name, dst)
	}
	if err != nil {
		_ = os.Remove(name) // ours: wrong, or a temporary
		return layoutOr(e.Path, err)
	}
	c.written.Add(1)
	c.bytes.Add(n)
	return nil
}

// layoutOr turns a layout error into a clear one.
func layoutOr(path string, err error) error {
	if isLayout(err) {
		return layoutError(path, err)
	}
	return err
}

// onlyWriter hides *os.File's ReadFrom so that CopyBuffer uses its buffer.
type onlyWriter struct{ io.Writer }

// writePublished writes a publication file unless the tree already holds
// these bytes, linking it from fromRoot when given.
func (c *checkouter) writePublished(root string, f publish.File, fromRoot string) error {
	dst, err := under(root, f.Path)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(dst); err == nil && fi.Size() == int64(len(f.Content)) {
		if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, f.Content) {
			return nil
		}
	}
	if fromRoot != "" {
		if src, err := under(fromRoot, f.Path); err == nil && c.link(src, dst) == nil {
			return nil
		}
	}
	tmp := c.tempName()
	if _, err := c.create(tmp, func(w *os.File) (int64, error) {
		n, err := w.Write(f.Content)
		return int64(n), err
	}); err != nil {
		return err
	}
	if err := c.place(dst, func(name string) error { return rename(tmp, name) }); err != nil {
		_ = os.Remove(tmp)
		if isLayout(err) {
			return layoutError(f.Path, err)
		}
		return err
	}
	c.written.Add(1)
	c.bytes.Add(int64(len(f.Content)))
	return nil
}

// place makes dst with mk, creating missing parent directories. If dst
// exists, mk makes a temporary name instead, which is renamed over dst, so
// an existing file is replaced whole and never opened for writing.
func (c *checkouter) place(dst string, mk func(name string) error) error {
	err := mk(dst)
	if errors.Is(err, fs.ErrNotExist) {
		if derr := mkdirAll(filepath.Dir(dst)); derr != nil {
			return derr
		}
		err = mk(dst)
	}
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	tmp := c.tempName()
	if err := mk(tmp); err != nil {
		return err
	}
	if err := rename(tmp, dst); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// rename is rename(2): unlike os.Rename it does not stat newname first, and
// a directory there fails with EISDIR.
func rename(oldname, newname string) error {
	if err := unix.Rename(oldname, newname); err != nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	return nil
}

// cloneOrCopy makes dst, which must not exist, a copy-on-write clone of
// the store's raw blob src for e where the file system can (FICLONE), else
// a copy made in the kernel (copy_file_range); like a hard link, neither
// reads the bytes, so they are checked by size only (fsck and serve
// verify blobs).
func (c *checkouter) cloneOrCopy(src, dst string, e *tree.Entry) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	cloned := false
	n, err := c.create(dst, func(out *os.File) (int64, error) {
		if !c.noClone.Load() {
			err := cloneFile(out, in)
			if err == nil {
				cloned = true
				fi, err := out.Stat()
				if err != nil {
					return 0, err
				}
				return fi.Size(), nil
			}
			if !errors.Is(err, errNoClone) {
				return 0, err
			}
			c.noClone.Store(true)
		}
		return io.Copy(out, in) // copy_file_range(2) between two files
	})
	if err != nil {
		return err
	}
	if n != e.Size {
		_ = os.Remove(dst)
		return fmt.Errorf("%s: blob %s: %w: %d bytes, the record says %d", e.Path, e.SHA256, objects.ErrCorrupt, n, e.Size)
	}
	c.written.Add(1)
	if cloned {
		c.cloned.Add(1)
	} else {
		c.bytes.Add(n)
	}
	return nil
}

// create makes the read-only file name, which must not exist, fills it
// with write and closes it.
func (c *checkouter) create(name string, write func(*os.File) (int64, error)) (int64, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return 0, err
	}
	n, err := write(f)
	if err == nil && c.chmod {
		err = f.Chmod(fileMode) // the umask took read bits web servers need
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(name) // partial; the write error is the one that matters
	}
	return n, err
}

func writeFileSync(name string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// mkdirAll makes directory p and its missing parents, readable by all.
func mkdirAll(p string) error {
	err := os.Mkdir(p, dirMode)
	if errors.Is(err, fs.ErrNotExist) {
		if err := mkdirAll(filepath.Dir(p)); err != nil {
			return err
		}
		err = os.Mkdir(p, dirMode)
	}
	switch {
	case err == nil:
		return os.Chmod(p, dirMode) // whatever the umask
	case errors.Is(err, fs.ErrExist):
		return nil // a file there shows up as ENOTDIR below it
	}
	return err
}

// isLayout reports an error of a record that can't be a file: a parent
// path is a file, or the path is a directory of other records.
func isLayout(err error) bool {
	return errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.EISDIR) || errors.Is(err, unix.ENOTEMPTY)
}

func layoutError(path string, err error) error {
	return fmt.Errorf("%w: package %s can't be laid out as a file: a parent path is a package file, or it is itself a directory of other packages (%w)", repo.ErrInvalid, path, err)
}

// under joins a package path to root and makes sure the result stays under
// root.
func under(root, rel string) (string, error) {
	if err := tree.ValidatePath(rel); err != nil {
		return "", fmt.Errorf("%w: %w", repo.ErrInvalid, err)
	}
	p := filepath.Join(root, filepath.FromSlash(rel))
	if root != "" && !strings.HasPrefix(p, root+string(filepath.Separator)) {
		return "", fmt.Errorf("%w: package path %q leaves the checkout", repo.ErrInvalid, rel)
	}
	return p, nil
}

// swap points dir at slot: a new symbolic link renamed over dir.
func (c *checkouter) swap(slot string, emptyDir bool) error {
	tmp := c.tempName()
	if err := os.Symlink(c.linkTarget(slot), tmp); err != nil {
		return err
	}
	if emptyDir {
		if err := unix.Rmdir(c.dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("replace empty directory %s: %w", c.dir, err)
		}
	}
	if err := rename(tmp, c.dir); err != nil {
		return err
	}
	return syncDir(filepath.Dir(c.dir))
}

// forEach calls fn for every item on up to n goroutines and returns the
// first error; after one, the remaining items are skipped.
func forEach[T any](ctx context.Context, n int, items []T, fn func(T) error) error {
	if len(items) == 0 {
		return ctx.Err()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for w := 0; w < min(n, len(items)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(items) {
					return
				}
				if err := parallel.Safe(func() error { return fn(items[i]) }); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

func diffStrings(a, b []string) []string {
	in := map[string]bool{}
	for _, s := range b {
		in[s] = true
	}
	var out []string
	for _, s := range a {
		if !in[s] {
			out = append(out, s)
		}
	}
	return out
}

func unionStrings(a, b []string) []string {
	out := append([]string{}, a...)
	return append(out, diffStrings(b, a)...)
}
