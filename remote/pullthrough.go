package remote

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pkgvc/pkgvc/httpx"
	"github.com/pkgvc/pkgvc/repo"
)

// PullResult reports a PullProjects or PullRefs call.
type PullResult struct {
	SyncResult
	// NotFound lists the requested projects (normalized) or references the
	// upstream does not have (404 or 410 for the project's page).
	NotFound []string `json:"not_found,omitempty"`
	// Failed maps each project or reference that could not be read to the
	// error.
	Failed map[string]error `json:"-"`
}

// PullProjects brings projects of remote remoteName into
// repository repoName, for pull-through: each project's upstream page is
// read (the remote's own specifier for it applies when it lists it; its
// other filters apply too), and its files are recorded on demand (policy
// on_demand whatever the remote's: their bytes are fetched by FetchBlob
// when first asked for), additively, in one new version for all the
// projects. Projects the upstream does not have are named in NotFound,
// projects that failed in Failed; the others are committed regardless.
// The result's ID is the repository's head afterwards. The remote's
// Syncer must be a ProjectNormalizer (python).
func (m *Manager) PullProjects(ctx context.Context, remoteName, repoName string, projects []string) (*PullResult, error) {
	start := time.Now()
	op, err := m.open(ctx, remoteName, repoName, "")
	if err != nil {
		return nil, err
	}
	r, syncer, c, info := op.r, op.syncer, op.client, op.info
	pn, ok := syncer.(ProjectNormalizer)
	if !ok {
		return nil, fmt.Errorf("%w: remote %s: kind %s cannot pull single projects", repo.ErrInvalid, r.Name, r.Kind)
	}

	one := *r
	one.Policy = OnDemand
	res := &PullResult{SyncResult: SyncResult{Remote: r.Name, Repo: repoName, Policy: OnDemand}}
	var pkgs []Package
	seen := make(map[string]bool, len(projects))
	for _, p := range projects {
		norm, ok := pn.NormalizeProject(p)
		if !ok {
			return nil, fmt.Errorf("%w: project %q is not a valid project name", repo.ErrInvalid, p)
		}
		if seen[norm] {
			continue
		}
		seen[norm] = true
		narrow, err := pn.ForProject(one, norm)
		if err != nil {
			return nil, fmt.Errorf("%w: remote %s: %w", repo.ErrInvalid, r.Name, err)
		}
		got, err := syncer.Index(ctx, Upstream{Remote: narrow, Client: c, KnownSize: m.knownSize, Waiting: true})
		var se *httpx.StatusError
		switch {
		case errors.As(err, &se) && (se.StatusCode == http.StatusNotFound || se.StatusCode == http.StatusGone):
			res.NotFound = append(res.NotFound, norm)
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			res.fail(norm, fmt.Errorf("read upstream %s: %w", r.URL, err))
		default:
			pkgs = append(pkgs, got...)
		}
	}
	records, _, err := m.planPull(ctx, &one, info, pkgs, res)
	if err != nil {
		return nil, err
	}
	var got []string
	for p := range seen {
		if _, failed := res.Failed[p]; !failed && !slices.Contains(res.NotFound, p) {
			got = append(got, p)
		}
	}
	return m.commitPull(ctx, r, repoName, records, got, res, start)
}

// ErrRefNotFound reports a reference (a tag, a manifest digest) the
// upstream does not have; it matches repo.ErrNotFound.
var ErrRefNotFound = wrap("reference not found upstream", repo.ErrNotFound)

// PullRefs brings references of remote remoteName (container tags, or
// manifest digests "sha256:<hex>") into repository repoName, for
// pull-through: the remote's Syncer must be a RefIndexer. Each reference
// is resolved upstream with the remote's filters, and what makes it up
// (for a container: its manifest, an index's children, configs and
// layers) is fetched and verified as Sync would (blobs recorded on demand
// if that is the remote's policy), then committed, additively, in one new
// version for all the references. References the upstream lacks are named
// in NotFound, those that failed in Failed; the others are committed
// regardless. Nothing changes when every record is already there. The
// result's ID is the repository's head afterwards.
func (m *Manager) PullRefs(ctx context.Context, remoteName, repoName string, refs []string) (*PullResult, error) {
	op, err := m.open(ctx, remoteName, repoName, "")
	if err != nil {
		return nil, err
	}
	return m.pullRefs(ctx, op, repoName, refs, nil)
}

// pullRefs is PullRefs on an opened remote; create, when not nil, makes
// the repository before the first version lands in it.
func (m *Manager) pullRefs(ctx context.Context, op *opened, repoName string, refs []string, create func(context.Context) error) (*PullResult, error) {
	start := time.Now()
	r, c, info := op.r, op.client, op.info
	ri, ok := op.syncer.(RefIndexer)
	if !ok {
		return nil, fmt.Errorf("%w: remote %s: kind %s cannot pull single references", repo.ErrInvalid, r.Name, r.Kind)
	}
	up := Upstream{Remote: *r, Client: c, KnownSize: m.knownSize, OpenStored: m.st.Objects().OpenBlob}
	res := &PullResult{SyncResult: SyncResult{Remote: r.Name, Repo: repoName, Policy: r.Policy}}
	var (
		pkgs []Package
		got  []string
	)
	seenRef := make(map[string]bool, len(refs))
	seenPath := make(map[string]bool)
	for _, ref := range refs {
		if seenRef[ref] {
			continue
		}
		seenRef[ref] = true
		ps, err := ri.IndexRef(ctx, up, ref)
		switch {
		case errors.Is(err, ErrRefNotFound):
			res.NotFound = append(res.NotFound, ref)
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			res.fail(ref, fmt.Errorf("read upstream %s: %w", r.URL, err))
		default:
			got = append(got, ref)
			// References share blobs and manifests: list each path once.
			for _, p := range ps {
				if !seenPath[p.Path] {
					seenPath[p.Path] = true
					pkgs = append(pkgs, p)
				}
			}
		}
	}
	// From the first download to the version: see repo.Store.GC.
	ctx, release, err := m.st.Objects().LongLease(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	records, jobs, err := m.planPull(ctx, r, info, pkgs, res)
	if err != nil {
		return nil, err
	}
	pkgs = nil
	if err := m.fetchAll(ctx, packageOpener(op.syncer, up), r, repoName, jobs, nil, &res.SyncResult); err != nil {
		return nil, fmt.Errorf("pull %s: %w", r.Name, err)
	}
	if create != nil && len(records) > 0 {
		if err := create(ctx); err != nil {
			return nil, fmt.Errorf("pull %s: create repository %s: %w", r.Name, repoName, err)
		}
	}
	return m.commitPull(ctx, r, repoName, records, got, res, start)
}

// planPull checks the packages a pull read from r's upstream and plans
// them against the repository's head: the records of the new version, and
// the downloads it needs.
func (m *Manager) planPull(ctx context.Context, r *Remote, info *repo.RepoInfo, pkgs []Package, res *PullResult) ([]repo.Record, []*job, error) {
	slices.Sort(res.NotFound)
	if err := checkIndex(pkgs); err != nil {
		return nil, nil, fmt.Errorf("pull %s: upstream index %s: %w", r.Name, r.URL, err)
	}
	if info.Head != nil {
		res.Version, res.ID = info.Head.Number, info.Head.ID
	}
	existing, err := m.headRecords(ctx, info)
	if err != nil {
		return nil, nil, err
	}
	records, jobs, _, err := m.plan(ctx, r, pkgs, existing, false, &res.SyncResult)
	return records, jobs, err
}

// commitPull commits the records a pull of names planned, if any, in one
// version, and completes res.
func (m *Manager) commitPull(ctx context.Context, r *Remote, repoName string, records []repo.Record, names []string, res *PullResult, start time.Time) (*PullResult, error) {
	if len(records) > 0 {
		slices.Sort(names)
		msg := fmt.Sprintf("pull-through %s (%s): %s: %d added, %d updated", r.Name, r.URL, strings.Join(names, ", "), res.Added, res.Updated)
		cres, err := m.st.Commit(ctx, repoName, repo.CommitRequest{Records: records, Message: msg, FromUpstream: true})
		if err != nil {
			return nil, fmt.Errorf("pull %s into %s: %w", r.Name, repoName, err)
		}
		res.Version, res.ID, res.Changed = cres.Version, cres.ID, cres.Changed
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// fail records that name could not be pulled.
func (r *PullResult) fail(name string, err error) {
	if r.Failed == nil {
		r.Failed = make(map[string]error)
	}
	r.Failed[name] = err
}
