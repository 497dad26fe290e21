// Package ocitest starts a real container registry for tests, Debian's
// docker-registry (distribution 2.8) on a loopback port, and builds small
// images and indexes of random layers to push to it with
// go-containerregistry.
package ocitest

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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

	"github.com/pkgvc/pkgvc/httpx/httpxtest"
)

// HtpasswdUser and HtpasswdPassword are the Basic login of a registry
// started with StartAuth; htpasswdLine is its bcrypt entry.
const (
	HtpasswdUser     = "puller"
	HtpasswdPassword = "s3cret-pw"
	htpasswdLine     = "puller:$2a$05$u9hEQKAhFtSszNyds0hWrepJR.1ggoRBCodods2hIh3shnyRlMa4y\n"
)

// Registry is a running docker-registry.
type Registry struct {
	Addr string              // host:port
	Root string              // its storage directory
	Auth authn.Authenticator // what Push and DeleteManifest use

	t   testing.TB
	cmd *exec.Cmd
	bin string // the docker-registry binary
	cfg string // its configuration file
}

// Start starts docker-registry, with deletes enabled, until the test
// ends; extra is appended to its configuration (e.g. an auth section). It
// skips the test if the binary is missing.
func Start(t testing.TB, extra string) *Registry {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skip("docker-registry is not installed (apt-get install docker-registry): no upstream registry to test against")
	}
	dir := t.TempDir()
	r := &Registry{
		Addr: fmt.Sprintf("127.0.0.1:%d", httpxtest.FreePort(t)),
		Root: filepath.Join(dir, "root"),
		Auth: authn.Anonymous,
		t:    t,
	}
	r.bin, r.cfg = bin, filepath.Join(dir, "config.yml")
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n%s", r.Root, r.Addr, extra)
	require.NoError(t, os.WriteFile(r.cfg, []byte(cfg), 0o644))
	t.Cleanup(r.Stop)
	r.run()
	return r
}

// run starts the registry process and waits until it answers.
func (r *Registry) run() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin, "serve", r.cfg)
	r.cmd.Stdout, r.cmd.Stderr = io.Discard, io.Discard
	require.NoError(r.t, r.cmd.Start())
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(r.URL() + "/v2/")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("docker-registry did not start on %s: %v", r.Addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Restart starts the stopped registry again on the same port, with the
// same storage.
func (r *Registry) Restart() {
	r.t.Helper()
	r.Stop()
	r.run()
}

// StartAuth starts docker-registry with htpasswd Basic auth for
// HtpasswdUser; the registry's Auth is that login.
func StartAuth(t testing.TB) *Registry {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "htpasswd")
	require.NoError(t, os.WriteFile(pw, []byte(htpasswdLine), 0o644))
	r := Start(t, fmt.Sprintf("auth:\n  htpasswd:\n    realm: x\n    path: %s\n", pw))
	r.Auth = &authn.Basic{Username: HtpasswdUser, Password: HtpasswdPassword}
	return r
}

// Stop stops the registry; it may be called more than once.
func (r *Registry) Stop() {
	if r.cmd.Process != nil && r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
}

// URL is the registry's base URL, "http://host:port".
func (r *Registry) URL() string { return "http://" + r.Addr }

// Repo is repository n of the registry.
func (r *Registry) Repo(n string) name.Repository {
	r.t.Helper()
	repo, err := name.NewRepository(r.Addr+"/"+n, name.Insecure)
	require.NoError(r.t, err)
	return repo
}

// Push writes x, a v1.Image or a v1.ImageIndex, as repository n's tag
// and returns its digest.
func (r *Registry) Push(n, tag string, x any) v1.Hash {
	r.t.Helper()
	ref := r.Repo(n).Tag(tag)
	var (
		d   v1.Hash
		err error
	)
	switch x := x.(type) {
	case v1.Image:
		err = ggcr.Write(ref, x, ggcr.WithAuth(r.Auth))
		d, _ = x.Digest()
	case v1.ImageIndex:
		err = ggcr.WriteIndex(ref, x, ggcr.WithAuth(r.Auth))
		d, _ = x.Digest()
	default:
		r.t.Fatalf("push %T: neither an image nor an index", x)
	}
	require.NoError(r.t, err)
	return d
}

// DeleteManifest deletes a manifest of repository n (and so every tag
// naming it).
func (r *Registry) DeleteManifest(n string, d v1.Hash) {
	r.t.Helper()
	require.NoError(r.t, ggcr.Delete(r.Repo(n).Digest(d.String()), ggcr.WithAuth(r.Auth)))
}

// BlobFile is where the registry keeps blob d.
func (r *Registry) BlobFile(d v1.Hash) string {
	return filepath.Join(r.Root, "docker/registry/v2/blobs/sha256", d.Hex[:2], d.Hex, "data")
}

// RandomBytes returns n random bytes.
func RandomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// Image is a test image together with the layers it was built of.
type Image struct {
	v1.Image
	LayerList []v1.Layer // in order
}

// NewImage builds an image for os/arch of random layers of the given
// sizes: an OCI image if oci, else a Docker v2 one.
func NewImage(t testing.TB, os, arch string, oci bool, sizes ...int) Image {
	t.Helper()
	mt := types.DockerLayer
	if oci {
		mt = types.OCILayer
	}
	var layers []v1.Layer
	for _, n := range sizes {
		layers = append(layers, static.NewLayer(RandomBytes(t, n), mt))
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
	return Image{Image: img, LayerList: layers}
}

// NewIndex is an OCI index of imgs, each with its platform.
func NewIndex(t testing.TB, imgs ...Image) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		require.NoError(t, err)
		adds = append(adds, mutate.IndexAddendum{Add: img.Image, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: cf.OS, Architecture: cf.Architecture}}})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
}
