package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	remoteall "github.com/pkgvc/pkgvc/kinds/all"
	cupstream "github.com/pkgvc/pkgvc/kinds/container/upstream"
	"github.com/pkgvc/pkgvc/kinds/container/upstream/ocitest"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// nsEnv is the fixture's server with namespace caches over a real
// registry, reached through a proxy that counts manifest reads.
type nsEnv struct {
	*fixture
	up     *ocitest.Registry
	m      *remote.Manager
	ds     *dist.Dists // with remotes, to make namespace caches
	mu     sync.Mutex
	counts map[string]int // "GET <path>" of manifests, upstream
	// hook, if set, sees each upstream request first; it reports whether
	// it answered the request itself.
	hook     func(w http.ResponseWriter, r *http.Request) bool
	proxyURL string
}

// lazyCache is the manager, known once the fixture's store is.
type lazyCache struct{ m *remote.Manager }

func (l *lazyCache) CacheRepo(ctx context.Context, rem, d, n string) (*remote.CacheRef, error) {
	return l.m.CacheRepo(ctx, rem, d, n)
}

func (l *lazyCache) PullCache(ctx context.Context, ref *remote.CacheRef, refs []string) (*remote.PullResult, error) {
	return l.m.PullCache(ctx, ref, refs)
}

func newNSEnv(t *testing.T, opts ...content.ServerOption) *nsEnv {
	t.Helper()
	lc := &lazyCache{}
	e := &nsEnv{fixture: newFixture(t, append([]content.ServerOption{content.WithNamespaceCache(lc)}, opts...)...), up: ocitest.Start(t, ""), counts: map[string]int{}}
	target, err := url.Parse(e.up.URL())
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0) // the registry is stopped on purpose
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/manifests/") {
			e.mu.Lock()
			e.counts[r.Method+" "+r.URL.Path]++
			e.mu.Unlock()
		}
		e.mu.Lock()
		hook := e.hook
		e.mu.Unlock()
		if hook != nil && hook(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	e.proxyURL = proxy.URL
	e.m = remote.New(e.st, remoteall.Syncers(), remote.WithRetryBackoff(time.Millisecond, 5*time.Millisecond))
	lc.m = e.m
	e.ds = dist.NewDists(e.st, dist.WithRemotes(e.m))
	_, err = e.m.Create(e.ctx, remote.Remote{Name: "hub", Kind: cupstream.Kind, URL: proxy.URL, Retries: 1})
	require.NoError(t, err)
	return e
}

// setHook makes h see the upstream requests from now on (nil: none).
func (e *nsEnv) setHook(h func(w http.ResponseWriter, r *http.Request) bool) {
	e.mu.Lock()
	e.hook = h
	e.mu.Unlock()
}

// count returns the upstream reads of a manifest: GETs, and HEADs.
func (e *nsEnv) count(path string) (int, int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.counts["GET "+path], e.counts["HEAD "+path]
}

// image reads name:tag (or @digest) through the server and verifies every
// byte of it, as a client pulling it would: the manifest, an index's
// children, configs and layers.
func (e *nsEnv) image(ref string) (v1.Hash, error) {
	n, tag, ok := strings.Cut(ref, "@")
	if !ok {
		n, tag, _ = strings.Cut(ref, ":")
	}
	var top v1.Hash
	var walk func(ref string) error
	walk = func(ref string) error {
		b, err := e.get("/v2/" + n + "/manifests/" + ref)
		if err != nil {
			return err
		}
		h, _, err := v1.SHA256(bytes.NewReader(b))
		if err != nil {
			return err
		}
		if top == (v1.Hash{}) {
			top = h
		}
		if strings.HasPrefix(ref, "sha256:") && h.String() != ref {
			return fmt.Errorf("manifest %s has digest %s", ref, h)
		}
		var m struct {
			Manifests []v1.Descriptor `json:"manifests"`
			Config    *v1.Descriptor  `json:"config"`
			Layers    []v1.Descriptor `json:"layers"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		for _, c := range m.Manifests {
			if err := walk(c.Digest.String()); err != nil {
				return err
			}
		}
		blobs := m.Layers
		if m.Config != nil {
			blobs = append(blobs, *m.Config)
		}
		for _, d := range blobs {
			b, err := e.get("/v2/" + n + "/blobs/" + d.Digest.String())
			if err != nil {
				return err
			}
			if sha(b) != d.Digest.String() || int64(len(b)) != d.Size {
				return fmt.Errorf("blob %s: got %d bytes of %s", d.Digest, len(b), sha(b))
			}
		}
		return nil
	}
	return top, walk(tag)
}

// get reads path anonymously; any status but 200 is an error.
func (e *nsEnv) get(path string) ([]byte, error) {
	resp, err := http.Get(e.srv.URL + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, b)
	}
	return b, nil
}

// cacheRepos returns the repositories recording an upstream, by upstream
// name.
func (e *nsEnv) cacheRepos() map[string][]string {
	e.t.Helper()
	infos, err := e.st.ListRepos(e.ctx)
	require.NoError(e.t, err)
	out := map[string][]string{}
	for _, in := range infos {
		if in.Upstream != nil {
			out[in.Upstream.Dist+":"+in.Upstream.Name] = append(out[in.Upstream.Dist+":"+in.Upstream.Name], in.Name)
		}
	}
	return out
}

// TestNamespaceCache: one remote for the whole registry, a distribution at
// hub caches every image under it on first pull (nested names, a
// multi-arch index), each in a repository of its own with a version;
// names the registry lacks create nothing; with the registry stopped,
// cached images still pull and unseen ones fail clearly.
func TestNamespaceCache(t *testing.T) {
	e := newNSEnv(t)
	one := ocitest.NewImage(t, "linux", "amd64", true, 3000)
	jq := ocitest.NewImage(t, "linux", "amd64", false, 1000, 2000)
	amd := ocitest.NewImage(t, "linux", "amd64", true, 1500)
	arm := ocitest.NewImage(t, "linux", "arm64", true, 1500)
	dA := e.up.Push("library/alpine", "3", one)
	dJ := e.up.Push("team/tools/jq", "1", jq)
	dI := e.up.Push("a/b/c", "multi", ocitest.NewIndex(t, amd, arm))
	ttl := time.Millisecond
	_, err := e.ds.Create(e.ctx, "hub", dist.DistSpec{BasePath: "hub", Remote: "hub", PullThroughTTL: &ttl})
	require.NoError(t, err)

	for ref, want := range map[string]v1.Hash{"hub/library/alpine:3": dA, "hub/team/tools/jq:1": dJ, "hub/a/b/c:multi": dI} {
		got, err := e.image(ref)
		require.NoError(t, err, ref)
		require.Equal(t, want, got, ref)
	}
	dArm, err := arm.Digest()
	require.NoError(t, err)
	got, err := e.image("hub/a/b/c@" + dArm.String())
	require.NoError(t, err, "an index's child, by digest")
	require.Equal(t, dArm, got)

	repos := e.cacheRepos()
	require.Equal(t, map[string][]string{"hub:library/alpine": {"hub.library.alpine"}, "hub:team/tools/jq": {"hub.team.tools.jq"}, "hub:a/b/c": {"hub.a.b.c"}}, repos)
	require.Equal(t, 1, e.versions("hub.library.alpine"), "recorded in a version")
	cfg, err := e.st.RepoConfig(e.ctx, "hub.team.tools.jq")
	require.NoError(t, err)
	require.Equal(t, &repo.Upstream{Name: "team/tools/jq", Remote: "hub", Dist: "hub"}, cfg.Upstream)
	require.Equal(t, "container", cfg.Kind)

	// A name the registry lacks: 404, and no repository.
	resp, body := e.do(http.MethodGet, "/v2/hub/never/seen/manifests/1", "", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode, string(body))
	require.Equal(t, "MANIFEST_UNKNOWN", errCode(t, body))
	resp, _ = e.do(http.MethodGet, "/v2/hub/library/alpine/manifests/nosuchtag", "", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Len(t, e.cacheRepos(), 3, "nothing created for names or tags the registry lacks")
	// A name no namespace cache serves is unknown.
	resp, body = e.do(http.MethodGet, "/v2/elsewhere/x/manifests/1", "", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Equal(t, "NAME_UNKNOWN", errCode(t, body))

	// Pushes into a cache are refused.
	m := e.fixture.image("test/img", "pushed", "")
	resp, body = e.putManifest("hub/library/alpine", "mine", m, e.admin)
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, string(body))

	// Registry stopped: cached images pull (their tags' refresh fails
	// quietly), unseen ones fail clearly.
	e.up.Stop()
	time.Sleep(2 * ttl)
	for ref, want := range map[string]v1.Hash{"hub/library/alpine:3": dA, "hub/team/tools/jq:1": dJ, "hub/a/b/c:multi": dI} {
		got, err := e.image(ref)
		require.NoError(t, err, ref+" with the registry down")
		require.Equal(t, want, got, ref)
	}
	resp, body = e.do(http.MethodGet, "/v2/hub/other/img/manifests/1", "", nil)
	require.Equal(t, http.StatusBadGateway, resp.StatusCode, string(body))
	require.Equal(t, "UNAVAILABLE", errCode(t, body))
	require.Contains(t, string(body), "remote hub")
	require.Len(t, e.cacheRepos(), 3)
}

// TestNamespaceCacheConcurrentFirstPulls: clients asking at once for an
// image never pulled make one upstream read of its manifest and one
// repository.
func TestNamespaceCacheConcurrentFirstPulls(t *testing.T) {
	e := newNSEnv(t)
	d := e.up.Push("library/conc", "1", ocitest.NewImage(t, "linux", "amd64", true, 2000))
	_, err := e.ds.Create(e.ctx, "hub", dist.DistSpec{BasePath: "hub", Remote: "hub"})
	require.NoError(t, err)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	digests := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(e.srv.URL + "/v2/hub/library/conc/manifests/1")
			if err != nil {
				errs[i] = err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs[i] = &url.Error{Op: resp.Status}
			}
			digests[i] = resp.Header.Get("Docker-Content-Digest")
		}()
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, d.String(), digests[i])
	}
	gets, heads := e.count("/v2/library/conc/manifests/1")
	require.Equal(t, 1, gets, "one upstream read of the manifest")
	require.Equal(t, 1, heads, "and one check of its digest")
	require.Equal(t, map[string][]string{"hub:library/conc": {"hub.library.conc"}}, e.cacheRepos())
	require.Equal(t, 1, e.versions("hub.library.conc"))
}

// TestNamespaceCacheAuth: a private namespace cache pulls (and creates
// repositories) only for tokens that read it; its read scope covers every
// image under it.
func TestNamespaceCacheAuth(t *testing.T) {
	e := newNSEnv(t)
	d := e.up.Push("library/alpine", "3", ocitest.NewImage(t, "linux", "amd64", true, 1000))
	priv := true
	_, err := e.ds.Create(e.ctx, "priv", dist.DistSpec{BasePath: "priv", Remote: "hub", Private: &priv})
	require.NoError(t, err)
	mk := func(n, scope string) string {
		sc, err := auth.ParseScope(scope)
		require.NoError(t, err)
		_, secret, err := e.tokens.Create(e.ctx, auth.CreateOptions{Name: n, Scopes: []auth.Scope{sc}})
		require.NoError(t, err)
		return secret
	}
	const p = "/v2/priv/library/alpine/manifests/3"
	resp, _ := e.do(http.MethodGet, p, "", nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = e.do(http.MethodGet, p, mk("elsewhere", "dist:other:read"), nil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Empty(t, e.cacheRepos(), "refused pulls create nothing")
	resp, body := e.do(http.MethodGet, p, mk("ns", "dist:priv:read"), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Equal(t, d.String(), resp.Header.Get("Docker-Content-Digest"))
	require.Equal(t, map[string][]string{"priv:library/alpine": {"priv.library.alpine"}}, e.cacheRepos())
	resp, _ = e.do(http.MethodGet, p, mk("cached", "repo:priv.library.alpine:read"), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "the cache repository's readers read it too")
	resp, _ = e.do(http.MethodGet, p, "", nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "still private once cached")
}

// TestNamespaceCacheRootAndShorthand: a namespace cache at the root takes
// the unprefixed names registry mirrors are sent; distributions under a
// namespace keep their base paths; --docker-hub makes "alpine" mean
// library/alpine.
func TestNamespaceCacheRootAndShorthand(t *testing.T) {
	e := newNSEnv(t)
	dA := e.up.Push("library/alpine", "3", ocitest.NewImage(t, "linux", "amd64", true, 1000))
	_, err := e.m.Create(e.ctx, cupstream.Options{DockerHub: true}.With(remote.Remote{Name: "dh", Kind: cupstream.Kind, URL: e.up.URL(), Retries: 1}))
	require.NoError(t, err)
	_, err = e.ds.Create(e.ctx, "mirror", dist.DistSpec{BasePath: "/", Remote: "dh"})
	require.NoError(t, err)
	_, err = e.ds.Create(e.ctx, "hub", dist.DistSpec{BasePath: "hub", Remote: "hub"})
	require.NoError(t, err)
	_, err = e.ds.Create(e.ctx, "own", dist.DistSpec{BasePath: "hub/own/img", Repo: "other"})
	require.NoError(t, err)

	for _, ref := range []string{"library/alpine:3", "alpine:3"} {
		got, err := e.image(ref)
		require.NoError(t, err, ref)
		require.Equal(t, dA, got, ref)
	}
	require.Equal(t, map[string][]string{"mirror:library/alpine": {"mirror.library.alpine"}}, e.cacheRepos(), "alpine is library/alpine: one repository")

	// Distributions keep their base paths, under the root or a namespace.
	m := e.fixture.image("hub/own/img", "own", "")
	resp, body := e.putManifest("hub/own/img", "v1", m, e.admin)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	resp, body = e.do(http.MethodGet, "/v2/hub/own/img/manifests/v1", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Equal(t, m, body)
	resp, _ = e.do(http.MethodGet, "/v2/test/img/manifests/nosuch", "", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	gets, heads := e.count("/v2/test/img/manifests/nosuch")
	require.Zero(t, gets+heads, "test/img is the fixture's distribution: no upstream asked")
	require.Len(t, e.cacheRepos(), 1)
}

// TestNamespaceCacheClients pulls through a namespace cache with crane
// and skopeo.
func TestNamespaceCacheClients(t *testing.T) {
	bin := crane(t)
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Skip("skopeo is not installed")
	}
	e := newNSEnv(t)
	dA := e.up.Push("library/alpine", "3", ocitest.NewImage(t, "linux", "amd64", false, 2000))
	amd := ocitest.NewImage(t, "linux", "amd64", true, 1500)
	arm := ocitest.NewImage(t, "linux", "arm64", true, 1500)
	dI := e.up.Push("team/tools/multi", "1", ocitest.NewIndex(t, amd, arm))
	dArm, err := arm.Digest()
	require.NoError(t, err)
	_, err = e.ds.Create(e.ctx, "hub", dist.DistSpec{BasePath: "hub", Remote: "hub"})
	require.NoError(t, err)
	dir := t.TempDir()
	cr := runner{t: t, bin: bin, env: []string{"DOCKER_CONFIG=" + filepath.Join(dir, "docker")}}
	require.Equal(t, dA.String(), cr.must("digest", e.host+"/hub/library/alpine:3", "--insecure"))
	require.Equal(t, dI.String(), cr.must("digest", e.host+"/hub/team/tools/multi:1", "--insecure"))
	require.Equal(t, dArm.String(), cr.must("digest", "--platform", "linux/arm64", e.host+"/hub/team/tools/multi:1", "--insecure"))
	cr.must("pull", e.host+"/hub/team/tools/multi:1", filepath.Join(dir, "m.tar"), "--platform", "linux/amd64", "--insecure")
	sk := runner{t: t, bin: skopeo}
	out := sk.must("inspect", "--tls-verify=false", "--raw", "docker://"+e.host+"/hub/library/alpine:3")
	require.Equal(t, dA.String(), sha([]byte(out + "\n")[:len(out)]))
	sk.must("copy", "--src-tls-verify=false", "docker://"+e.host+"/hub/library/alpine:3", "oci:"+filepath.Join(dir, "oci")+":a")
	require.Len(t, e.cacheRepos(), 2)
}

// TestNamespaceCacheStalledUpstream: an upstream that takes connections
// and never answers costs a pull the remote's read timeout, then a 502;
// the server goes on serving.
func TestNamespaceCacheStalledUpstream(t *testing.T) {
	e := newNSEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	_, err = e.m.Create(e.ctx, remote.Remote{Name: "stall", Kind: cupstream.Kind, URL: "http://" + l.Addr().String(), ReadTimeout: remote.Duration(300 * time.Millisecond)})
	require.NoError(t, err)
	_, err = e.ds.Create(e.ctx, "stall", dist.DistSpec{BasePath: "stall", Remote: "stall"})
	require.NoError(t, err)
	start := time.Now()
	resp, body := e.do(http.MethodGet, "/v2/stall/library/x/manifests/1", "", nil)
	require.Equal(t, http.StatusBadGateway, resp.StatusCode, string(body))
	require.Less(t, time.Since(start), 10*time.Second, "bounded by the remote's timeouts")
	require.Empty(t, e.cacheRepos())
	resp, _ = e.do(http.MethodGet, "/v2/", "", nil)
	require.NotEqual(t, 0, resp.StatusCode, "still serving")
}
