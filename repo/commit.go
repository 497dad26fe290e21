package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pkgvc/pkgvc/internal/parallel"
	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// Add is one local file to add at Path.
type Add struct {
	Path string // package path in the version
	File string // local file to read
	Size int64  // expected size, for progress; 0 if unknown
}

// Record is a package record; blobs it names must already be in the store
// (uploaded earlier, or synced).
type Record = tree.Entry

// CommitRequest describes one new version.
type CommitRequest struct {
	Adds       []Add
	Records    []Record
	Removes    []string // paths, or directories whose every path goes
	Message    string
	Author     string // defaults to the store's identity
	AllowEmpty bool   // make a version even if nothing changed
	// Options are the commit-time options of the repository's kind
	// (CommitOptioner), which its Placer reads; others are refused.
	Options map[string]string
	// NoReplace refuses (ErrExists) to put other content at a path the
	// head already holds, as package indexes that never reuse a file name
	// require; checked against the head each attempt, so it holds under
	// concurrent writers.
	NoReplace bool
	// InspectRecords gives each of Records the metadata the kind's
	// Inspect reads from its stored blob, as for Adds, rather than the
	// metadata the record carries, for callers not trusted to describe
	// content (the REST API). Of a record's own metadata only its
	// on-demand provenance (MetaRemote and MetaURL) is kept. Every
	// record's blob must then be stored: an on-demand record whose bytes
	// were never fetched has nothing to inspect and is refused.
	InspectRecords bool
	// FillMetadata gives each of Records whose blob is stored the
	// metadata keys the kind's Inspect reads from it that the record
	// lacks, so that a record an index described (a sync) carries what a
	// commit of the same file would; the record's own values stay. A
	// record whose blob is not stored, or whose content Inspect refuses,
	// is left as it is.
	FillMetadata bool
	// Updates change the metadata of packages the head holds, keeping
	// their content. Each applies to the head's record when the version
	// is made (so it keeps what a concurrent writer changed); a path the
	// head lacks is ErrPathNotFound. An update that changes nothing makes
	// no version by itself.
	Updates []MetadataUpdate
	// FromUpstream marks Records as a remote's index (a sync or a
	// pull-through). The upstream is the authority for its own files, so
	// the kind's FileKeyer check, which guards against clients reusing a
	// file name under another spelling, is not applied: a mirror holds
	// what upstream holds.
	FromUpstream bool
	// Progress, if set, is called with bytes ingested so far and in total.
	Progress func(done, total int64)
	// Changes, when set, streams the version's changes, for a change
	// too large to hold (a sync of a large index): records to set (Entry
	// set) and exact paths to remove (Entry nil; an absent path is no
	// error), in strictly increasing path order. Each call must yield the
	// same changes: a commit that meets a concurrent writer replays them.
	// Records are checked, referenced and filled (FillMetadata) as they
	// come, a bounded number at a time. It takes no Adds, Records,
	// Removes, Updates or Options, nor NoReplace or InspectRecords; for a kind
	// with file keys (FileKeyer), whose check needs every record at once,
	// it needs FromUpstream.
	Changes func(yield func(tree.Change) error) error
	// Precondition, if set, is checked against the head each attempt
	// builds on, before the version is made: a concurrent writer that
	// moves the head makes it checked again, so that a change decided
	// from an earlier version is made only if what it relied on still
	// holds. Its error fails the commit as it is.
	Precondition func(ctx context.Context, head HeadView) error
}

// MetadataUpdate sets and deletes metadata keys of the package at Path.
type MetadataUpdate struct {
	Path   string
	Set    map[string]string
	Delete []string
}

// CommitResult reports a commit.
type CommitResult struct {
	Repo       string     `json:"repo"`
	Version    int        `json:"version"`
	ID         objects.ID `json:"id"`
	NewObjects int        `json:"new_objects"`
	NewBytes   int64      `json:"new_bytes"`
	// Changed is false when the request changed nothing and no version was made.
	Changed bool `json:"changed"`
}

// maxCommitRetries bounds how often a commit re-applies its changes when
// another writer moved the head meanwhile.
const maxCommitRetries = 50

// backoff sleeps a random while that grows with attempt, so that writers
// that collided do not collide again in lockstep.
func backoff(ctx context.Context, attempt int) {
	limit := time.Duration(min(attempt+1, 20)) * 5 * time.Millisecond
	t := time.NewTimer(rand.N(limit))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Commit makes one new version of repo with the requested changes.
//
// The commit holds a lease on the object store from its first write to
// its head's move, and references every blob its records name before the
// version names it, so that gc, whatever its grace, never deletes them
// (see GC).
func (s *Store) Commit(ctx context.Context, repoName string, req CommitRequest) (*CommitResult, error) {
	if req.Changes != nil {
		return s.commitStream(ctx, repoName, req)
	}
	lease := s.objects.Lease
	if len(req.Adds) > 0 {
		lease = s.objects.LongLease // reads files
	}
	ctx, release, err := lease(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	st, err := s.loadRepo(ctx, repoName)
	if err != nil {
		return nil, err
	}
	kind, err := s.kinds.Lookup(st.config.Kind)
	if err != nil {
		return nil, err
	}
	if err := checkRequest(&req); err != nil {
		return nil, err
	}
	if err := checkOptions(kind, req.Options); err != nil {
		return nil, err
	}
	for _, p := range append(addPaths(req.Adds), recordPaths(req.Records)...) {
		if err := checkPath(kind, p); err != nil {
			return nil, err
		}
	}
	if err := s.referenceBlobs(ctx, req.Records); err != nil {
		return nil, err
	}
	if req.InspectRecords {
		// Checks each blob and its digest too.
		if req.Records, err = s.inspectRecords(ctx, kind, req.Records, req.Options); err != nil {
			return nil, err
		}
	} else {
		for _, r := range req.Records {
			if err := checkDigest(kind, r.Path, r.SHA256, r.Metadata); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
			}
		}
		if req.FillMetadata {
			if req.Records, err = s.fillRecords(ctx, kind, req.Records); err != nil {
				return nil, err
			}
		}
	}
	blobs := s.objects.NewBatch()
	records, err := s.ingest(ctx, blobs, kind, req)
	if err == nil {
		err = checkPlaced(kind, records, req)
	}
	if err != nil {
		blobs.Abort()
		return nil, err
	}
	if !req.InspectRecords {
		if err := s.checkBlobs(ctx, req.Records); err != nil {
			blobs.Abort()
			return nil, err
		}
	}
	if err := blobs.Flush(ctx); err != nil {
		return nil, fmt.Errorf("store packages: %w", err)
	}
	nObj, nBytes := blobs.Stats()
	res, err := s.retryCommit(ctx, repoName, st, req.Author, func(st *repoState, author string) (*CommitResult, error) {
		return s.commitOnce(ctx, st, records, req, author)
	})
	if err != nil {
		return nil, err
	}
	res.NewObjects += nObj
	res.NewBytes += nBytes
	return res, nil
}

// retryCommit runs once, for repository repoName first read as st, again
// while another writer moves the head first, on the repository read anew
// (refused if it was deleted and made again meanwhile); author defaults
// to the store's identity.
func (s *Store) retryCommit(ctx context.Context, repoName string, st *repoState, author string, once func(st *repoState, author string) (*CommitResult, error)) (*CommitResult, error) {
	if author == "" {
		author = s.whoFor(ctx)
	}
	first := st.config
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			var err error
			if st, err = s.loadRepo(ctx, repoName); err != nil {
				return nil, err
			}
			if !sameRepo(st.config, first) {
				// The records were checked against the one deleted.
				return nil, fmt.Errorf("%w: repository %s was deleted and made again while this change was made", ErrConflict, repoName)
			}
		}
		res, err := once(st, author)
		if errors.Is(err, refs.ErrConflict) && attempt < maxCommitRetries {
			backoff(ctx, attempt)
			continue
		}
		return res, err
	}
}

func addPaths(adds []Add) []string {
	out := make([]string, len(adds))
	for i, a := range adds {
		out[i] = a.Path
	}
	return out
}

func recordPaths(rs []Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Path
	}
	return out
}

func checkRequest(req *CommitRequest) error {
	seen := map[string]string{}
	claim := func(p, what string) error {
		if err := tree.ValidatePath(p); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		if prev, dup := seen[p]; dup {
			return fmt.Errorf("%w: path %q is given twice (%s and %s)", ErrInvalid, p, prev, what)
		}
		seen[p] = what
		return nil
	}
	for _, a := range req.Adds {
		if err := claim(a.Path, "added from "+a.File); err != nil {
			return err
		}
	}
	for _, r := range req.Records {
		if err := claim(r.Path, "added by digest"); err != nil {
			return err
		}
	}
	for _, p := range req.Removes {
		if err := claim(strings.TrimSuffix(p, "/"), "removed"); err != nil {
			return err
		}
	}
	for _, u := range req.Updates {
		if err := claim(u.Path, "updated"); err != nil {
			return err
		}
	}
	return nil
}

// checkPlaced refuses a request whose files the kind placed at a path
// another added record, a removal or an update also names (checkRequest
// saw the paths before placement).
func checkPlaced(k Kind, records []Record, req CommitRequest) error {
	if _, ok := k.(Placer); !ok {
		return nil
	}
	seen := make(map[string]bool, len(records))
	for _, r := range records {
		if seen[r.Path] {
			return fmt.Errorf("%w: two added files lie at %s", ErrInvalid, r.Path)
		}
		seen[r.Path] = true
	}
	for _, p := range req.Removes {
		if seen[strings.TrimSuffix(p, "/")] {
			return fmt.Errorf("%w: %s is both added and removed", ErrInvalid, p)
		}
	}
	for _, u := range req.Updates {
		if seen[u.Path] {
			return fmt.Errorf("%w: %s is both added and updated", ErrInvalid, u.Path)
		}
	}
	return nil
}

// ingest streams every added file into the batch, several at once.
func (s *Store) ingest(ctx context.Context, b *objects.Batch, kind Kind, req CommitRequest) ([]Record, error) {
	if len(req.Adds) == 0 {
		return req.Records, nil
	}
	out := make([]Record, len(req.Adds), len(req.Adds)+len(req.Records))
	var total, done atomic.Int64
	for _, a := range req.Adds {
		total.Add(a.Size)
	}
	err := parallel.Do(ctx, len(req.Adds), s.workers, func(ctx context.Context, i int) error {
		rec, err := s.ingestFile(ctx, b, kind, req.Adds[i], req.Options, func(n int64) {
			if req.Progress != nil {
				req.Progress(done.Add(n), total.Load())
			}
		})
		out[i] = rec
		return err
	})
	if err != nil {
		return nil, err
	}
	return append(out, req.Records...), nil
}

func (s *Store) ingestFile(ctx context.Context, b *objects.Batch, kind Kind, a Add, opts map[string]string, progress func(int64)) (Record, error) {
	f, err := os.Open(a.File)
	if err != nil {
		return Record{}, fmt.Errorf("add %s: %w", a.File, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Record{}, fmt.Errorf("add %s: %w", a.File, err)
	}
	if !fi.Mode().IsRegular() {
		return Record{}, fmt.Errorf("%w: add %s: not a regular file", ErrInvalid, a.File)
	}
	meta, err := kind.Inspect(ctx, a.Path, f, fi.Size())
	if err != nil {
		return Record{}, fmt.Errorf("%w: %s: %w", ErrInvalid, a.File, err)
	}
	res, err := b.PutBlob(ctx, &progressReader{r: f, fn: progress})
	if err != nil {
		return Record{}, fmt.Errorf("add %s: %w", a.File, err)
	}
	if err := checkDigest(kind, a.Path, res.ID, meta); err != nil {
		return Record{}, fmt.Errorf("%w: %s: %w", ErrInvalid, a.File, err)
	}
	path, err := place(kind, a.Path, meta, opts)
	if err != nil {
		return Record{}, err
	}
	return Record{Path: path, SHA256: res.ID, Size: res.Size, Metadata: meta}, nil
}

type progressReader struct {
	r  io.Reader
	fn func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.fn(int64(n))
	}
	return n, err
}

// referenceBlobs freshens the blobs records name (objects.Store.Reference),
// so that a sweep keeps them, and refuses records whose blob is gone,
// except on-demand ones.
func (s *Store) referenceBlobs(ctx context.Context, rs []Record) error {
	done := make(map[objects.ID]bool, len(rs))
	for _, r := range rs {
		if done[r.SHA256] {
			continue
		}
		err := s.objects.Reference(ctx, r.SHA256)
		if errors.Is(err, objects.ErrNotFound) && IsOnDemand(r) {
			continue // fetched from its remote when first needed
		}
		if errors.Is(err, objects.ErrNotFound) {
			return fmt.Errorf("%w: %s: blob %s is not in the store; upload it first", ErrInvalid, r.Path, r.SHA256)
		}
		if err != nil {
			return err
		}
		done[r.SHA256] = true
	}
	return nil
}

// checkBlobs makes sure records added by digest name stored blobs.
func (s *Store) checkBlobs(ctx context.Context, rs []Record) error {
	checked := make(map[objects.ID]int64)
	for _, r := range rs {
		if size, ok := checked[r.SHA256]; ok && size == r.Size {
			continue
		}
		checked[r.SHA256] = r.Size
		st, err := s.objects.StatBlob(ctx, r.SHA256)
		if errors.Is(err, objects.ErrNotFound) && IsOnDemand(r) {
			continue // fetched from its remote when first needed
		}
		if errors.Is(err, objects.ErrNotFound) {
			return fmt.Errorf("%w: %s: blob %s is not in the store; upload it first", ErrInvalid, r.Path, r.SHA256)
		}
		if err != nil {
			return err
		}
		if st.Size != r.Size {
			return fmt.Errorf("%w: %s: blob %s has %d bytes, the record says %d", ErrInvalid, r.Path, r.SHA256, st.Size, r.Size)
		}
	}
	return nil
}

// commitOnce applies the change to the head as read in st and moves the head.
func (s *Store) commitOnce(ctx context.Context, st *repoState, records []Record, req CommitRequest, author string) (*CommitResult, error) {
	b := s.objects.NewBatch()
	defer b.Abort()
	next, err := s.nextVersion(ctx, st)
	if err != nil {
		return nil, err
	}
	base := next.base
	if err := s.checkPrecondition(ctx, &req, st.head, base); err != nil {
		return nil, err
	}
	if req.NoReplace {
		for _, r := range records {
			prev, ok, err := tree.Get(ctx, s.objects, base, r.Path)
			if err != nil {
				return nil, err
			}
			if ok && prev.SHA256 != r.SHA256 {
				return nil, fmt.Errorf("%w: %s already holds %s with other content; a file name cannot be reused", ErrExists, st.name, r.Path)
			}
		}
	}
	removals, err := s.expandRemovals(ctx, st, base, req.Removes)
	if err != nil {
		return nil, err
	}
	if len(req.Updates) > 0 {
		updated, err := s.applyUpdates(ctx, st.name, base, req.Updates)
		if err != nil {
			return nil, err
		}
		records = append(slices.Clip(records), updated...)
	}
	if !req.FromUpstream {
		if err := s.checkFileKeys(ctx, st, base, records, removals); err != nil {
			return nil, err
		}
	}
	changes := mergeChanges(removals, records)
	root, err := tree.Apply(ctx, storeWriter{s.objects, b}, base, changes)
	if errors.Is(err, tree.ErrPathConflict) {
		// Every version must lay out as a file tree (checkout, HTTP
		// directories): one path cannot be both a file and a directory.
		return nil, fmt.Errorf("%w: %s: %w (remove one first)", ErrInvalid, st.name, err)
	}
	if err != nil {
		return nil, err
	}
	next.root = root
	return s.writeVersion(ctx, st, b, next, req, author, len(records) > 0, func() string {
		return summarize(len(records), len(removals))
	})
}

// version is the tree a commit made and what it follows.
type version struct {
	base, root objects.ID
	parents    []objects.ID
	number     int
}

// nextVersion is the version a commit builds on the head as read in st:
// root is the caller's to set.
func (s *Store) nextVersion(ctx context.Context, st *repoState) (version, error) {
	if st.head.IsZero() {
		return version{number: 1}, nil
	}
	head, err := s.version(ctx, st.head)
	if err != nil {
		return version{}, err
	}
	return version{base: head.Tree, parents: []objects.ID{head.ID}, number: head.Number + 1}, nil
}

// writeVersion ends a commit whose tree is v.root, written into b: it
// writes the version and moves the head, unless nothing changed (or the
// repository is empty and nothing is set, setsRecords false).
func (s *Store) writeVersion(ctx context.Context, st *repoState, b *objects.Batch, v version, req CommitRequest, author string, setsRecords bool, summary func() string) (*CommitResult, error) {
	root, base, parents, number := v.root, v.base, v.parents, v.number
	var err error
	if root.IsZero() { // an empty repository, and no change
		if root, err = tree.Empty(ctx, b); err != nil {
			return nil, err
		}
	}
	res := &CommitResult{Repo: st.name}
	if root == base && !req.AllowEmpty && !st.head.IsZero() {
		v, err := s.version(ctx, st.head)
		if err != nil {
			return nil, err
		}
		res.Version, res.ID = v.Number, v.ID
		return res, nil
	}
	if st.head.IsZero() && !req.AllowEmpty && !setsRecords {
		return res, nil // nothing to commit to an empty repository
	}
	msg := req.Message
	if msg == "" {
		msg = summary()
	}
	c := &Commit{Tree: root, Parents: parents, Version: number, Time: s.now(), Author: author, Message: msg, Kind: st.config.Kind}
	id, err := s.writeCommit(ctx, b, c)
	if err != nil {
		return nil, err
	}
	if err := b.Flush(ctx); err != nil {
		return nil, err
	}
	if err := s.moveHeads(ctx, "commit: "+firstLine(msg), headMove{st: st, new: id}); err != nil {
		return nil, err
	}
	res.Version, res.ID, res.Changed = number, id, true
	res.NewObjects, res.NewBytes = b.Stats()
	return res, nil
}

// checkFileKeys refuses records that are the same file as another record
// of the new version, by the kind's FileKey, with other content: another
// added record, or one of the head's that the commit keeps. Only conflicts
// the commit adds are refused: records it adds or replaces with other
// bytes are compared, never the head's records with each other.
func (s *Store) checkFileKeys(ctx context.Context, st *repoState, base objects.ID, records []Record, removals []tree.Change) error {
	kind, err := s.kinds.Lookup(st.config.Kind)
	if err != nil {
		return err
	}
	fk, ok := kind.(FileKeyer)
	if !ok || len(records) == 0 {
		return nil
	}
	reused := func(key, p, other string) error {
		return fmt.Errorf("%w: %s is the same file as %s in repository %s (%s) with other content; a file name cannot be reused", ErrExists, p, other, st.name, key)
	}
	added := make(map[string]*Record, len(records))
	gone := make(map[string]bool, len(records)+len(removals))
	for i := range records {
		r := &records[i]
		k, ok := fk.FileKey(*r)
		if !ok {
			gone[r.Path] = true
			continue
		}
		if !base.IsZero() {
			// A record the head holds with the same bytes (a metadata
			// update, a file committed again) adds no conflict: one it
			// has was there before, and refusing it would leave a
			// repository that holds one stuck.
			prev, held, err := tree.Get(ctx, s.objects, base, r.Path)
			if err != nil {
				return err
			}
			if held && prev.SHA256 == r.SHA256 {
				continue
			}
		}
		gone[r.Path] = true
		if prev, dup := added[k]; dup && prev.SHA256 != r.SHA256 {
			return reused(k, r.Path, prev.Path)
		}
		added[k] = r
	}
	if len(added) == 0 || base.IsZero() {
		return nil
	}
	for _, c := range removals {
		gone[c.Path] = true
	}
	// The first conflict ends the walk as its error.
	return tree.Walk(ctx, s.objects, base, func(e tree.Entry) error {
		if gone[e.Path] {
			return nil
		}
		k, ok := fk.FileKey(e)
		if !ok {
			return nil
		}
		if r, ok := added[k]; ok && r.SHA256 != e.SHA256 {
			return reused(k, r.Path, e.Path)
		}
		return nil
	})
}

// applyUpdates returns the head's records of updates' paths with their
// metadata updated.
func (s *Store) applyUpdates(ctx context.Context, repoName string, base objects.ID, updates []MetadataUpdate) ([]Record, error) {
	out := make([]Record, 0, len(updates))
	for _, u := range updates {
		rec, ok, err := tree.Get(ctx, s.objects, base, u.Path)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: %s in repository %s", ErrPathNotFound, u.Path, repoName)
		}
		m := maps.Clone(rec.Metadata)
		if m == nil {
			m = make(map[string]string, len(u.Set))
		}
		maps.Copy(m, u.Set)
		for _, k := range u.Delete {
			delete(m, k)
		}
		rec.Metadata = m
		out = append(out, rec)
	}
	return out, nil
}

// mergeChanges applies removals before additions: removing a directory
// and adding a file under it leaves just that file, and overlapping
// removals ("sub" and "sub/b.txt") remove each path once.
func mergeChanges(removals []tree.Change, records []Record) []tree.Change {
	added := make(map[string]bool, len(records))
	changes := make([]tree.Change, 0, len(records)+len(removals))
	for i := range records {
		added[records[i].Path] = true
		changes = append(changes, tree.Change{Path: records[i].Path, Entry: &records[i]})
	}
	removed := make(map[string]bool, len(removals))
	for _, r := range removals {
		if !added[r.Path] && !removed[r.Path] {
			removed[r.Path] = true
			changes = append(changes, r)
		}
	}
	return changes
}

// storeWriter reads through the store and writes into a batch.
type storeWriter struct {
	*objects.Store
	b *objects.Batch
}

func (w storeWriter) GetObject(ctx context.Context, id objects.ID) ([]byte, error) {
	return w.Store.GetObject(ctx, id)
}

func (w storeWriter) PutObject(ctx context.Context, data []byte) (objects.PutResult, error) {
	return w.b.PutObject(ctx, data)
}

func (s *Store) writeCommit(ctx context.Context, b *objects.Batch, c *Commit) (objects.ID, error) {
	data, err := encodeCommit(c)
	if err != nil {
		return objects.ID{}, err
	}
	res, err := b.PutObject(ctx, data)
	return res.ID, err
}

// expandRemovals turns removed paths into tree changes; a path that is not a
// record removes every record under it as a directory.
func (s *Store) expandRemovals(ctx context.Context, st *repoState, root objects.ID, paths []string) ([]tree.Change, error) {
	var out []tree.Change
	var dirs []string
	for _, p := range paths {
		p = strings.TrimSuffix(p, "/")
		_, ok, err := tree.Get(ctx, s.objects, root, p)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, tree.Change{Path: p})
		} else {
			dirs = append(dirs, p)
		}
	}
	if len(dirs) == 0 {
		return out, nil
	}
	for _, d := range dirs {
		found := false
		if err := tree.Prefix(ctx, s.objects, root, d+"/", func(e tree.Entry) error {
			out = append(out, tree.Change{Path: e.Path})
			found = true
			return nil
		}); err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("%w: cannot remove %q: not in %s (see `pkgvc ls %s`)", ErrPathNotFound, d, st.name, st.name)
		}
	}
	return out, nil
}

func summarize(records, removals int) string {
	var parts []string
	if n := records; n > 0 {
		parts = append(parts, fmt.Sprintf("add %d package(s)", n))
	}
	if n := removals; n > 0 {
		parts = append(parts, fmt.Sprintf("remove %d package(s)", n))
	}
	if len(parts) == 0 {
		return "empty version"
	}
	return strings.Join(parts, ", ")
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// headMove is one repository head moving from st.head to new.
type headMove struct {
	st  *repoState
	new objects.ID
}

// checkIncarnations undoes moves into repositories that were empty when
// read and have been deleted, or deleted and made again, since: an empty
// repository has no head for the compare-and-swap to catch that with. The
// check follows the move, so a commit of the new repository on top of it
// in between keeps it (and this change reports a conflict): that takes a
// deletion, a creation and a commit inside one change's ref update.
func (s *Store) checkIncarnations(ctx context.Context, action string, moves []headMove) error {
	var undo []refs.Update
	var gone []string
	for _, m := range moves {
		if !m.st.head.IsZero() {
			continue // the head's compare-and-swap caught any deletion
		}
		now, err := s.loadRepo(ctx, m.st.name)
		if err == nil && sameRepo(now.config, m.st.config) {
			continue
		}
		if err != nil && !errors.Is(err, ErrRepoNotFound) {
			continue // landed, and cannot be checked: it stands
		}
		undo = append(undo, refs.Update{Name: headRef(m.st.name), Old: m.new})
		gone = append(gone, m.st.name)
	}
	if len(undo) == 0 {
		return nil
	}
	// Best effort: a commit on top of the move meanwhile keeps it.
	_ = s.refs.Apply(ctx, refs.Txn{Updates: undo, Who: s.whoFor(ctx), Action: action + " (undone: the repository was deleted meanwhile)"})
	return fmt.Errorf("%w: repository %s was deleted while this change was made", ErrConflict, strings.Join(gone, ", "))
}

// moveHeads moves the heads atomically with compare-and-swap, with each
// repository's retention markers, then stores the shallow boundaries
// retention moved. A boundary is only what gc may collect: stored late,
// or lost to a concurrent change of the configuration (the next commit
// works it out again), it keeps more, never less.
func (s *Store) moveHeads(ctx context.Context, action string, moves ...headMove) error {
	var ups []refs.Update
	type cut struct {
		cfg *Config
		old meta.Rev
	}
	var cuts []cut
	for _, m := range moves {
		ups = append(ups, refs.Update{Name: headRef(m.st.name), Old: m.st.head, New: m.new})
		ret, cfg, err := s.retention(ctx, m.st, m.new)
		if err != nil {
			return err
		}
		ups = append(ups, ret...)
		if cfg != nil {
			cuts = append(cuts, cut{cfg, m.st.configRev})
		}
	}
	ups = dedupe(ups)
	if err := s.refs.Apply(ctx, refs.Txn{Updates: ups, Who: s.whoFor(ctx), Action: action}); err != nil {
		return err
	}
	if err := s.checkIncarnations(ctx, action, moves); err != nil {
		return err
	}
	for _, c := range cuts {
		// The head moved: this change has landed, whatever happens here.
		_, _ = s.putConfig(ctx, c.cfg, c.old)
	}
	return nil
}
