package upstream_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stretchr/testify/require"

	remoteall "github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/kinds/container"
	"github.com/pkgvc/pkgvc/kinds/container/upstream"
	"github.com/pkgvc/pkgvc/kinds/container/upstream/ocitest"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// env is a store with a container repository "mirror" and a remote
// manager with a fast retry backoff.
type env struct {
	t  *testing.T
	st *repo.Store
	m  *remote.Manager
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := fsstore.OpenDir(ctx(t), filepath.Join(t.TempDir(), "store"), repo.NewKinds(container.Kind{}))
	require.NoError(t, err)
	_, err = st.CreateRepo(ctx(t), "mirror", repo.CreateOptions{Kind: upstream.Kind})
	require.NoError(t, err)
	return &env{t: t, st: st, m: remote.New(st, remoteall.Syncers(), remote.WithRetryBackoff(time.Millisecond, 5*time.Millisecond))}
}

// settings changes the container settings of a remote.
func settings(change func(*upstream.Options)) func(*remote.Remote) {
	return func(r *remote.Remote) {
		o, err := upstream.RemoteOptionsOf(r)
		if err != nil {
			panic(err)
		}
		change(&o)
		*r = o.With(*r)
	}
}

// remote creates remote "up" for repository n of the registry at url.
func (e *env) remote(url, n string, change ...func(*remote.Remote)) {
	e.t.Helper()
	r := upstream.Options{UpstreamName: n}.With(remote.Remote{Name: "up", Kind: upstream.Kind, URL: url, Retries: 1})
	for _, c := range change {
		c(&r)
	}
	_, err := e.m.Create(ctx(e.t), r)
	require.NoError(e.t, err)
}

func (e *env) sync(mirror bool) (*remote.SyncResult, error) {
	return e.m.Sync(ctx(e.t), "up", "mirror", remote.SyncOptions{Mirror: mirror})
}

func (e *env) syncOK(mirror bool) *remote.SyncResult {
	e.t.Helper()
	res, err := e.sync(mirror)
	require.NoError(e.t, err)
	return res
}

// records returns the head's records by path.
func (e *env) records() map[string]repo.Record {
	e.t.Helper()
	info, err := e.st.ShowRepo(ctx(e.t), "mirror")
	require.NoError(e.t, err)
	out := map[string]repo.Record{}
	if info.Head == nil {
		return out
	}
	require.NoError(e.t, tree.Walk(ctx(e.t), e.st.Objects(), info.Head.Tree, func(en tree.Entry) error {
		out[en.Path] = en
		return nil
	}))
	return out
}

func (e *env) versions() int {
	e.t.Helper()
	info, err := e.st.ShowRepo(ctx(e.t), "mirror")
	require.NoError(e.t, err)
	if info.Head == nil {
		return 0
	}
	return info.Head.Number
}

// stored returns a blob's bytes, or nil if the store lacks it.
func (e *env) stored(id objects.ID) []byte {
	e.t.Helper()
	rc, err := e.st.Objects().OpenBlob(ctx(e.t), id)
	if errors.Is(err, objects.ErrNotFound) {
		return nil
	}
	require.NoError(e.t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(e.t, err)
	return b
}

func idOf(t *testing.T, h v1.Hash) objects.ID {
	id, err := objects.ParseID(h.Hex)
	require.NoError(t, err)
	return id
}

func manifestPath(h v1.Hash) string { return upstream.ManifestsDir + h.Hex }
func blobPath(h v1.Hash) string     { return upstream.BlobsDir + h.Hex }

// imagePaths lists the blob paths of img (config and layers).
func imagePaths(t *testing.T, img ocitest.Image) []string {
	cd, err := img.ConfigName()
	require.NoError(t, err)
	out := []string{blobPath(cd)}
	for _, l := range img.LayerList {
		d, err := l.Digest()
		require.NoError(t, err)
		out = append(out, blobPath(d))
	}
	return out
}

// requireImage checks that img's manifest and blobs are recorded and
// stored with the upstream's bytes.
func (e *env) requireImage(recs map[string]repo.Record, img ocitest.Image) {
	e.t.Helper()
	d, err := img.Digest()
	require.NoError(e.t, err)
	raw, err := img.RawManifest()
	require.NoError(e.t, err)
	mt, err := img.MediaType()
	require.NoError(e.t, err)
	rec, ok := recs[manifestPath(d)]
	require.True(e.t, ok, "manifest %s recorded", d)
	require.Equal(e.t, string(mt), rec.Metadata[upstream.MetaMediaType])
	require.Equal(e.t, raw, e.stored(rec.SHA256), "manifest bytes as upstream has them")
	for _, l := range img.LayerList {
		ld, err := l.Digest()
		require.NoError(e.t, err)
		lr, ok := recs[blobPath(ld)]
		require.True(e.t, ok, "layer %s recorded", ld)
		lmt, err := l.MediaType()
		require.NoError(e.t, err)
		require.Equal(e.t, string(lmt), lr.Metadata[upstream.MetaMediaType])
		rc, err := l.Compressed()
		require.NoError(e.t, err)
		want, err := io.ReadAll(rc)
		require.NoError(e.t, err)
		require.Equal(e.t, want, e.stored(lr.SHA256), "layer bytes")
	}
	cd, err := img.ConfigName()
	require.NoError(e.t, err)
	cr, ok := recs[blobPath(cd)]
	require.True(e.t, ok, "config recorded")
	cfg, err := img.RawConfigFile()
	require.NoError(e.t, err)
	require.Equal(e.t, cfg, e.stored(cr.SHA256))
}

func TestSyncTagsIndexesAndFilters(t *testing.T) {
	up := ocitest.Start(t, "")
	c := newCounter(t, up.URL())
	three := ocitest.NewImage(t, "linux", "amd64", false, 3000, 5000)
	amd := ocitest.NewImage(t, "linux", "amd64", true, 4000)
	arm := ocitest.NewImage(t, "linux", "arm64", true, 4100)
	d3 := up.Push("library/alpine", "3", three)
	idx := ocitest.NewIndex(t, amd, arm)
	dEdge := up.Push("library/alpine", "edge", idx)
	up.Push("library/alpine", "old", ocitest.NewImage(t, "linux", "amd64", false, 100))
	up.Push("library/alpine", "3.19", three)

	e := newEnv(t)
	e.remote(c.srv.URL, "library/alpine", settings(func(r *upstream.Options) {
		r.Platforms = []string{"linux/amd64"}
		r.ExcludeTags = []string{"old"}
	}))
	res := e.syncOK(false)
	require.True(t, res.Changed)
	recs := e.records()

	// Tags: excluded "old" is not there; 3 and 3.19 share a manifest.
	for tag, d := range map[string]v1.Hash{"3": d3, "3.19": d3, "edge": dEdge} {
		rec, ok := recs[upstream.TagsDir+tag]
		require.True(t, ok, "tag %s", tag)
		require.Equal(t, d.String(), rec.Metadata[upstream.MetaDigest])
		require.Equal(t, idOf(t, d), rec.SHA256, "a tag's blob is its manifest")
	}
	require.NotContains(t, recs, upstream.TagsDir+"old")
	require.Equal(t, "application/vnd.docker.distribution.manifest.v2+json", recs[upstream.TagsDir+"3"].Metadata[upstream.MetaMediaType])
	require.Equal(t, "application/vnd.oci.image.index.v1+json", recs[upstream.TagsDir+"edge"].Metadata[upstream.MetaMediaType])

	// The index is kept as upstream has it, with only its amd64 child.
	rawIdx, err := idx.RawManifest()
	require.NoError(t, err)
	require.Equal(t, rawIdx, e.stored(idOf(t, dEdge)))
	e.requireImage(recs, three)
	e.requireImage(recs, amd)
	dArm, err := arm.Digest()
	require.NoError(t, err)
	require.NotContains(t, recs, manifestPath(dArm), "platform filter leaves arm64 out")
	for _, p := range imagePaths(t, arm) {
		require.NotContains(t, recs, p)
	}
	want := 4 + 1 /* index */ + 2 /* images */ + len(imagePaths(t, three)) + len(imagePaths(t, amd))
	require.Len(t, recs, want-1, "tags 3, 3.19, edge; manifests; blobs")
	require.Equal(t, 3+len(imagePaths(t, three))+len(imagePaths(t, amd)), res.Downloaded, "manifests and blobs stored once each")

	// A re-sync changes nothing, downloads nothing and asks only for the
	// tag list and each tag's digest.
	v := e.versions()
	c.reset()
	res = e.syncOK(false)
	require.False(t, res.Changed)
	require.Zero(t, res.Downloaded)
	require.Equal(t, v, e.versions(), "no new version")
	n := c.reset()
	require.Zero(t, n["GET blobs"], "no blob fetched again: %v", n)
	require.Zero(t, n["GET manifests"], "no manifest fetched again: %v", n)
	require.Equal(t, 3, n["HEAD manifests"], "one HEAD per tag: %v", n)

	// Without --mirror a tag gone upstream stays; with it, it goes, and
	// so do the manifests and blobs only it needed.
	up.DeleteManifest("library/alpine", dEdge)
	res = e.syncOK(false)
	require.False(t, res.Changed)
	require.Contains(t, e.records(), upstream.TagsDir+"edge")
	res = e.syncOK(true)
	require.True(t, res.Changed)
	recs = e.records()
	require.NotContains(t, recs, upstream.TagsDir+"edge")
	require.NotContains(t, recs, manifestPath(dEdge))
	for _, p := range imagePaths(t, amd) {
		require.NotContains(t, recs, p)
	}
	require.Contains(t, recs, upstream.TagsDir+"3")
	e.requireImage(recs, three)
}

func TestSyncIncludeTagsAndAllPlatforms(t *testing.T) {
	up := ocitest.Start(t, "")
	amd := ocitest.NewImage(t, "linux", "amd64", true, 1000)
	arm := ocitest.NewImage(t, "linux", "arm64", true, 1000)
	dIdx := up.Push("team/app", "v1.0", ocitest.NewIndex(t, amd, arm))
	up.Push("team/app", "v1.1", ocitest.NewImage(t, "linux", "amd64", true, 10))
	up.Push("team/app", "dev", ocitest.NewImage(t, "linux", "amd64", true, 10))

	e := newEnv(t)
	e.remote(up.URL(), "team/app", settings(func(r *upstream.Options) { r.IncludeTags = []string{"v1.*"}; r.ExcludeTags = []string{"v1.1"} }))
	e.syncOK(false)
	recs := e.records()
	var tags []string
	for p := range recs {
		if t, ok := strings.CutPrefix(p, upstream.TagsDir); ok {
			tags = append(tags, t)
		}
	}
	require.Equal(t, []string{"v1.0"}, tags)
	require.Contains(t, recs, manifestPath(dIdx))
	e.requireImage(recs, amd)
	e.requireImage(recs, arm)
}

func TestSyncOnDemandFetchesBlobsLater(t *testing.T) {
	up := ocitest.StartAuth(t)
	img := ocitest.NewImage(t, "linux", "amd64", true, 20000)
	d := up.Push("library/alpine", "3", img)

	e := newEnv(t)
	pw := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, os.WriteFile(pw, []byte(ocitest.HtpasswdPassword+"\n"), 0o600))
	e.remote(up.URL(), "library/alpine", func(r *remote.Remote) {
		r.Policy = remote.OnDemand
		r.Username, r.PasswordFile = ocitest.HtpasswdUser, pw
	})
	res := e.syncOK(false)
	require.Equal(t, 1, res.Downloaded, "the manifest (tag and digest paths, one blob) is stored at once")
	recs := e.records()
	require.NotNil(t, e.stored(idOf(t, d)), "manifest stored")
	ld, err := img.LayerList[0].Digest()
	require.NoError(t, err)
	lrec := recs[blobPath(ld)]
	require.True(t, repo.IsOnDemand(lrec))
	require.Nil(t, e.stored(lrec.SHA256), "layer not fetched yet")

	var buf bytes.Buffer
	require.NoError(t, e.m.FetchBlob(ctx(t), lrec, &buf))
	rc, err := img.LayerList[0].Compressed()
	require.NoError(t, err)
	want, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.Equal(t, want, buf.Bytes())
	require.Equal(t, want, e.stored(lrec.SHA256), "fetched on demand and stored")
}

// TestSyncTokenAuth syncs from docker-registry with token authentication:
// its /v2/ answers with a Bearer challenge, the remote's login is traded
// at the token service for a token the registry checks, as with Docker
// Hub. A wrong login and anonymous access are refused.
func TestSyncTokenAuth(t *testing.T) {
	up, tokens := ocitest.StartTokenAuth(t)
	resp, err := http.Get(up.URL() + "/v2/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.True(t, strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer "), resp.Header.Get("WWW-Authenticate"))
	a := ocitest.NewImage(t, "linux", "amd64", true, 3000, 2000)
	b := ocitest.NewImage(t, "linux", "arm64", true, 2500)
	up.Push("library/alpine", "3", a)
	di := up.Push("library/alpine", "multi", ocitest.NewIndex(t, a, b))
	pushed := tokens.Issued.Load()
	require.Positive(t, pushed, "pushes went through the token service")

	e := newEnv(t)
	pw := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, os.WriteFile(pw, []byte(ocitest.TokenPassword+"\n"), 0o600))
	e.remote(up.URL(), "library/alpine", func(r *remote.Remote) { r.Username, r.PasswordFile = ocitest.TokenUser, pw })
	res := e.syncOK(false)
	require.True(t, res.Changed)
	require.Greater(t, tokens.Issued.Load(), pushed, "the sync asked the token service")
	recs := e.records()
	e.requireImage(recs, a)
	e.requireImage(recs, b)
	require.NotNil(t, e.stored(idOf(t, di)), "the index is stored")

	// A wrong password: the token service refuses it.
	bad := newEnv(t)
	wrong := filepath.Join(t.TempDir(), "wrong")
	require.NoError(t, os.WriteFile(wrong, []byte("nope\n"), 0o600))
	bad.remote(up.URL(), "library/alpine", func(r *remote.Remote) { r.Username, r.PasswordFile = ocitest.TokenUser, wrong })
	_, err = bad.sync(false)
	require.ErrorContains(t, err, "incorrect username or password", "the token service's answer is passed on")
	require.Equal(t, 0, bad.versions())

	// Anonymous: a token without access, which the registry refuses.
	anon := newEnv(t)
	anon.remote(up.URL(), "library/alpine")
	_, err = anon.sync(false)
	require.ErrorContains(t, err, "UNAUTHORIZED")
	require.Equal(t, 0, anon.versions())
}

func TestSyncBasicAuth(t *testing.T) {
	up := ocitest.StartAuth(t)
	img := ocitest.NewImage(t, "linux", "amd64", false, 1000)
	up.Push("library/alpine", "3", img)

	e := newEnv(t)
	pw := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, os.WriteFile(pw, []byte("wrong\n"), 0o600))
	e.remote(up.URL(), "library/alpine", func(r *remote.Remote) { r.Username, r.PasswordFile = ocitest.HtpasswdUser, pw })
	_, err := e.sync(false)
	require.Error(t, err)
	require.Contains(t, err.Error(), "UNAUTHORIZED")

	// The password file is read again: fixing it is enough.
	require.NoError(t, os.WriteFile(pw, []byte(ocitest.HtpasswdPassword+"\n"), 0o600))
	e.syncOK(false)
	e.requireImage(e.records(), img)

	// Anonymous is refused.
	e2 := newEnv(t)
	e2.remote(up.URL(), "library/alpine")
	_, err = e2.sync(false)
	require.Error(t, err)
	require.Equal(t, 0, e2.versions())
}

func TestSyncRefusesDigestMismatch(t *testing.T) {
	up := ocitest.Start(t, "")
	img := ocitest.NewImage(t, "linux", "amd64", true, 4096)
	up.Push("library/alpine", "3", img)
	ld, err := img.LayerList[0].Digest()
	require.NoError(t, err)
	// Same size, other bytes: only the digest can tell.
	require.NoError(t, os.WriteFile(up.BlobFile(ld), ocitest.RandomBytes(t, 4096), 0o644))

	e := newEnv(t)
	e.remote(up.URL(), "library/alpine")
	_, err = e.sync(false)
	require.ErrorIs(t, err, remote.ErrDigestMismatch)
	var se *remote.SyncError
	require.ErrorAs(t, err, &se)
	require.Equal(t, blobPath(ld), se.Files[0].Path)
	require.Equal(t, 0, e.versions(), "no version")
	require.Nil(t, e.stored(idOf(t, ld)), "bad bytes not kept")
}

func TestSyncUpstreamDown(t *testing.T) {
	up := ocitest.Start(t, "")
	up.Push("library/alpine", "3", ocitest.NewImage(t, "linux", "amd64", true, 10))
	e := newEnv(t)
	e.remote(up.URL(), "library/alpine")
	e.syncOK(false)
	up.Stop()

	start := time.Now()
	_, err := e.sync(false)
	require.Error(t, err)
	require.Contains(t, err.Error(), up.Addr)
	require.Contains(t, err.Error(), "refuses connections")
	require.Less(t, time.Since(start), 20*time.Second)
	require.Equal(t, 1, e.versions())

	// A repository the registry lacks.
	up2 := ocitest.Start(t, "")
	e2 := newEnv(t)
	e2.remote(up2.URL(), "no/such")
	_, err = e2.sync(false)
	require.ErrorIs(t, err, repo.ErrNotFound)
}

func TestPullRefs(t *testing.T) {
	up := ocitest.Start(t, "")
	one := ocitest.NewImage(t, "linux", "amd64", true, 2000)
	amd := ocitest.NewImage(t, "linux", "amd64", true, 3000)
	arm := ocitest.NewImage(t, "linux", "arm64", true, 3000)
	d1 := up.Push("library/alpine", "3", one)
	dIdx := up.Push("library/alpine", "edge", ocitest.NewIndex(t, amd, arm))
	dArm, err := arm.Digest()
	require.NoError(t, err)

	e := newEnv(t)
	e.remote(up.URL(), "library/alpine", settings(func(r *upstream.Options) { r.Platforms = []string{"linux/arm64"} }))

	res, err := e.m.PullRefs(ctx(t), "up", "mirror", []string{"3", "nosuch", "sha256:" + strings.Repeat("ab", 32)})
	require.NoError(t, err)
	require.Equal(t, []string{"nosuch", "sha256:" + strings.Repeat("ab", 32)}, res.NotFound)
	require.Empty(t, res.Failed)
	require.True(t, res.Changed)
	require.Equal(t, 1, e.versions(), "one version")
	recs := e.records()
	require.Equal(t, d1.String(), recs[upstream.TagsDir+"3"].Metadata[upstream.MetaDigest])
	e.requireImage(recs, one)

	// By digest: the index, and its arm64 child only.
	res, err = e.m.PullRefs(ctx(t), "up", "mirror", []string{dIdx.String()})
	require.NoError(t, err)
	require.Empty(t, res.NotFound)
	recs = e.records()
	require.Contains(t, recs, manifestPath(dIdx))
	require.NotContains(t, recs, upstream.TagsDir+"edge", "pulled by digest: no tag")
	require.Contains(t, recs, manifestPath(dArm))
	e.requireImage(recs, arm)
	dAmd, err := amd.Digest()
	require.NoError(t, err)
	require.NotContains(t, recs, manifestPath(dAmd))
	require.Contains(t, recs, upstream.TagsDir+"3", "additive")

	// Again: nothing new.
	v := e.versions()
	res, err = e.m.PullRefs(ctx(t), "up", "mirror", []string{"3", dIdx.String()})
	require.NoError(t, err)
	require.False(t, res.Changed)
	require.Equal(t, v, e.versions())

	// A tag moved upstream is updated in place.
	two := ocitest.NewImage(t, "linux", "amd64", true, 2000)
	d2 := up.Push("library/alpine", "3", two)
	res, err = e.m.PullRefs(ctx(t), "up", "mirror", []string{"3"})
	require.NoError(t, err)
	require.Equal(t, 1, res.Updated)
	recs = e.records()
	require.Equal(t, d2.String(), recs[upstream.TagsDir+"3"].Metadata[upstream.MetaDigest])
	require.Contains(t, recs, manifestPath(d1), "the old manifest stays")

	// Upstream down: every reference fails, nothing is committed.
	up.Stop()
	res, err = e.m.PullRefs(ctx(t), "up", "mirror", []string{"3"})
	require.NoError(t, err)
	require.Contains(t, res.Failed, "3")
	require.False(t, res.Changed)
}

func TestValidateRemote(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name   string
		change func(*remote.Remote, *upstream.Options)
		msg    string
	}{
		{"bad upstream name", func(_ *remote.Remote, o *upstream.Options) { o.UpstreamName = "Library/Alpine" }, "upstream name"},
		{"url with a path", func(r *remote.Remote, _ *upstream.Options) { r.URL = "https://registry.example/library/alpine" }, "registry's root"},
		{"platform", func(_ *remote.Remote, o *upstream.Options) { o.Platforms = []string{"amd64"} }, "os/arch"},
		{"platform with a space", func(_ *remote.Remote, o *upstream.Options) { o.Platforms = []string{"linux/amd64 "} }, "white space"},
		{"tag pattern", func(_ *remote.Remote, o *upstream.Options) { o.IncludeTags = []string{"["} }, "tag pattern"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := remote.Remote{Name: "x", Kind: upstream.Kind, URL: "https://registry.example"}
			o := upstream.Options{UpstreamName: "library/alpine"}
			tc.change(&r, &o)
			_, err := e.m.Create(ctx(t), o.With(r))
			require.ErrorIs(t, err, repo.ErrInvalid)
			require.Contains(t, err.Error(), tc.msg)
		})
	}
	o := upstream.Options{UpstreamName: "library/alpine", Platforms: []string{"linux/arm/v7", "linux/amd64"}, IncludeTags: []string{"3.*"}}
	_, err := e.m.Create(ctx(t), o.With(remote.Remote{Name: "ok", Kind: upstream.Kind, URL: "https://registry.example/"}))
	require.NoError(t, err)
	_, err = e.m.Create(ctx(t), o.With(remote.Remote{Name: "python-setting", Kind: upstream.Kind, URL: "https://registry.example/",
		Options: remote.Options{"projects": []byte(`["django"]`)}}))
	require.NoError(t, err, "With replaces the settings")
	bad := o.With(remote.Remote{Name: "bad", Kind: upstream.Kind, URL: "https://registry.example/"})
	bad.Options["projects"] = []byte(`["django"]`)
	_, err = e.m.Create(ctx(t), bad)
	require.ErrorIs(t, err, repo.ErrInvalid, "a setting the container kind does not declare")
	require.Contains(t, err.Error(), `"projects" is not a setting of container remotes`)
}

// TestSyncResumesDroppedBlob cuts the first blob download halfway: the
// engine asks again for the rest with Range, through the registry's auth,
// and the blob still verifies.
func TestSyncResumesDroppedBlob(t *testing.T) {
	up := ocitest.Start(t, "")
	img := ocitest.NewImage(t, "linux", "amd64", true, 200000)
	up.Push("library/alpine", "3", img)
	ld, err := img.LayerList[0].Digest()
	require.NoError(t, err)

	target, err := url.Parse(up.URL())
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	var (
		mu     sync.Mutex
		cut    bool
		ranges []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+ld.String()) {
			rp.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		first := !cut
		cut = true
		ranges = append(ranges, r.Header.Get("Range"))
		mu.Unlock()
		if !first {
			rp.ServeHTTP(w, r)
			return
		}
		rc, err := img.LayerList[0].Compressed()
		require.NoError(t, err)
		defer rc.Close()
		w.Header().Set("Content-Length", "200000")
		w.WriteHeader(http.StatusOK)
		_, _ = io.CopyN(w, rc, 100000)
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drop the connection mid-body
	}))
	t.Cleanup(srv.Close)

	e := newEnv(t)
	e.remote(srv.URL, "library/alpine")
	res := e.syncOK(false)
	require.True(t, res.Changed)
	e.requireImage(e.records(), img)
	require.Equal(t, []string{"", "bytes=100000-"}, ranges, "the second request resumes")
}
