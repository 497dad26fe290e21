package oci_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/require"
)

// upstream is a docker-registry (distribution 2.8) on a loopback port.
type upstream struct {
	t    *testing.T
	addr string // host:port
	root string // its storage directory
	cfg  string
	cmd  *exec.Cmd
	auth authn.Authenticator // what pushes use
}

// htpasswdUser and htpasswdLine are a Basic login and its bcrypt entry.
const (
	htpasswdUser     = "puller"
	htpasswdPassword = "s3cret-pw"
	htpasswdLine     = "puller:$2a$05$u9hEQKAhFtSszNyds0hWrepJR.1ggoRBCodods2hIh3shnyRlMa4y\n"
)

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// startRegistry starts docker-registry; extra is appended to its
// configuration (e.g. an auth section). It skips the test if the binary
// is missing.
func startRegistry(t *testing.T, extra string) *upstream {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skip("docker-registry is not installed (apt-get install docker-registry): no upstream registry to test against")
	}
	dir := t.TempDir()
	u := &upstream{t: t, addr: freePort(t), root: filepath.Join(dir, "root"), cfg: filepath.Join(dir, "config.yml"), auth: authn.Anonymous}
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n%s", u.root, u.addr, extra)
	require.NoError(t, os.WriteFile(u.cfg, []byte(cfg), 0o644))
	u.cmd = exec.Command(bin, "serve", u.cfg)
	u.cmd.Stdout, u.cmd.Stderr = io.Discard, io.Discard
	require.NoError(t, u.cmd.Start())
	t.Cleanup(u.stop)
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + u.addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			return u
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry did not start on %s: %v", u.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startAuthRegistry starts docker-registry with htpasswd Basic auth.
func startAuthRegistry(t *testing.T) *upstream {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "htpasswd")
	require.NoError(t, os.WriteFile(pw, []byte(htpasswdLine), 0o644))
	u := startRegistry(t, fmt.Sprintf("auth:\n  htpasswd:\n    realm: x\n    path: %s\n", pw))
	u.auth = &authn.Basic{Username: htpasswdUser, Password: htpasswdPassword}
	return u
}

func (u *upstream) stop() {
	if u.cmd.Process != nil && u.cmd.ProcessState == nil {
		_ = u.cmd.Process.Kill()
		_ = u.cmd.Wait()
	}
}

func (u *upstream) url() string { return "http://" + u.addr }

func (u *upstream) repo(n string) name.Repository {
	r, err := name.NewRepository(u.addr+"/"+n, name.Insecure)
	require.NoError(u.t, err)
	return r
}

// push writes img or an index as repository n's tag.
func (u *upstream) push(n, tag string, x any) v1.Hash {
	u.t.Helper()
	ref := u.repo(n).Tag(tag)
	var (
		d   v1.Hash
		err error
	)
	switch x := x.(type) {
	case v1.Image:
		err = ggcr.Write(ref, x, ggcr.WithAuth(u.auth))
		d, _ = x.Digest()
	case v1.ImageIndex:
		err = ggcr.WriteIndex(ref, x, ggcr.WithAuth(u.auth))
		d, _ = x.Digest()
	}
	require.NoError(u.t, err)
	return d
}

// deleteManifest deletes a manifest (and so every tag naming it).
func (u *upstream) deleteManifest(n string, d v1.Hash) {
	u.t.Helper()
	require.NoError(u.t, ggcr.Delete(u.repo(n).Digest(d.String()), ggcr.WithAuth(u.auth)))
}

// blobFile is where the registry keeps blob d.
func (u *upstream) blobFile(d v1.Hash) string {
	return filepath.Join(u.root, "docker/registry/v2/blobs/sha256", d.Hex[:2], d.Hex, "data")
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// image is a test image of layers of the given sizes, for os/arch.
type image struct {
	v1.Image
	layers []v1.Layer
}

func newImage(t *testing.T, os, arch string, oci bool, sizes ...int) image {
	t.Helper()
	mt := types.DockerLayer
	if oci {
		mt = types.OCILayer
	}
	var layers []v1.Layer
	for _, n := range sizes {
		layers = append(layers, static.NewLayer(randomBytes(t, n), mt))
	}
	base := empty.Image
	if oci {
		base = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	}
	img, err := mutate.AppendLayers(base, layers...)
	require.NoError(t, err)
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = os, arch
	img, err = mutate.ConfigFile(img, cf)
	require.NoError(t, err)
	return image{Image: img, layers: layers}
}

// newIndex is an OCI index of imgs, each with its platform.
func newIndex(t *testing.T, imgs ...image) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		require.NoError(t, err)
		adds = append(adds, mutate.IndexAddendum{Add: img.Image, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: cf.OS, Architecture: cf.Architecture}}})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
}

// counter is a reverse proxy in front of a registry that counts the
// requests by method and kind ("GET blobs", "HEAD manifests", ...).
type counter struct {
	srv *httptest.Server
	mu  sync.Mutex
	n   map[string]int
}

func newCounter(t *testing.T, target string) *counter {
	u, err := url.Parse(target)
	require.NoError(t, err)
	c := &counter{n: make(map[string]int)}
	rp := httputil.NewSingleHostReverseProxy(u)
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := "other"
		for _, k := range []string{"/blobs/", "/manifests/", "/tags/"} {
			if strings.Contains(r.URL.Path, k) {
				kind = strings.Trim(k, "/")
			}
		}
		c.mu.Lock()
		c.n[r.Method+" "+kind]++
		c.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *counter) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = make(map[string]int)
	return n
}

// ctx is a test's context.
func ctx(t *testing.T) context.Context { return t.Context() }
