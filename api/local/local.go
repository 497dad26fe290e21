package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/internal/clockcache"
	"github.com/pkgvc/pkgvc/internal/parallel"
	"github.com/pkgvc/pkgvc/keys"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/tasks"
	"github.com/pkgvc/pkgvc/uploads"
)

// Service is api.Service over one store. Changes are recorded in the
// reflog as made by repo.WhoFrom(ctx) when the context names someone, else
// by the store's identity.
type Service struct {
	api.Tasks
	api.Schedules

	st         *repo.Store
	dists      *dist.Dists
	remotes    *remote.Manager
	tokens     *auth.Store
	keys       *keys.Store
	uploads    *uploads.Engine
	publishers *publish.Registry

	nodeSets *clockcache.Cache[objects.ID, map[objects.ID]bool] // see ServedObject
}

var _ api.Service = (*Service)(nil)

// Option configures a Service.
type Option func(*Service)

// WithTasks sets what runs tasks.
func WithTasks(t api.Tasks) Option { return func(s *Service) { s.Tasks = t } }

// WithSchedules sets what keeps schedules.
func WithSchedules(sc api.Schedules) Option { return func(s *Service) { s.Schedules = sc } }

// Parts are what a Service answers with; the composition root (package
// app) builds them once and shares them with the servers of the process.
type Parts struct {
	Store   *repo.Store
	Dists   *dist.Dists
	Remotes *remote.Manager
	Tokens  *auth.Store
	// Keys is the signing-key store; nil builds one over Store's metadata.
	Keys *keys.Store
	// Uploads is the process's one upload engine (see package uploads);
	// nil for a service that takes no uploads.
	Uploads *uploads.Engine
	// Publishers publish what Checkout writes (the composition root lists
	// them); nil checks out packages only.
	Publishers *publish.Registry
}

// New returns the Service over p. Options run in order, after the
// Service exists, so an option may build tasks on the Service.
func New(p Parts, opts ...Option) *Service {
	s := &Service{
		Tasks: noTasks{}, Schedules: noTasks{},
		st: p.Store, dists: p.Dists, remotes: p.Remotes, tokens: p.Tokens, keys: p.Keys,
		uploads:    p.Uploads,
		publishers: p.Publishers,
		nodeSets:   newNodeSets(),
	}
	if s.keys == nil {
		s.keys = keys.New(p.Store.Meta())
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Uploads returns the store's upload engine (see package uploads): the one
// of this process, shared by the REST API, the OCI registry and twine
// uploads.
func (s *Service) Uploads() *uploads.Engine { return s.uploads }

// Store returns the store.
func (s *Service) Store() *repo.Store { return s.st }

// Dists returns the distribution manager.
func (s *Service) Dists() *dist.Dists { return s.dists }

// Remotes returns the remote manager.
func (s *Service) Remotes() *remote.Manager { return s.remotes }

// Tokens returns the token store.
func (s *Service) Tokens() *auth.Store { return s.tokens }

// Keys returns the key store.
func (s *Service) Keys() *keys.Store { return s.keys }

// Close closes the tasks and schedules implementations that are
// io.Closers; the store itself holds nothing open.
func (s *Service) Close() error {
	var errs []error
	if c, ok := s.Tasks.(io.Closer); ok {
		errs = append(errs, c.Close())
	}
	// One value often implements both.
	if c, ok := s.Schedules.(io.Closer); ok && any(s.Schedules) != any(s.Tasks) {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// CreateRepo creates an empty repository.
func (s *Service) CreateRepo(ctx context.Context, name string, o repo.CreateOptions) (*repo.Config, error) {
	return s.st.CreateRepo(ctx, name, o)
}

// ListRepos describes every repository.
func (s *Service) ListRepos(ctx context.Context) ([]repo.RepoInfo, error) {
	return s.st.ListRepos(ctx)
}

// ShowRepo describes one repository.
func (s *Service) ShowRepo(ctx context.Context, name string) (*repo.RepoInfo, error) {
	return s.st.ShowRepo(ctx, name)
}

// DeleteRepo deletes a repository; distributions following it must go
// first unless force.
func (s *Service) DeleteRepo(ctx context.Context, name string, force bool) error {
	return s.dists.DeleteRepo(ctx, name, force)
}

// Commit makes a new version.
func (s *Service) Commit(ctx context.Context, repoName string, req repo.CommitRequest) (*repo.CommitResult, error) {
	return s.st.Commit(ctx, repoName, req)
}

// Log lists rev's first-parent history, newest first.
func (s *Service) Log(ctx context.Context, rev string, limit int) ([]repo.LogEntry, error) {
	return s.st.Log(ctx, rev, limit)
}

// List lists the packages of a version.
func (s *Service) List(ctx context.Context, rev string) ([]repo.Record, error) {
	return s.st.List(ctx, rev)
}

// ListPage lists a page of the packages of a version.
func (s *Service) ListPage(ctx context.Context, rev string, o repo.ListOptions) ([]repo.Record, string, error) {
	return s.st.ListPage(ctx, rev, o)
}

// Cat opens a package's content, verified as it is read. A package
// synced on demand and not fetched yet is fetched from its remote as the
// reader is read, and stored.
func (s *Service) Cat(ctx context.Context, rev, path string) (io.ReadCloser, repo.Record, error) {
	r, rec, err := s.st.Cat(ctx, rev, path)
	if errors.Is(err, objects.ErrNotFound) && repo.IsOnDemand(rec) {
		pr, pw := io.Pipe()
		go func() {
			pw.CloseWithError(parallel.Safe(func() error { return s.remotes.FetchBlob(ctx, rec, pw) }))
		}()
		return pr, rec, nil
	}
	return r, rec, err
}

// Reflog lists the moves of a repository's head, newest first.
func (s *Service) Reflog(ctx context.Context, name string) ([]repo.ReflogEntry, error) {
	return s.st.Reflog(ctx, name)
}

// Diff lists the paths that differ between two revisions.
func (s *Service) Diff(ctx context.Context, from, to string) (*repo.DiffResult, error) {
	return s.st.Diff(ctx, from, to)
}

// DiffPackages lists the packages that differ between two revisions.
func (s *Service) DiffPackages(ctx context.Context, from, to string) (*repo.PackageDiff, error) {
	return s.st.DiffPackages(ctx, from, to)
}

// Promote moves repositories' heads, atomically.
func (s *Service) Promote(ctx context.Context, pairs []repo.Pair, o repo.PromoteOptions) ([]repo.PromoteResult, error) {
	return s.st.Promote(ctx, pairs, o)
}

// RepoAction runs a content kind's action on a repository (repo.Actor).
func (s *Service) RepoAction(ctx context.Context, repoName, kind, action string, req json.RawMessage) (*repo.CommitResult, error) {
	return s.st.Act(ctx, repoName, kind, action, req)
}

// Rollback makes a new version of repoName with rev's content.
func (s *Service) Rollback(ctx context.Context, repoName, rev string) (*repo.CommitResult, error) {
	return s.st.Rollback(ctx, repoName, rev)
}

// PutBlob stores r's content and returns its sha256. A size (when not
// negative) or digest (when not zero) other than the content's stores
// nothing and fails with an error matching repo.ErrInvalid. The blob is
// pinned for repo.PendingWindow, so that gc, whatever its grace, keeps it
// for the commit that is to name it.
func (s *Service) PutBlob(ctx context.Context, r io.Reader, size int64, want objects.ID) (objects.ID, error) {
	// From the write to the pin: see repo.Store.GC. Short: the server
	// stores finished uploads from local files.
	ctx, release, err := s.st.Objects().Lease(ctx)
	if err != nil {
		return objects.ID{}, err
	}
	defer release()
	b := s.st.Objects().NewBatch()
	if size >= 0 {
		r = io.LimitReader(r, size+1) // one byte more tells a long body
	}
	res, err := b.PutBlob(ctx, r)
	if err != nil {
		b.Abort()
		return objects.ID{}, err
	}
	switch {
	case size >= 0 && res.Size > size:
		b.Abort()
		return objects.ID{}, fmt.Errorf("%w upload: %w: more than the %d bytes announced", repo.ErrInvalid, remote.ErrSizeMismatch, size)
	case size >= 0 && res.Size < size:
		b.Abort()
		return objects.ID{}, fmt.Errorf("%w upload: %w: %d bytes, expected %d", repo.ErrInvalid, remote.ErrSizeMismatch, res.Size, size)
	case !want.IsZero() && res.ID != want:
		b.Abort()
		return objects.ID{}, fmt.Errorf("%w upload: %w: got %s, expected %s", repo.ErrInvalid, remote.ErrDigestMismatch, res.ID, want)
	}
	if err := b.Flush(ctx); err != nil {
		return objects.ID{}, err
	}
	if _, err := s.st.Pin(ctx, res.ID, "upload", repo.PendingWindow); err != nil {
		return objects.ID{}, err
	}
	return res.ID, nil
}

// CreateDist creates a distribution.
func (s *Service) CreateDist(ctx context.Context, name string, spec dist.DistSpec) (*dist.Distribution, error) {
	return s.dists.Create(ctx, name, spec)
}

// ListDists lists distributions.
func (s *Service) ListDists(ctx context.Context) ([]dist.Distribution, error) {
	return s.dists.List(ctx)
}

// ShowDist returns one distribution.
func (s *Service) ShowDist(ctx context.Context, name string) (*dist.Distribution, error) {
	return s.dists.Get(ctx, name)
}

// UpdateDist changes a distribution.
func (s *Service) UpdateDist(ctx context.Context, name string, spec dist.DistSpec) (*dist.Distribution, error) {
	return s.dists.Update(ctx, name, spec)
}

// PruneDist drops what distribution name's settings say is due now.
func (s *Service) PruneDist(ctx context.Context, name string) (*dist.PruneResult, error) {
	return s.dists.Prune(ctx, name, time.Now())
}

// DeleteDist deletes a distribution.
func (s *Service) DeleteDist(ctx context.Context, name string) error {
	return s.dists.Delete(ctx, name)
}

// CreateRemote stores a new remote.
func (s *Service) CreateRemote(ctx context.Context, r remote.Remote) (*remote.Remote, error) {
	return s.remotes.Create(ctx, r)
}

// ListRemotes lists remotes.
func (s *Service) ListRemotes(ctx context.Context) ([]remote.Remote, error) {
	return s.remotes.List(ctx)
}

// ShowRemote returns one remote.
func (s *Service) ShowRemote(ctx context.Context, name string) (*remote.Remote, error) {
	return s.remotes.Show(ctx, name)
}

// UpdateRemote applies p to a remote. A remote a namespace cache uses
// must go on standing for a whole namespace.
func (s *Service) UpdateRemote(ctx context.Context, name string, p api.RemotePatch) (*remote.Remote, error) {
	all, err := s.dists.List(ctx)
	if err != nil {
		return nil, err
	}
	var cache string
	for _, d := range all {
		if d.Remote == name && d.Namespace() {
			cache = d.Name
			break
		}
	}
	return s.remotes.Update(ctx, name, func(r *remote.Remote) error {
		if err := p.Apply(r); err != nil {
			return err
		}
		if cache != "" && !s.remotes.StandsForNamespace(r) {
			return fmt.Errorf("remote %s is %w: distribution %s caches its namespace, so it must stay a whole registry; delete that distribution first", name, dist.ErrInUse, cache)
		}
		return nil
	})
}

// DeleteRemote deletes a remote, with the distributions that use it
// (see dist.Dists.DeleteRemote).
func (s *Service) DeleteRemote(ctx context.Context, name string, force bool) ([]string, error) {
	detached, err := s.dists.DeleteRemote(ctx, name, force)
	if err == nil {
		s.remotes.Forget(name)
	}
	return detached, err
}

// Sync syncs a repository from a remote in this process.
func (s *Service) Sync(ctx context.Context, remoteName, repoName string, o remote.SyncOptions) (*remote.SyncResult, error) {
	return s.remotes.Sync(ctx, remoteName, repoName, o)
}

// CreateToken makes a token and returns its secret.
func (s *Service) CreateToken(ctx context.Context, o api.TokenRequest) (*api.Token, string, error) {
	return s.tokens.Create(ctx, o)
}

// ListTokens lists tokens.
func (s *Service) ListTokens(ctx context.Context) ([]api.Token, error) {
	return s.tokens.List(ctx)
}

// GenerateKey makes a signing key.
func (s *Service) GenerateKey(ctx context.Context, name, typ, algo string) (*api.Key, error) {
	return s.keys.Generate(ctx, name, typ, algo)
}

// ImportKey stores key material.
func (s *Service) ImportKey(ctx context.Context, name string, data []byte) (*api.Key, error) {
	return s.keys.Import(ctx, name, data)
}

// ExportKey returns the public part of a key.
func (s *Service) ExportKey(ctx context.Context, name string) ([]byte, error) {
	return s.keys.Export(ctx, name)
}

// ListKeys lists the signing keys.
func (s *Service) ListKeys(ctx context.Context) ([]api.Key, error) { return s.keys.List(ctx) }

// DeleteKey deletes a signing key.
func (s *Service) DeleteKey(ctx context.Context, name string) error { return s.keys.Delete(ctx, name) }

// RevokeToken revokes a token.
func (s *Service) RevokeToken(ctx context.Context, name string) error {
	return s.tokens.Revoke(ctx, name)
}

// ReflogExpire deletes the reflog entries older than olderThan.
func (s *Service) ReflogExpire(ctx context.Context, olderThan time.Time) (*repo.ReflogExpireResult, error) {
	return s.st.ExpireReflog(ctx, olderThan)
}

// GC deletes what no ref reaches. With store tasks it runs as an
// exclusive task of this process (tasks.Service.RunHere): it waits for the
// tasks running in any process sharing the store, and none starts while
// it runs.
func (s *Service) GC(ctx context.Context, o repo.GCOptions) (*repo.GCResult, error) {
	ts, ok := s.Tasks.(*tasks.Service)
	if !ok {
		if !o.DryRun && s.uploads != nil {
			_ = s.uploads.Sweep(ctx) // best effort, as runGC
		}
		return s.st.GC(ctx, o)
	}
	res, err := ts.RunHere(ctx, gcRequest(o))
	gr, _ := res.(*repo.GCResult)
	return gr, err
}

// Fsck verifies the store; with Repair it fetches damaged or missing blobs
// again from the remotes that offer them, and verifies again.
func (s *Service) Fsck(ctx context.Context, o api.FsckOptions) (*repo.FsckResult, error) {
	res, err := s.st.Fsck(ctx)
	if !o.Repair || res == nil || len(res.Damaged) == 0 {
		return res, err
	}
	rr, rerr := s.remotes.Repair(ctx, res.Damaged)
	if rerr != nil {
		return res, errors.Join(err, fmt.Errorf("repair: %w", rerr))
	}
	again, err := s.st.Fsck(ctx)
	if again != nil {
		again.Repaired, again.Unrepaired = rr.Repaired, rr.Unrepaired
	}
	return again, err
}
