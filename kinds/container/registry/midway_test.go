package registry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	cupstream "github.com/pkgvc/pkgvc/kinds/container/upstream"
	"github.com/pkgvc/pkgvc/kinds/container/upstream/ocitest"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// An upstream that stops in the middle of a first pull through a
// namespace cache: the pull fails clearly or completes, serve stays up,
// the store keeps no partial blob, and a pull once the upstream is back
// gets what the upstream has.

// cutBody answers a blob GET (or a Range of it from "bytes=N-") as the
// registry would, but the connection drops after n bytes of the body, or
// half of it if that is less.
func cutBody(w http.ResponseWriter, r *http.Request, file string, n int64) {
	b, err := os.ReadFile(file)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	status, total := http.StatusOK, int64(len(b))
	if rg := r.Header.Get("Range"); strings.HasPrefix(rg, "bytes=") {
		from, _, _ := strings.Cut(strings.TrimPrefix(rg, "bytes="), "-")
		start, err := strconv.ParseInt(from, 10, 64)
		if err == nil && start < total {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, total-1, total))
			b, status = b[start:], http.StatusPartialContent
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(status)
	_, _ = w.Write(b[:min(n, int64(len(b)/2))])
	w.(http.Flusher).Flush()
	panic(http.ErrAbortHandler) // the connection drops mid-body
}

// dropConn answers as a stopped upstream does: the connection closes
// with no answer.
func dropConn(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }

// fsckClean requires fsck of the store to find nothing wrong.
func (e *nsEnv) fsckClean() {
	e.t.Helper()
	res, err := e.st.Fsck(e.ctx)
	require.NoError(e.t, err)
	require.Empty(e.t, res.Problems, "fsck")
}

// serving requires the server to answer still.
func (e *nsEnv) serving() {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + "/v2/")
	require.NoError(e.t, err, "serve is up")
	resp.Body.Close()
}

// pulledByCrane requires crane to pull ref (base path, name and tag)
// through the server into file, with digest want, which the server
// serves ref by.
func (e *nsEnv) pulledByCrane(cr runner, ref, want, file string) {
	e.t.Helper()
	cr.must("pull", e.host+"/"+ref, file, "--insecure")
	require.Equal(e.t, want, cr.must("digest", e.host+"/"+ref, "--insecure"))
	got, err := e.image(ref)
	require.NoError(e.t, err)
	require.Equal(e.t, want, got.String())
}

// noBlob requires blob d not to be in the store.
func (e *nsEnv) noBlob(d string) {
	e.t.Helper()
	_, err := e.st.Objects().StatBlob(e.ctx, mustID(e.t, d))
	require.True(e.t, errors.Is(err, objects.ErrNotFound), "blob %s kept: %v", d, err)
}

// layerCut is a hook cutting every (or only the first) GET of blob d of
// image n after half its bytes; it records the Range of each GET.
type layerCut struct {
	mu     sync.Mutex
	path   string
	file   string
	half   int64
	always bool
	cuts   int
	ranges []string
}

func (c *layerCut) hook(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet || r.URL.Path != c.path {
		return false
	}
	c.mu.Lock()
	c.ranges = append(c.ranges, r.Header.Get("Range"))
	cut := c.always || c.cuts == 0
	c.cuts++
	c.mu.Unlock()
	if !cut {
		return false
	}
	cutBody(w, r, c.file, c.half)
	return true
}

func (c *layerCut) seen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.ranges...)
}

// TestNamespaceCacheLayerCut: the upstream drops the connection halfway
// through a layer. Once, the pull resumes from where it stopped (a Range
// GET) and crane's pull succeeds; every time, the pull fails clearly
// (502 UNAVAILABLE) and keeps nothing of the layer; fsck stays clean, and
// the pull succeeds once the upstream is healthy.
func TestNamespaceCacheLayerCut(t *testing.T) {
	bin := crane(t)
	e := newNSEnv(t)
	_, err := e.ds.Create(e.ctx, "hub", dist.DistSpec{BasePath: "hub", Remote: "hub"})
	require.NoError(t, err)
	dir := t.TempDir()
	cr := runner{t: t, bin: bin, env: []string{"DOCKER_CONFIG=" + filepath.Join(dir, "docker")}}
	const size = 400_000
	push := func(n string) (string, *layerCut) {
		img := ocitest.NewImage(t, "linux", "amd64", true, size)
		d := e.up.Push(n, "1", img)
		ld, err := img.LayerList[0].Digest()
		require.NoError(t, err)
		return d.String(), &layerCut{path: "/v2/" + n + "/blobs/" + ld.String(), file: e.up.BlobFile(ld), half: size / 2}
	}

	// Cut every time: a clear failure, nothing kept.
	dBad, bad := push("library/cutalways")
	bad.always = true
	e.setHook(bad.hook)
	_, err = cr.run("pull", e.host+"/hub/library/cutalways:1", filepath.Join(dir, "bad.tar"), "--insecure")
	require.Error(t, err, "crane pull of a layer the upstream always cuts")
	resp, body := e.do(http.MethodGet, "/v2/hub/library/cutalways/manifests/1", "", nil)
	require.Equal(t, http.StatusBadGateway, resp.StatusCode, string(body))
	require.Equal(t, "UNAVAILABLE", errCode(t, body))
	require.Contains(t, string(body), "remote hub")
	require.Contains(t, string(body), "unexpected EOF", "the dropped connection, not a size mismatch, is the cause")
	require.NotEmpty(t, bad.seen())
	e.serving()
	e.noBlob(strings.TrimPrefix(bad.path, "/v2/library/cutalways/blobs/"))
	e.fsckClean()

	// The upstream is healthy again: the pull succeeds.
	e.setHook(nil)
	require.Equal(t, dBad, cr.must("digest", e.host+"/hub/library/cutalways:1", "--insecure"))
	cr.must("pull", e.host+"/hub/library/cutalways:1", filepath.Join(dir, "bad.tar"), "--insecure")
	got, err := e.image("hub/library/cutalways:1")
	require.NoError(t, err)
	require.Equal(t, dBad, got.String())
	e.fsckClean()

	// Cut once: the pull resumes with a Range GET and succeeds at once.
	dOnce, once := push("library/cutonce")
	e.setHook(once.hook)
	e.pulledByCrane(cr, "hub/library/cutonce:1", dOnce, filepath.Join(dir, "once.tar"))
	ranges := once.seen()
	require.Len(t, ranges, 2, "one cut GET, one resumed: %q", ranges)
	require.Equal(t, []string{"", fmt.Sprintf("bytes=%d-", size/2)}, []string{ranges[0], strings.SplitN(ranges[1], ",", 2)[0]}, "resumed where the cut was")
	e.fsckClean()
	e.serving()
}

// killer is a hook that kills the upstream registry once, at the first
// GET of one of its blobs (cutting that GET after cut bytes, or before any with
// cut < 0) and, while it is down, drops every connection as a stopped
// process does.
type killer struct {
	mu     sync.Mutex
	up     *ocitest.Registry
	prefix string // of the blob paths that trigger it
	file   func(path string) string
	cut    int64
	down   bool
	killed int
}

func (k *killer) hook(w http.ResponseWriter, r *http.Request) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.down {
		dropConn(w, r)
	}
	if k.killed > 0 || r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, k.prefix) || !strings.Contains(r.URL.Path, "/blobs/") {
		return false
	}
	k.up.Stop()
	k.down = true
	k.killed++
	if k.cut < 0 {
		dropConn(w, r)
	}
	cutBody(w, r, k.file(r.URL.Path), k.cut)
	return true
}

// restart starts the upstream again on its port.
func (k *killer) restart() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.up.Restart()
	k.down = false
}

// blobFile is the registry's file of the blob a blob URL path names.
func blobFile(up *ocitest.Registry) func(string) string {
	return func(p string) string {
		_, d, _ := strings.Cut(p, "/blobs/")
		h, err := v1.NewHash(d)
		if err != nil {
			return ""
		}
		return up.BlobFile(h)
	}
}

// TestNamespaceCacheUpstreamKilledBeforeLayers: a namespace cache pulls
// an image at once (the default immediate policy: the first manifest GET
// fetches its config and layers before answering), so an upstream killed
// once it served the manifest, at the first blob GET, fails that pull:
// the tag is 502 UNAVAILABLE, as are its blobs, within the remote's
// timeouts; nothing is kept half; once the upstream restarts on its
// port, crane pulls the image with the upstream's digests.
func TestNamespaceCacheUpstreamKilledBeforeLayers(t *testing.T) {
	bin := crane(t)
	e := newNSEnv(t)
	_, err := e.ds.Create(e.ctx, "hub", dist.DistSpec{BasePath: "hub", Remote: "hub"})
	require.NoError(t, err)
	img := ocitest.NewImage(t, "linux", "amd64", true, 200_000, 100_000)
	d := e.up.Push("library/killed", "1", img)
	k := &killer{up: e.up, prefix: "/v2/library/killed/", file: blobFile(e.up), cut: -1}
	e.setHook(k.hook)

	start := time.Now()
	resp, body := e.do(http.MethodGet, "/v2/hub/library/killed/manifests/1", "", nil)
	require.Equal(t, http.StatusBadGateway, resp.StatusCode, string(body))
	require.Equal(t, "UNAVAILABLE", errCode(t, body))
	require.Contains(t, string(body), "remote hub")
	require.Less(t, time.Since(start), 10*time.Second, "bounded by the remote's timeouts")
	require.Equal(t, 1, k.killed)
	require.Empty(t, e.cacheRepos(), "no repository for a pull that failed")
	for _, l := range img.LayerList {
		ld, err := l.Digest()
		require.NoError(t, err)
		start := time.Now()
		resp, body := e.do(http.MethodGet, "/v2/hub/library/killed/blobs/"+ld.String(), "", nil)
		require.Equal(t, http.StatusBadGateway, resp.StatusCode, string(body))
		require.Equal(t, "UNAVAILABLE", errCode(t, body))
		require.Less(t, time.Since(start), 10*time.Second)
		e.noBlob(ld.String())
	}
	e.serving()
	e.fsckClean()

	k.restart()
	dir := t.TempDir()
	cr := runner{t: t, bin: bin, env: []string{"DOCKER_CONFIG=" + filepath.Join(dir, "docker")}}
	e.pulledByCrane(cr, "hub/library/killed:1", d.String(), filepath.Join(dir, "img.tar"))
	e.fsckClean()
}

// TestNamespaceCacheOnDemandUpstreamKilled: with the on_demand policy a
// namespace cache's pull records the manifest and leaves config and
// layers upstream, fetched by the blob GETs. The upstream killed in the
// middle of a layer's body cuts that response (a broken transfer, never
// a complete wrong blob); blob GETs then answer 502 UNAVAILABLE in the
// OCI format within the remote's timeouts; the tag still resolves; once
// the upstream restarts crane pulls the image with its digests, and
// nothing partial was kept.
func TestNamespaceCacheOnDemandUpstreamKilled(t *testing.T) {
	bin := crane(t)
	var e *nsEnv
	e = newNSEnv(t, content.WithFetcher(func(ctx context.Context, rec repo.Record, w io.Writer) error {
		return e.m.FetchBlob(ctx, rec, w)
	}))
	_, err := e.m.Create(e.ctx, remote.Remote{Name: "lazy", Kind: cupstream.Kind, URL: e.proxyURL, Policy: remote.OnDemand, Retries: 1, ReadTimeout: remote.Duration(2 * time.Second)})
	require.NoError(t, err)
	_, err = e.ds.Create(e.ctx, "lazy", dist.DistSpec{BasePath: "lazy", Remote: "lazy"})
	require.NoError(t, err)
	img := ocitest.NewImage(t, "linux", "amd64", true, 300_000)
	d := e.up.Push("library/ondemand", "1", img)
	ld, err := img.LayerList[0].Digest()
	require.NoError(t, err)

	resp, body := e.do(http.MethodGet, "/v2/lazy/library/ondemand/manifests/1", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Equal(t, d.String(), resp.Header.Get("Docker-Content-Digest"))
	require.Equal(t, map[string][]string{"lazy:library/ondemand": {"lazy.library.ondemand"}}, e.cacheRepos())
	e.noBlob(ld.String()) // left upstream

	// Killed halfway through the layer: the response is cut.
	k := &killer{up: e.up, prefix: "/v2/library/ondemand/blobs/" + ld.String(), file: blobFile(e.up), cut: 150_000}
	e.setHook(k.hook)
	lr, err := http.Get(e.srv.URL + "/v2/lazy/library/ondemand/blobs/" + ld.String())
	require.NoError(t, err)
	b, err := io.ReadAll(lr.Body)
	lr.Body.Close()
	require.Error(t, err, "a broken transfer, not a complete body of %d bytes", len(b))
	require.Equal(t, 1, k.killed)
	e.noBlob(ld.String())

	// Down: the tag resolves from the cache, blobs are 502 UNAVAILABLE.
	resp, body = e.do(http.MethodGet, "/v2/lazy/library/ondemand/manifests/1", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Equal(t, d.String(), resp.Header.Get("Docker-Content-Digest"))
	cfg, err := img.ConfigName()
	require.NoError(t, err)
	for _, bd := range []string{ld.String(), cfg.String()} {
		start := time.Now()
		resp, body = e.do(http.MethodGet, "/v2/lazy/library/ondemand/blobs/"+bd, "", nil)
		require.Equal(t, http.StatusBadGateway, resp.StatusCode, string(body))
		require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		require.Equal(t, "UNAVAILABLE", errCode(t, body))
		require.Less(t, time.Since(start), 10*time.Second, "bounded by the remote's timeouts")
		e.noBlob(bd)
	}
	e.serving()
	e.fsckClean()

	k.restart()
	dir := t.TempDir()
	cr := runner{t: t, bin: bin, env: []string{"DOCKER_CONFIG=" + filepath.Join(dir, "docker")}}
	e.pulledByCrane(cr, "lazy/library/ondemand:1", d.String(), filepath.Join(dir, "img.tar"))
	_, err = e.st.Objects().StatBlob(e.ctx, mustID(t, ld.String()))
	require.NoError(t, err, "fetched and kept once whole")
	e.fsckClean()
}

// TestNamespaceCacheSkopeoIndexUpstreamDies: skopeo copies a multi-arch
// index through a namespace cache (immediate and on_demand) while the
// upstream dies in the middle of a blob: the copy fails with a clear
// error, serve stays up, fsck stays clean; once the upstream restarts the
// same copy succeeds with the upstream's digests.
func TestNamespaceCacheSkopeoIndexUpstreamDies(t *testing.T) {
	skopeo, err := exec.LookPath("skopeo")
	require.NoError(t, err, "skopeo is installed")
	var e *nsEnv
	e = newNSEnv(t, content.WithFetcher(func(ctx context.Context, rec repo.Record, w io.Writer) error {
		return e.m.FetchBlob(ctx, rec, w)
	}))
	_, err = e.m.Create(e.ctx, remote.Remote{Name: "lazy", Kind: cupstream.Kind, URL: e.proxyURL, Policy: remote.OnDemand, Retries: 1, ReadTimeout: remote.Duration(2 * time.Second)})
	require.NoError(t, err)
	for _, rem := range []string{"hub", "lazy"} {
		_, err = e.ds.Create(e.ctx, rem, dist.DistSpec{BasePath: rem, Remote: rem})
		require.NoError(t, err)
	}
	for i, rem := range []string{"hub", "lazy"} {
		t.Run(rem, func(t *testing.T) {
			sk := runner{t: t, bin: skopeo}
			n := fmt.Sprintf("team/multi%d", i)
			amd := ocitest.NewImage(t, "linux", "amd64", true, 200_000, 3000)
			arm := ocitest.NewImage(t, "linux", "arm64", true, 200_000, 3000)
			dI := e.up.Push(n, "1", ocitest.NewIndex(t, amd, arm))
			k := &killer{up: e.up, prefix: "/v2/" + n + "/", file: blobFile(e.up), cut: 100_000}
			e.setHook(k.hook)
			ref := "docker://" + e.host + "/" + rem + "/" + n + ":1"
			dir := t.TempDir()
			start := time.Now()
			_, err := sk.run("copy", "--all", "--src-tls-verify=false", ref, "dir:"+filepath.Join(dir, "bad"))
			require.Error(t, err, "the upstream died mid-way")
			// Before the answer began, an OCI error; after, a cut body.
			require.Regexp(t, `502 Bad Gateway|UNAVAILABLE|unexpected EOF`, err.Error())
			t.Logf("skopeo: %v", err)
			require.Less(t, time.Since(start), 30*time.Second)
			require.Equal(t, 1, k.killed)
			e.serving()
			e.fsckClean()

			k.restart()
			e.setHook(nil)
			out := filepath.Join(dir, "good")
			sk.must("copy", "--all", "--src-tls-verify=false", ref, "dir:"+out)
			// skopeo rewrites an index carrying artifactType (as it does
			// from the upstream itself): the copied layers and the raw
			// manifests tell that what it read is the upstream's.
			for _, img := range []ocitest.Image{amd, arm} {
				d, err := img.Digest()
				require.NoError(t, err)
				raw := sk.must("inspect", "--tls-verify=false", "--raw", "docker://"+e.host+"/"+rem+"/"+n+"@"+d.String())
				require.Equal(t, d.String(), sha([]byte(raw)))
				for _, l := range img.LayerList {
					ld, err := l.Digest()
					require.NoError(t, err)
					b, err := os.ReadFile(filepath.Join(out, ld.Hex))
					require.NoError(t, err, "layer %s copied", ld)
					require.Equal(t, ld.String(), sha(b))
				}
			}
			raw := sk.must("inspect", "--tls-verify=false", "--raw", ref)
			require.Equal(t, dI.String(), sha([]byte(raw)), "the upstream's index")
			got, err := e.image(rem + "/" + n + ":1")
			require.NoError(t, err)
			require.Equal(t, dI, got)
			e.fsckClean()
		})
	}
}
