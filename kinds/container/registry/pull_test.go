package registry_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/container"
	"github.com/pkgvc/pkgvc/kinds/container/registry"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/uploads"
)

// upstream is a fake PullFunc: it commits the images it has into the
// repository asked for, or fails while down.
type upstream struct {
	mu     sync.Mutex
	st     *repo.Store
	images map[string][]byte // reference -> manifest bytes (blobs pushed already)
	down   bool
	calls  []string
}

func (u *upstream) pull(ctx context.Context, remote, rp string, names []string) (content.PullResult, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.calls = append(u.calls, names...)
	if u.down {
		return content.PullResult{}, errors.New("connection refused")
	}
	var res content.PullResult
	var recs []repo.Record
	for _, n := range names {
		m, ok := u.images[n]
		if !ok {
			res.NotFound = append(res.NotFound, n)
			continue
		}
		b := u.st.Objects().NewBatch()
		put, err := b.PutBlob(ctx, strings.NewReader(string(m)))
		if err != nil {
			return res, err
		}
		if err := b.Flush(ctx); err != nil {
			return res, err
		}
		recs = append(recs, repo.Record{Path: container.TagPath(n), SHA256: put.ID, Size: put.Size,
			Metadata: container.TagMetadata("application/vnd.oci.image.manifest.v1+json", "sha256:"+put.ID.String())},
			repo.Record{Path: container.ManifestPath(put.ID.String()), SHA256: put.ID, Size: put.Size,
				Metadata: map[string]string{container.MetaMediaType: "application/vnd.oci.image.manifest.v1+json"}})
	}
	if len(recs) > 0 {
		if _, err := u.st.Commit(ctx, rp, repo.CommitRequest{Records: recs}); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (u *upstream) set(f func()) {
	u.mu.Lock()
	defer u.mu.Unlock()
	f()
}

func TestPullThrough(t *testing.T) {
	up := &upstream{images: map[string][]byte{}}
	f := newFixture(t, content.WithPullThrough(up.pull))
	up.st = f.st
	_, err := f.st.CreateRepo(f.ctx, "cache", repo.CreateOptions{Kind: "container"})
	require.NoError(t, err)
	ttl := time.Second
	_, err = f.dists.Create(f.ctx, "cache", dist.DistSpec{BasePath: "cache/alpine", Repo: "cache", Remote: "hub", PullThroughTTL: &ttl})
	require.NoError(t, err)
	m1 := f.image("cache/alpine", "one", "")
	m2 := f.image("cache/alpine", "two", "")
	up.set(func() { up.images["3"] = m1 })

	// A tag the repository lacks is pulled, then served from the new version.
	resp, body := f.do(http.MethodGet, "/v2/cache/alpine/manifests/3", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Equal(t, m1, body)
	require.Equal(t, 1, f.versions("cache"))
	// Unknown upstream: 404, and remembered.
	resp, body = f.do(http.MethodGet, "/v2/cache/alpine/manifests/nope", "", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Equal(t, "MANIFEST_UNKNOWN", errCode(t, body))

	// Within the TTL the tag is served without asking upstream.
	up.set(func() { up.images["3"], up.calls = m2, nil })
	resp, body = f.do(http.MethodGet, "/v2/cache/alpine/manifests/3", "", nil)
	require.Equal(t, m1, body)
	require.Empty(t, up.calls)
	// After it, the tag is checked again and moves.
	time.Sleep(ttl)
	resp, body = f.do(http.MethodGet, "/v2/cache/alpine/manifests/3", "", nil)
	require.Equal(t, m2, body)
	require.Equal(t, []string{"3"}, up.calls)

	// Upstream down: what the repository has is served; what it lacks is 502.
	time.Sleep(ttl)
	up.set(func() { up.down = true })
	resp, body = f.do(http.MethodGet, "/v2/cache/alpine/manifests/3", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, m2, body)
	resp, body = f.do(http.MethodGet, "/v2/cache/alpine/manifests/sha256:"+strings.Repeat("4", 64), "", nil)
	require.Equal(t, http.StatusBadGateway, resp.StatusCode)
	require.Equal(t, "UNAVAILABLE", errCode(t, body))

	// A distribution without a remote never pulls.
	up.set(func() { up.calls = nil })
	resp, _ = f.do(http.MethodGet, "/v2/test/img/manifests/3", "", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Empty(t, up.calls)
}

// Upload sessions idle for longer than the timeout are removed with their
// files.
func TestUploadTimeout(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := newFixtureUp(t, publish.NewRegistry(registry.New(registry.WithClock(clock), registry.WithUploadTimeout(time.Hour))), []uploads.Option{uploads.WithClock(clock)})
	resp, _ := f.do(http.MethodPost, "/v2/test/img/blobs/uploads/", f.admin, nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	loc := resp.Header.Get("Location")
	resp, _ = f.do(http.MethodPatch, loc, f.admin, []byte("part"))
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	files, _ := filepath.Glob(filepath.Join(f.st.Objects().TempDir(), "uploads", "*.part"))
	require.Len(t, files, 1)

	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	resp, _ = f.do(http.MethodPost, "/v2/test/img/blobs/uploads/", f.admin, nil) // sweeps
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	resp, body := f.do(http.MethodGet, loc, f.admin, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Equal(t, "BLOB_UPLOAD_UNKNOWN", errCode(t, body))
	files, _ = filepath.Glob(filepath.Join(f.st.Objects().TempDir(), "uploads", "*.part"))
	require.Len(t, files, 1, "only the new session's file is left")
}
