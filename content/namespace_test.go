package content_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// fakeCache is a NamespaceCache over an upstream of names: each pull
// creates the name's repository and commits one record per reference.
type fakeCache struct {
	st    *repo.Store
	names map[string]bool
	pulls atomic.Int32
}

func (c *fakeCache) CacheRepo(ctx context.Context, rem, d, n string) (*remote.CacheRef, error) {
	ref := &remote.CacheRef{Repo: d + "." + strings.ReplaceAll(n, "/", "."), Upstream: repo.Upstream{Name: n, Remote: rem, Dist: d}}
	_, err := c.st.RepoConfig(ctx, ref.Repo)
	ref.Exists = err == nil
	return ref, nil
}

func (c *fakeCache) PullCache(ctx context.Context, ref *remote.CacheRef, refs []string) (*remote.PullResult, error) {
	c.pulls.Add(1)
	time.Sleep(20 * time.Millisecond) // others ask meanwhile
	if !c.names[ref.Upstream.Name] {
		return &remote.PullResult{NotFound: refs}, nil
	}
	up := ref.Upstream
	if _, err := c.st.CreateRepo(ctx, ref.Repo, repo.CreateOptions{Kind: "file", Upstream: &up}); err != nil {
		return nil, err
	}
	var recs []repo.Record
	for _, r := range refs {
		b := c.st.Objects().NewBatch()
		put, err := b.PutBlob(ctx, strings.NewReader("manifest "+r))
		if err != nil {
			return nil, err
		}
		if err := b.Flush(ctx); err != nil {
			return nil, err
		}
		recs = append(recs, repo.Record{Path: "tags/" + r, SHA256: put.ID, Size: put.Size})
	}
	_, err := c.st.Commit(ctx, ref.Repo, repo.CommitRequest{Records: recs})
	return &remote.PullResult{}, err
}

// namespaceStore opens a store whose remote hub stands for a registry,
// cached by the namespace distribution hub at base path hub, and watches
// its refs.
func namespaceStore(t *testing.T) (*repo.Store, *remote.Manager, *dist.Dists, *fsstore.Watch) {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	st, err := fsstore.OpenDir(ctx, dir, all.Kinds())
	require.NoError(t, err)
	rm := remote.New(st, all.Syncers())
	ds := dist.NewDists(st, dist.WithRemotes(rm))
	_, err = rm.Create(ctx, remote.Remote{Name: "hub", Kind: "container", URL: "http://127.0.0.1:1"})
	require.NoError(t, err)
	_, err = ds.Create(ctx, "hub", dist.DistSpec{BasePath: "hub", Remote: "hub"})
	require.NoError(t, err)
	w, err := fsstore.WatchRefs(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close() })
	return st, rm, ds, w
}

// TestNamespaceTarget: names under a namespace cache resolve to the
// distribution of one upstream project, following its cache repository;
// concurrent first pulls of it make one pull; a name the upstream lacks
// makes no repository; other distributions keep their base paths.
func TestNamespaceTarget(t *testing.T) {
	ctx := context.Background()
	st, _, ds, w := namespaceStore(t)
	_, err := st.CreateRepo(ctx, "own", repo.CreateOptions{Kind: "container"})
	require.NoError(t, err)
	_, err = ds.Create(ctx, "own", dist.DistSpec{BasePath: "hub/own", Repo: "own"})
	require.NoError(t, err)
	fc := &fakeCache{st: st, names: map[string]bool{"library/alpine": true}}
	srv := content.NewServer(st, ds, publish.NewPublications(st, publish.NewRegistry(manifestPublisher{}), 8), content.WithRefsWatch(w), content.WithNamespaceCache(fc))

	tg, err := srv.Target(ctx, "hub/library/alpine")
	require.NoError(t, err)
	require.NotNil(t, tg)
	require.Equal(t, "hub", tg.Dist.Name, "the namespace's: its scopes and privacy apply")
	require.Equal(t, "hub.library.alpine", tg.Dist.Repo)
	require.Equal(t, &repo.Upstream{Name: "library/alpine", Remote: "hub", Dist: "hub"}, tg.Dist.Cache)
	require.Nil(t, tg.Version, "nothing pulled yet")
	_, err = st.RepoConfig(ctx, "hub.library.alpine")
	require.ErrorIs(t, err, repo.ErrRepoNotFound, "resolving creates nothing")

	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = srv.Pull(ctx, tg.Dist, "3", 0) }()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, int32(1), fc.pulls.Load(), "one pull for concurrent first requests")
	tg, err = srv.Target(ctx, "hub/library/alpine")
	require.NoError(t, err)
	require.NotNil(t, tg.Version)
	rec, found, err := tg.Lookup(ctx, "tags/3")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, int64(len("manifest 3")), rec.Size)

	tg, err = srv.Target(ctx, "hub/nope/x")
	require.NoError(t, err)
	err = srv.Pull(ctx, tg.Dist, "1", 0)
	require.ErrorIs(t, err, content.ErrNotOnRemote)
	_, err = st.RepoConfig(ctx, tg.Dist.Repo)
	require.ErrorIs(t, err, repo.ErrRepoNotFound)

	tg, err = srv.Target(ctx, "hub/own")
	require.NoError(t, err)
	require.Equal(t, "own", tg.Dist.Name, "a distribution under the namespace keeps its base path")
	require.Nil(t, tg.Dist.Cache)
	tg, err = srv.Target(ctx, "elsewhere/x")
	require.NoError(t, err)
	require.Nil(t, tg)
	tg, err = srv.Target(ctx, "hub/Bad")
	require.NoError(t, err)
	require.NotNil(t, tg, "the fake takes any name: the kind decides")

	// A namespace cache serves no content path of its own.
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	resp, err := http.Get(ts.URL + content.ContentPrefix + "hub/library/alpine/tags/3")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	// Deleted, it serves nothing.
	require.NoError(t, ds.Delete(ctx, "hub"))
	tg, err = srv.Target(ctx, "hub/library/alpine")
	require.NoError(t, err)
	require.Nil(t, tg)

	// A server without namespace caches serves none.
	_, err = ds.Create(ctx, "hub", dist.DistSpec{BasePath: "hub", Remote: "hub"})
	require.NoError(t, err)
	plain := content.NewServer(st, ds, publish.NewPublications(st, publish.NewRegistry(manifestPublisher{}), 8))
	tg, err = plain.Target(ctx, "hub/library/alpine")
	require.NoError(t, err)
	require.Nil(t, tg)
}
