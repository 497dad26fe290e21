package remote

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"sync"
	"time"

	"github.com/pkgvc/pkgvc/httpx"
	"github.com/pkgvc/pkgvc/internal/parallel"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// SyncOptions configures one sync.
type SyncOptions struct {
	// Mirror also removes the repository's paths that the upstream no
	// longer lists. Only paths the remote's include/exclude patterns
	// select are removed; the rest of the repository is left alone.
	Mirror bool
	// Message is the new version's message; empty gives a summary.
	Message string
	// Progress, if set, is called (from one goroutine at a time) as
	// downloads advance.
	Progress func(SyncProgress)
}

// SyncProgress is a sync's progress.
type SyncProgress struct {
	// Step says what the sync is doing and whom it waits for, such as
	// "reading the index of https://host/… (waiting for host)"; it is
	// reported as each step starts.
	Step              string
	Files, FilesTotal int   // downloads finished, planned
	Bytes, BytesTotal int64 // bytes received, planned
}

// SyncResult reports a sync. Counts are of package paths.
type SyncResult struct {
	Remote string `json:"remote"`
	Repo   string `json:"repo"`
	Policy Policy `json:"policy"`
	Mirror bool   `json:"mirror"`
	// Version and ID are the new version, or the unchanged head when
	// Changed is false (0 and empty for a repository without versions).
	Version int        `json:"version"`
	ID      objects.ID `json:"id"`
	Changed bool       `json:"changed"`

	Added     int `json:"added"`     // paths new to the repository
	Updated   int `json:"updated"`   // paths whose content changed
	Removed   int `json:"removed"`   // paths removed (--mirror)
	Unchanged int `json:"unchanged"` // upstream paths already up to date
	Filtered  int `json:"filtered"`  // upstream paths include/exclude left out

	Downloaded      int   `json:"downloaded"`       // files downloaded and verified
	BytesDownloaded int64 `json:"bytes_downloaded"` // their bytes
	Reused          int   `json:"reused"`           // needed blobs the store already had
	Failed          int   `json:"failed"`           // files that could not be downloaded
	// Failures names each failed file with its error ("path: error").
	Failures []string `json:"failures,omitempty"`

	Seconds float64 `json:"seconds"` // wall time
}

// job is one blob to download, wanted by one or more paths.
type job struct {
	pkg   Package // the first package wanting it
	paths []string
}

// opened is a remote ready to read, and the repository it feeds.
type opened struct {
	r      *Remote
	syncer Syncer
	client *httpx.Client
	info   *repo.RepoInfo
}

// open loads a remote, its Syncer and its HTTP client for work on
// repository repoName, which must have the remote's kind (and kind, when
// not empty).
func (m *Manager) open(ctx context.Context, remoteName, repoName, kind string) (*opened, error) {
	r, doc, err := m.load(ctx, remoteName)
	if err != nil {
		return nil, err
	}
	if kind != "" && r.Kind != kind {
		return nil, fmt.Errorf("%w: remote %s has kind %s: this reads %s remotes only", repo.ErrInvalid, r.Name, r.Kind, kind)
	}
	syncer, err := m.reg.Lookup(r.Kind)
	if err != nil {
		return nil, fmt.Errorf("remote %s: %w", r.Name, err)
	}
	info, err := m.st.ShowRepo(ctx, repoName)
	if err != nil {
		return nil, err
	}
	if info.Kind != r.Kind {
		return nil, fmt.Errorf("%w: remote %s has kind %s, repository %s has kind %s", repo.ErrInvalid, r.Name, r.Kind, repoName, info.Kind)
	}
	if r, err = m.narrow(r, syncer, info); err != nil {
		return nil, err
	}
	c, err := m.client(r, doc)
	if err != nil {
		return nil, err
	}
	return &opened{r: r, syncer: syncer, client: c, info: info}, nil
}

// Sync brings repository repoName up to date with remote remoteName and
// commits the result as one new version (see the package doc). The
// repository must have the remote's kind.
//
// Downloads run r.DownloadConcurrency at once; each is retried and
// resumed as the remote says, and verified (sha256 and size) while it
// streams into the store. A file that still fails does not stop the
// others (their verified blobs are kept), but after maxFailures (10)
// failed files no new download starts.
//
// On failure the returned SyncResult, when not nil, says what was done;
// if files failed the error is a *SyncError naming them, no version was
// made, and the blobs that did verify were kept in the store.
func (m *Manager) Sync(ctx context.Context, remoteName, repoName string, o SyncOptions) (res *SyncResult, err error) {
	start := time.Now()
	kind := ""
	defer func() { m.observeSync(kind, start, res, err) }()
	op, err := m.open(ctx, remoteName, repoName, "")
	if err != nil {
		return nil, err
	}
	// From the first download to the version: see repo.Store.GC.
	ctx, release, err := m.st.Objects().LongLease(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	r, syncer, c, info := op.r, op.syncer, op.client, op.info
	kind = r.Kind
	up := Upstream{Remote: *r, Client: c, KnownSize: m.knownSize, OpenStored: m.st.Objects().OpenBlob}
	if o.Progress != nil {
		o.Progress(SyncProgress{Step: fmt.Sprintf("reading the index of %s (waiting for %s)", r.URL, hostOf(r.URL))})
	}
	res = &SyncResult{Remote: r.Name, Repo: repoName, Policy: r.Policy, Mirror: o.Mirror}
	if info.Head != nil {
		res.Version, res.ID = info.Head.Number, info.Head.ID
	}
	// The plan goes to disk as it is made, so that no part of the sync
	// holds the whole index or the whole head.
	sp, err := newSpill(m.st.Objects().TempDir())
	if err != nil {
		return nil, fmt.Errorf("sync %s: %w", r.Name, err)
	}
	defer sp.close()
	jobs, err := m.planStream(ctx, syncer, up, info, o.Mirror, sp, res)
	if err != nil {
		return nil, err
	}

	if err := m.fetchAll(ctx, packageOpener(syncer, up), r, repoName, jobs, o.Progress, res); err != nil {
		res.Seconds = time.Since(start).Seconds()
		return res, err
	}
	if sp.sets == 0 && sp.removes == 0 {
		res.Seconds = time.Since(start).Seconds()
		return res, nil
	}
	msg := o.Message
	if msg == "" {
		msg = fmt.Sprintf("sync %s (%s): %d added, %d updated, %d removed", r.Name, r.URL, res.Added, res.Updated, res.Removed)
	}
	_, fill := syncer.(ContentDescriber)
	cres, err := m.st.Commit(ctx, repoName, repo.CommitRequest{Changes: sp.changes, Message: msg, FillMetadata: fill, FromUpstream: true})
	res.Seconds = time.Since(start).Seconds()
	if err != nil {
		return res, fmt.Errorf("sync %s into %s: %w", r.Name, repoName, err)
	}
	res.Version, res.ID, res.Changed = cres.Version, cres.ID, cres.Changed
	return res, nil
}

// checkIndex refuses an index a Syncer should not have returned: unsafe
// or duplicate paths, relative URLs, negative sizes.
func checkIndex(pkgs []Package) error {
	seen := make(map[string]struct{}, len(pkgs))
	for _, p := range pkgs {
		if err := checkPackage(p); err != nil {
			return err
		}
		if _, dup := seen[p.Path]; dup {
			return fmt.Errorf("%w: path %q is listed twice", repo.ErrInvalid, p.Path)
		}
		seen[p.Path] = struct{}{}
	}
	return nil
}

// checkPackage refuses one package a Syncer should not have listed.
func checkPackage(p Package) error {
	if err := tree.ValidatePath(p.Path); err != nil {
		return fmt.Errorf("%w: %w", repo.ErrInvalid, err)
	}
	if p.Size < 0 {
		return fmt.Errorf("%w: %s: negative size", repo.ErrInvalid, p.Path)
	}
	if u, err := url.Parse(p.URL); err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("%w: %s: URL %q is not absolute", repo.ErrInvalid, p.Path, p.URL)
	}
	return nil
}

// plan compares the filtered index with the repository's records. It
// returns the records to commit, the blobs to download (immediate policy)
// and the paths to remove (mirror), and counts them into res.
func (m *Manager) plan(ctx context.Context, r *Remote, pkgs []Package, existing map[string]repo.Record, mirror bool, res *SyncResult) ([]repo.Record, []*job, []string, error) {
	pl := newPlanner(m, r, res)
	listed := make(map[string]struct{}, len(pkgs))
	var records []repo.Record
	for _, p := range pkgs {
		if !pl.match.Match(p.Path) {
			res.Filtered++
			continue
		}
		listed[p.Path] = struct{}{}
		cur, ok := existing[p.Path]
		rec, err := pl.decide(ctx, p, cur, ok)
		if err != nil {
			return nil, nil, nil, err
		}
		if rec != nil {
			records = append(records, *rec)
		}
	}
	var removes []string
	if mirror {
		for p := range existing {
			if _, ok := listed[p]; !ok && pl.match.Match(p) {
				removes = append(removes, p)
			}
		}
		res.Removed = len(removes)
	}
	return records, pl.jobs, removes, nil
}

// planner decides, one package at a time, what a sync does with each.
type planner struct {
	m     *Manager
	r     *Remote
	match matcher
	res   *SyncResult
	byID  map[objects.ID]*job
	jobs  []*job
}

func newPlanner(m *Manager, r *Remote, res *SyncResult) *planner {
	return &planner{m: m, r: r, match: r.matcher(), res: res, byID: make(map[objects.ID]*job)}
}

// decide compares package p, which the remote's patterns select, with
// the head's record at its path (cur, when ok). It returns the record to
// commit, nil when the head's is up to date, queues the download it
// needs, and counts it.
func (pl *planner) decide(ctx context.Context, p Package, cur repo.Record, ok bool) (*repo.Record, error) {
	r, res := pl.r, pl.res
	if ok && cur.SHA256 == p.SHA256 && cur.Size == p.Size && metaIncludes(cur.Metadata, p.Metadata) {
		if r.Policy == OnDemand || !repo.IsOnDemand(cur) {
			res.Unchanged++
			return nil, nil
		}
		// Synced on demand before, immediate now: fetch what is missing.
		has, err := pl.m.st.Objects().HasBlob(ctx, p.SHA256)
		if err != nil {
			return nil, err
		}
		if has {
			res.Unchanged++
			return nil, nil
		}
	}
	if ok {
		res.Updated++
	} else {
		res.Added++
	}
	rec := repo.Record{Path: p.Path, SHA256: p.SHA256, Size: p.Size, Metadata: maps.Clone(p.Metadata)}
	if r.Policy == OnDemand && p.Data == nil {
		if rec.Metadata == nil {
			rec.Metadata = make(map[string]string, 2)
		}
		rec.Metadata[repo.MetaRemote] = r.Name
		rec.Metadata[repo.MetaURL] = p.URL
	} else if j := pl.byID[p.SHA256]; j != nil && j.pkg.Size == p.Size {
		j.paths = append(j.paths, p.Path)
	} else {
		j := &job{pkg: p, paths: []string{p.Path}}
		j.pkg.Metadata = nil
		pl.byID[p.SHA256] = j
		pl.jobs = append(pl.jobs, j)
	}
	return &rec, nil
}

// metaIncludes reports whether have holds every key of want with the
// same value.
func metaIncludes(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// maxFailures is how many failed files make a sync stop starting
// downloads: it fails anyway, and an upstream that is down should not
// cost every file's retries.
const maxFailures = 10

// fetchAll downloads the jobs' blobs the store lacks, at most
// r.DownloadConcurrency at once. Verified blobs go into one shared batch,
// flushed now and then and at the end, whatever happens to other files.
func (m *Manager) fetchAll(ctx context.Context, open openFunc, r *Remote, repoName string, jobs []*job, progress func(SyncProgress), res *SyncResult) error {
	if len(jobs) == 0 {
		return nil
	}
	objs := m.st.Objects()
	keep := objs.NewBatch()

	var (
		mu         sync.Mutex // guards everything below and calls to progress
		failed     []FileError
		fatal      error
		prog       = SyncProgress{Step: fmt.Sprintf("downloading %d file(s) from %s", len(jobs), hostOf(r.URL)), FilesTotal: len(jobs)}
		sinceFlush int
		flushBytes int64
	)
	for _, j := range jobs {
		prog.BytesTotal += j.pkg.Size
	}
	report := func() { // under mu, which a panic must not leave locked
		if progress != nil {
			if err := parallel.Safe(func() error { progress(prog); return nil }); err != nil {
				fatal = cmp.Or(fatal, err)
			}
		}
	}
	report() // the step starts, with its totals before the first byte: a bar shows them (and an ETA) at once

	var kept []objects.ID // adopted since the last flush; guarded by mu
	flush := func(ctx context.Context) error {
		mu.Lock()
		ids := kept
		kept = nil
		mu.Unlock()
		if err := keep.Flush(ctx); err != nil {
			mu.Lock()
			kept = append(ids, kept...) // requeued by the batch: the next flush reports them
			mu.Unlock()
			return fmt.Errorf("store downloads: %w", err)
		}
		m.blobsStored(ids...)
		return nil
	}
	one := func(ctx context.Context, j *job) {
		// A stored blob (kept by a failed sync, say) is reused: freshened,
		// so that a sweep keeps it for the version this sync makes.
		err := objs.Reference(ctx, j.pkg.SHA256)
		has := err == nil
		if errors.Is(err, objects.ErrNotFound) {
			err = nil
		}
		if err == nil && has {
			mu.Lock()
			res.Reused++
			prog.Files++
			prog.BytesTotal -= j.pkg.Size
			report()
			mu.Unlock()
			return
		}
		var got int64
		var b *objects.Batch
		if err == nil {
			b, err = m.download(ctx, open, j.pkg, nil, func(n int64) {
				mu.Lock()
				got += n
				prog.Bytes += n
				report()
				mu.Unlock()
			})
		}
		mu.Lock()
		prog.Files++
		if err != nil {
			defer mu.Unlock()
			prog.Bytes -= got
			prog.BytesTotal -= j.pkg.Size
			report()
			if ctx.Err() != nil {
				return // cancelled: reported once by the caller
			}
			for _, p := range j.paths {
				failed = append(failed, FileError{Path: p, URL: j.pkg.URL, Err: err})
			}
			return
		}
		report()
		keep.Adopt(b)
		kept = append(kept, j.pkg.SHA256)
		res.Downloaded++
		res.BytesDownloaded += j.pkg.Size
		sinceFlush++
		flushBytes += j.pkg.Size
		due := sinceFlush >= m.flushN || flushBytes >= m.flushB
		if due {
			sinceFlush, flushBytes = 0, 0
		}
		mu.Unlock()
		if due {
			if err := flush(ctx); err != nil {
				mu.Lock()
				fatal = cmp.Or(fatal, err)
				mu.Unlock()
			}
		}
	}

	// A ticker flushes what waits, so a killed process loses at most
	// m.flushT of verified downloads.
	tick := time.NewTicker(m.flushT)
	tickDone := make(chan struct{})
	var ticking sync.WaitGroup
	ticking.Add(1)
	go func() {
		defer ticking.Done()
		for {
			select {
			case <-tickDone:
				return
			case <-tick.C:
			}
			mu.Lock()
			waiting := len(kept) > 0
			mu.Unlock()
			if !waiting {
				continue
			}
			if err := parallel.Safe(func() error { return flush(ctx) }); err != nil && ctx.Err() == nil {
				mu.Lock()
				fatal = cmp.Or(fatal, err)
				mu.Unlock()
			}
		}
	}()

	work := make(chan *job)
	var wg sync.WaitGroup
	for range min(max(r.DownloadConcurrency, 1), len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				// A panic fails the sync, as a store error does.
				if err := parallel.Safe(func() error { one(ctx, j); return nil }); err != nil {
					mu.Lock()
					fatal = cmp.Or(fatal, fmt.Errorf("%s: %w", j.pkg.Path, err))
					mu.Unlock()
				}
			}
		}()
	}
	skipped := 0
feed:
	for i, j := range jobs {
		mu.Lock()
		stop := fatal != nil || len(failed) >= maxFailures
		mu.Unlock()
		if stop {
			skipped = countPaths(jobs[i:])
			break
		}
		select {
		case work <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	tick.Stop()
	close(tickDone)
	ticking.Wait()

	// Keep what verified, even if the sync fails or was cancelled.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	if err := flush(fctx); err != nil && fatal == nil {
		fatal = err
	}
	switch {
	case fatal != nil:
		keep.Abort()
		return fmt.Errorf("sync %s into %s: %w", r.Name, repoName, fatal)
	case ctx.Err() != nil:
		return fmt.Errorf("sync %s into %s: %w (%d verified download(s) kept)", r.Name, repoName, ctx.Err(), res.Downloaded)
	case len(failed) > 0:
		sortFiles(failed)
		res.Failed = len(failed)
		for _, f := range failed {
			res.Failures = append(res.Failures, f.Error())
		}
		return &SyncError{Remote: r.Name, Repo: repoName, Total: countPaths(jobs), Files: failed, Kept: res.Downloaded, Skipped: skipped}
	}
	return nil
}

func countPaths(jobs []*job) int {
	n := 0
	for _, j := range jobs {
		n += len(j.paths)
	}
	return n
}

// headRecords reads the records of a repository's head by path (none
// before its first version).
func (m *Manager) headRecords(ctx context.Context, info *repo.RepoInfo) (map[string]repo.Record, error) {
	existing := make(map[string]repo.Record)
	if info.Head == nil {
		return existing, nil
	}
	err := tree.Walk(ctx, m.st.Objects(), info.Head.Tree, func(e tree.Entry) error {
		existing[e.Path] = e
		return nil
	})
	return existing, err
}

// hostOf returns the host (and port) of a URL, or the URL itself.
func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return raw
}
