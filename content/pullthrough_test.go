package content_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	puball "github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	rpypi "github.com/pkgvc/pkgvc/kinds/python/upstream"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// ptUpstream is an upstream pkgvc serving python distribution "up" with
// alpha, beta and gamma; it counts the requests for each path.
type ptUpstream struct {
	url    string
	wheels map[string][]byte // path in the repository -> content
	mu     sync.Mutex
	hits   map[string]int
	stop   func() // closes the upstream server
}

func newPTUpstream(t *testing.T) *ptUpstream {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := fsstore.OpenDir(ctx, filepath.Join(dir, "store"), puball.Kinds())
	require.NoError(t, err)
	_, err = st.CreateRepo(ctx, "up", repo.CreateOptions{Kind: "python"})
	require.NoError(t, err)
	u := &ptUpstream{wheels: map[string][]byte{}, hits: map[string]int{}}
	var adds []repo.Add
	for i, s := range []pythontest.Spec{{Name: "alpha", Version: "1.0"}, {Name: "beta", Version: "2.0"}, {Name: "gamma", Version: "0.1"}} {
		name, data := s.Wheel()
		p := "packages/" + s.Name + "/" + name
		u.wheels[p] = data
		local := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(local, data, 0o644), i)
		adds = append(adds, repo.Add{Path: p, File: local})
	}
	_, err = st.Commit(ctx, "up", repo.CommitRequest{Adds: adds, Message: "wheels"})
	require.NoError(t, err)
	dists := dist.NewDists(st)
	_, err = dists.Create(ctx, "up", dist.DistSpec{BasePath: "up", Repo: "up"})
	require.NoError(t, err)
	srv := content.NewServer(st, dists, publish.NewPublications(st, puball.Publishers(), 8))
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.hits[r.URL.Path]++
		u.mu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	u.url, u.stop = ts.URL, ts.Close
	return u
}

func (u *ptUpstream) count(p string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hits[p]
}

// ptDownstream is a pkgvc whose distribution "down" follows the empty
// python repository "down" and pulls through remote "up".
type ptDownstream struct {
	ctx   context.Context
	st    *repo.Store
	dists *dist.Dists
	mgr   *remote.Manager
	base  string
}

func newPTDownstream(t *testing.T, up *ptUpstream) *ptDownstream {
	t.Helper()
	ctx := context.Background()
	st, err := fsstore.OpenDir(ctx, filepath.Join(t.TempDir(), "store"), puball.Kinds())
	require.NoError(t, err)
	for _, name := range []string{"down", "dead"} {
		_, err = st.CreateRepo(ctx, name, repo.CreateOptions{Kind: "python"})
		require.NoError(t, err)
	}
	mgr := remote.New(st, remote.NewRegistry(rpypi.Syncer{}))
	_, err = mgr.Create(ctx, remote.Remote{Name: "up", Kind: "python", URL: up.url + "/content/up/simple/"})
	require.NoError(t, err)
	_, err = mgr.Create(ctx, remote.Remote{Name: "dead", Kind: "python", URL: "http://127.0.0.1:1/simple/"})
	require.NoError(t, err)
	dists := dist.NewDists(st)
	_, err = dists.Create(ctx, "down", dist.DistSpec{BasePath: "down", Repo: "down", Remote: "up"})
	require.NoError(t, err)
	_, err = dists.Create(ctx, "dead", dist.DistSpec{BasePath: "dead", Repo: "dead", Remote: "dead"})
	require.NoError(t, err)
	pull := func(ctx context.Context, rem, rp string, projects []string) (content.PullResult, error) {
		res, err := mgr.PullProjects(ctx, rem, rp, projects)
		if err != nil {
			return content.PullResult{}, err
		}
		return content.PullResult{NotFound: res.NotFound, Failed: res.Failed}, nil
	}
	srv := content.NewServer(st, dists, publish.NewPublications(st, puball.Publishers(), 8),
		content.WithFetcher(mgr.FetchBlob), content.WithPullThrough(pull))
	return &ptDownstream{ctx: ctx, st: st, dists: dists, mgr: mgr, base: startServer(t, "content.Serve", srv)}
}

func (d *ptDownstream) head(t *testing.T) (int, map[string]repo.Record) {
	t.Helper()
	info, err := d.st.ShowRepo(d.ctx, "down")
	require.NoError(t, err)
	if info.Head == nil {
		return 0, nil
	}
	rs, err := tree.Sorted(d.ctx, d.st.Objects(), info.Head.Tree)
	require.NoError(t, err)
	out := map[string]repo.Record{}
	for _, r := range rs {
		out[r.Path] = r
	}
	return info.Head.Number, out
}

func TestPullThrough(t *testing.T) {
	up := newPTUpstream(t)
	d := newPTDownstream(t, up)
	alpha := "packages/alpha/alpha-1.0-py3-none-any.whl"
	require.Contains(t, up.wheels, alpha)

	// A project the empty repository lacks is pulled, then served.
	resp, body := get(t, "GET", d.base+"/content/down/simple/alpha/")
	require.Equal(t, 200, resp.StatusCode, "%s", body)
	require.Contains(t, string(body), "alpha-1.0-py3-none-any.whl")
	n, recs := d.head(t)
	require.Equal(t, 1, n)
	require.Len(t, recs, 1)
	rec, ok := recs[alpha]
	require.True(t, ok, "%v", recs)
	require.True(t, repo.IsOnDemand(rec))
	require.Equal(t, "up", rec.Metadata[repo.MetaRemote])

	// Its wheel streams through the on-demand fetcher, and is stored.
	has, err := d.st.Objects().HasBlob(d.ctx, rec.SHA256)
	require.NoError(t, err)
	require.False(t, has)
	resp, body = get(t, "GET", d.base+"/content/down/"+alpha)
	require.Equal(t, 200, resp.StatusCode, "%s", body)
	require.Equal(t, up.wheels[alpha], body)
	require.Equal(t, objects.Sum(up.wheels[alpha]), rec.SHA256)
	has, err = d.st.Objects().HasBlob(d.ctx, rec.SHA256)
	require.NoError(t, err)
	require.True(t, has)

	// A known project is served without asking upstream again.
	before := up.count("/content/up/simple/alpha/")
	resp, _ = get(t, "GET", d.base+"/content/down/simple/alpha/")
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, before, up.count("/content/up/simple/alpha/"))

	// Two projects asked for at once join the repository in one version;
	// a file of a project not held yet pulls its project too.
	gammaWheel := "packages/gamma/gamma-0.1-py3-none-any.whl"
	var wg sync.WaitGroup
	codes := make([]int, 3)
	bodies := make([]string, 3)
	for i, p := range []string{"simple/beta/", "simple/Beta", gammaWheel} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body := get(t, "GET", d.base+"/content/down/"+p)
			codes[i], bodies[i] = resp.StatusCode, string(body)
		}()
	}
	wg.Wait()
	require.Equal(t, []int{200, 301, 200}, codes, "%v", bodies)
	require.Contains(t, bodies[0], "beta-2.0-py3-none-any.whl")
	require.Equal(t, string(up.wheels[gammaWheel]), bodies[2])
	n, recs = d.head(t)
	require.Equal(t, 2, n, "one version for the batch")
	require.Len(t, recs, 3)
	require.Equal(t, 1, up.count("/content/up/simple/beta/"), "one upstream read for both beta requests")

	// Unknown upstream: 404, remembered.
	resp, body = get(t, "GET", d.base+"/content/down/simple/nope/")
	require.Equal(t, 404, resp.StatusCode)
	require.Contains(t, string(body), "remote up")
	resp, _ = get(t, "GET", d.base+"/content/down/simple/nope/")
	require.Equal(t, 404, resp.StatusCode)
	require.Equal(t, 1, up.count("/content/up/simple/nope/"))
	n, _ = d.head(t)
	require.Equal(t, 2, n)

	// Non-project paths are not pulled.
	resp, _ = get(t, "GET", d.base+"/content/down/other/thing")
	require.Equal(t, 404, resp.StatusCode)

	// A pinned distribution refuses to pull.
	_, err = d.dists.Create(d.ctx, "pinned", dist.DistSpec{BasePath: "pinned", Version: "down@2", Remote: "up"})
	require.NoError(t, err)
	resp, _ = get(t, "GET", d.base+"/content/pinned/simple/beta/")
	require.Equal(t, 200, resp.StatusCode)
	resp, body = get(t, "GET", d.base+"/content/pinned/simple/delta/")
	require.Equal(t, 409, resp.StatusCode, "%s", body)
	require.Contains(t, string(body), "pinned")

	// An upstream that is down: 502 with the reason.
	resp, body = get(t, "GET", d.base+"/content/dead/simple/alpha/")
	require.Equal(t, 502, resp.StatusCode)
	require.True(t, strings.Contains(string(body), "remote dead"), "%s", body)
}

// TestPullThroughMetadataOffline: a wheel a pull-through distribution
// holds (synced) has its metadata file (PEP 658) served from the store,
// with no upstream request, and still once the upstream is down.
func TestPullThroughMetadataOffline(t *testing.T) {
	up := newPTUpstream(t)
	d := newPTDownstream(t, up)
	_, err := d.mgr.Sync(d.ctx, "up", "down", remote.SyncOptions{})
	require.NoError(t, err)
	alpha := "packages/alpha/alpha-1.0-py3-none-any.whl"
	resp, body := get(t, "GET", d.base+"/content/down/simple/alpha/")
	require.Equal(t, 200, resp.StatusCode, "%s", body)
	require.Contains(t, string(body), `data-core-metadata="sha256=`, "the index advertises the metadata file")
	meta := pythontest.Spec{Name: "alpha", Version: "1.0"}.Metadata()

	page := up.count("/content/up/simple/alpha/")
	resp, body = get(t, "GET", d.base+"/content/down/"+alpha+".metadata")
	require.Equal(t, 200, resp.StatusCode, "%s", body)
	require.Equal(t, string(meta), string(body))
	require.Equal(t, page, up.count("/content/up/simple/alpha/"), "served from the store: no upstream request")

	up.stop()
	resp, body = get(t, "GET", d.base+"/content/down/"+alpha+".metadata")
	require.Equal(t, 200, resp.StatusCode, "upstream down: %s", body)
	require.Equal(t, string(meta), string(body))
	resp, body = get(t, "GET", d.base+"/content/down/"+alpha)
	require.Equal(t, 200, resp.StatusCode, "upstream down: %s", body)
	require.Equal(t, up.wheels[alpha], body)
}
