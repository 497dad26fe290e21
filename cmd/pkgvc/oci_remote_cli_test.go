package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/container/upstream/ocitest"
)

// ociImage is an OCI image of one random layer of n bytes for os/arch.
func ociImage(t *testing.T, os, arch string, n int) ocitest.Image {
	t.Helper()
	return ocitest.NewImage(t, os, arch, true, n)
}

func ref(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s, name.Insecure)
	require.NoError(t, err)
	return r
}

func TestContainerRemoteCLI(t *testing.T) {
	h := newHarness(t)
	type containerRemote struct {
		remoteOut
		UpstreamName string   `json:"upstream_name"`
		IncludeTags  []string `json:"include_tags"`
		ExcludeTags  []string `json:"exclude_tags"`
		Platforms    []string `json:"platforms"`
	}
	var r containerRemote
	h.jsonOK(&r, "remote", "create", "hub", "--kind", "container", "--url", "https://registry-1.docker.io",
		"--upstream-name", "library/alpine", "--include-tag", "3.*", "--include-tag", "edge", "--exclude-tag", "*-rc*",
		"--platform", "linux/amd64", "--platform", "linux/arm/v7")
	require.Equal(t, "container", r.Kind)
	require.Equal(t, "library/alpine", r.UpstreamName)
	require.Equal(t, []string{"3.*", "edge"}, r.IncludeTags)
	require.Equal(t, []string{"*-rc*"}, r.ExcludeTags)
	require.Equal(t, []string{"linux/amd64", "linux/arm/v7"}, r.Platforms)
	out := h.ok("remote", "show", "hub")
	require.Regexp(t, `(?m)^upstream name: +library/alpine$`, out)
	require.Regexp(t, `(?m)^platforms: +linux/amd64 linux/arm/v7$`, out)

	r = containerRemote{}
	h.jsonOK(&r, "remote", "update", "hub", "--include-tag", "latest", "--exclude-tag", "")
	require.Equal(t, []string{"latest"}, r.IncludeTags)
	require.Empty(t, r.ExcludeTags, "'' clears the list")
	require.Equal(t, "library/alpine", r.UpstreamName, "the rest stays")

	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--url", "https://r.example", "--upstream-name", "library/alpine", "--platform", "amd64"}, "os/arch"},
		{[]string{"--url", "https://r.example/v2/library/alpine", "--upstream-name", "library/alpine"}, "registry's root"},
		{[]string{"--url", "https://r.example", "--upstream-name", "Alpine"}, "upstream name"},
	} {
		res := h.run(append([]string{"remote", "create", "bad", "--kind", "container"}, tc.args...)...)
		require.NotEqual(t, 0, res.code, "%v", tc.args)
		require.Contains(t, res.stderr, tc.msg, "%v", tc.args)
	}
	// A python remote still refuses an os/arch platform.
	res := h.run("remote", "create", "py", "--kind", "python", "--url", "https://pypi.org/simple/", "--platform", "linux/amd64")
	require.NotEqual(t, 0, res.code)
	require.Contains(t, res.stderr, "wheel platform tag")
}

// A python remote's settings: set by the flags its kind declares, kept at
// the top level of its JSON, printed by remote show; a setting of another
// kind is refused.
func TestPythonRemoteSettingsCLI(t *testing.T) {
	h := newHarness(t)
	var r struct {
		remoteOut
		Projects   []string `json:"projects"`
		Latest     int      `json:"latest"`
		Prerelease bool     `json:"prerelease"`
		AllowHosts []string `json:"allow_hosts"`
	}
	h.jsonOK(&r, "remote", "create", "pypi", "--kind", "python", "--url", "https://pypi.org/simple/",
		"--project", "django>=4.2,<5", "--project", "requests", "--latest", "2", "--prerelease", "--allow-host", "files.pythonhosted.org")
	require.Equal(t, []string{"django>=4.2,<5", "requests"}, r.Projects)
	require.Equal(t, 2, r.Latest)
	require.True(t, r.Prerelease)
	require.Equal(t, []string{"files.pythonhosted.org"}, r.AllowHosts)
	out := h.ok("remote", "show", "pypi")
	require.Regexp(t, `(?m)^projects: +django>=4.2,<5 requests$`, out)
	require.Regexp(t, `(?m)^platforms: +\(all\)$`, out)
	require.Regexp(t, `(?m)^latest: +2$`, out)
	require.Regexp(t, `(?m)^prerelease: +true$`, out)
	require.Regexp(t, `(?m)^allow hosts: +files.pythonhosted.org$`, out)
	require.NotContains(t, out, "upstream name", "only the settings of its kind")

	res := h.run("remote", "update", "pypi", "--upstream-name", "library/alpine")
	require.NotEqual(t, 0, res.code)
	require.Contains(t, res.stderr, `"upstream_name" is not a setting of python remotes`)

	help := h.ok("remote", "create", "--help")
	require.Contains(t, help, "python: sync only PROJECT")
	require.Contains(t, help, "; container: keep only the images of multi-arch indexes", "one --platform flag, explained for each kind")
}

func TestContainerSyncCLI(t *testing.T) {
	up := ocitest.Start(t, "")
	addr := up.Addr
	amd, arm := ociImage(t, "linux", "amd64", 5000), ociImage(t, "linux", "arm64", 5000)
	idx := ocitest.NewIndex(t, amd, arm)
	three := ociImage(t, "linux", "amd64", 3000)
	require.NoError(t, ggcr.Write(ref(t, addr+"/library/alpine:3"), three))
	require.NoError(t, ggcr.WriteIndex(ref(t, addr+"/library/alpine:edge"), idx))
	require.NoError(t, ggcr.Write(ref(t, addr+"/library/alpine:old"), ociImage(t, "linux", "amd64", 10)))
	d3, err := three.Digest()
	require.NoError(t, err)
	dEdge, err := idx.Digest()
	require.NoError(t, err)
	dArm, err := arm.Digest()
	require.NoError(t, err)

	h := newHarness(t)
	h.ok("repo", "create", "mirrorrepo", "--kind", "container")
	h.ok("remote", "create", "hub", "--kind", "container", "--url", "http://"+addr, "--upstream-name", "library/alpine",
		"--platform", "linux/amd64", "--retries", "0")
	var s syncOut
	h.jsonOK(&s, "sync", "hub", "mirrorrepo")
	require.True(t, s.Changed)
	ls := h.lsMap("mirrorrepo")
	require.Equal(t, d3.Hex, ls["tags/3"])
	require.Equal(t, dEdge.Hex, ls["tags/edge"])
	require.Contains(t, ls, "tags/old")
	require.Contains(t, ls, "manifests/sha256/"+dEdge.Hex)
	require.NotContains(t, ls, "manifests/sha256/"+dArm.Hex, "--platform linux/amd64")
	out := h.ok("ls", "mirrorrepo")
	require.Contains(t, out, "tags/3")

	// No change, no version.
	n := len(h.log("mirrorrepo"))
	h.jsonOK(&s, "sync", "hub", "mirrorrepo")
	require.False(t, s.Changed)
	require.Zero(t, s.Downloaded)
	require.Len(t, h.log("mirrorrepo"), n)

	// A tag deleted upstream goes with --mirror only.
	dOld, err := ggcr.Head(ref(t, addr+"/library/alpine:old"))
	require.NoError(t, err)
	require.NoError(t, ggcr.Delete(ref(t, addr+"/library/alpine@"+dOld.Digest.String())))
	h.jsonOK(&s, "sync", "hub", "mirrorrepo")
	require.False(t, s.Changed)
	h.jsonOK(&s, "sync", "hub", "mirrorrepo", "--mirror")
	require.True(t, s.Changed)
	require.NotContains(t, h.lsMap("mirrorrepo"), "tags/old")

	// Upstream down: a clear error, exit 1, no version.
	up.Stop()
	res := h.run("sync", "hub", "mirrorrepo")
	require.Equal(t, 1, res.code, "%s", res)
	require.Contains(t, res.stderr, addr)
	require.Contains(t, res.stderr, "refuses connections")
}

// TestContainerPullThroughCLI serves a distribution with a container
// remote: a tag, the index and a child by digest are pulled on first
// request and still served once the upstream is gone.
func TestContainerPullThroughCLI(t *testing.T) {
	up := ocitest.Start(t, "")
	addr := up.Addr
	three := ociImage(t, "linux", "amd64", 4000)
	require.NoError(t, ggcr.Write(ref(t, addr+"/library/alpine:3"), three))
	d3, err := three.Digest()
	require.NoError(t, err)

	h := newHarness(t)
	h.ok("repo", "create", "cacherepo", "--kind", "container")
	h.ok("remote", "create", "hub", "--kind", "container", "--url", "http://"+addr, "--upstream-name", "library/alpine", "--retries", "0")
	h.ok("dist", "create", "cache", "--base-path", "cache/alpine", "--repo", "cacherepo", "--remote", "hub")
	base, stderr := startServe(t, h)
	srv := strings.TrimPrefix(base, "http://")

	pullImage(t, srv+"/cache/alpine:3", d3, stderr)
	ls := h.lsMap("cacherepo")
	require.Equal(t, d3.Hex, ls["tags/3"])
	require.Len(t, h.log("cacherepo"), 1, "one version for the pull")

	_, err = ggcr.Head(ref(t, srv+"/cache/alpine:nosuch"))
	require.Error(t, err, "a tag upstream lacks is not found")

	up.Stop()
	got, err := ggcr.Get(ref(t, srv+"/cache/alpine@"+d3.String()))
	require.NoError(t, err, "served with upstream down")
	require.Equal(t, d3, got.Digest)
}

// pullImage pulls image reference r as a client would, checking that its
// digest is want and reading its layers (ggcr verifies their digests as
// it reads); stderr is serve's, for the failure message.
func pullImage(t *testing.T, r string, want v1.Hash, stderr fmt.Stringer) {
	t.Helper()
	img, err := ggcr.Image(ref(t, r))
	require.NoError(t, err, "stderr: %s", stderr.String())
	d, err := img.Digest()
	require.NoError(t, err)
	require.Equal(t, want, d)
	layers, err := img.Layers()
	require.NoError(t, err)
	for _, l := range layers {
		rc, err := l.Compressed()
		require.NoError(t, err)
		_, err = io.Copy(io.Discard, rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
	}
}

// TestContainerPullThroughTokenAuth: a pull-through distribution whose
// upstream is docker-registry with token authentication, as Docker Hub:
// the remote's login is traded for tokens, and what a client pulls from
// pkgvc anonymously comes through it.
func TestContainerPullThroughTokenAuth(t *testing.T) {
	up, tokens := ocitest.StartTokenAuth(t)
	img := ocitest.NewImage(t, "linux", "amd64", true, 5000)
	d := up.Push("library/alpine", "3.20", img)

	h := newHarness(t)
	pw := h.file("pw", []byte(ocitest.TokenPassword+"\n"))
	h.ok("repo", "create", "cacherepo", "--kind", "container")
	h.ok("remote", "create", "hub", "--kind", "container", "--url", up.URL(), "--upstream-name", "library/alpine",
		"--username", ocitest.TokenUser, "--password-file", pw, "--retries", "0")
	h.ok("dist", "create", "cache", "--base-path", "library/alpine", "--repo", "cacherepo", "--remote", "hub")
	base, stderr := startServe(t, h)
	srv := strings.TrimPrefix(base, "http://")
	before := tokens.Issued.Load()

	pullImage(t, srv+"/library/alpine:3.20", d, stderr)
	require.Greater(t, tokens.Issued.Load(), before, "pkgvc asked the token service")
	require.Equal(t, d.Hex, h.lsMap("cacherepo")["tags/3.20"])
}

// TestContainerSyncBearer syncs from another pkgvc's private registry
// distribution: its /v2/ answers with a Bearer challenge, so the remote's
// credentials go to its token service and the token to the registry.
func TestContainerSyncBearer(t *testing.T) {
	a := newHarness(t)
	a.ok("repo", "create", "img", "--kind", "container")
	a.ok("dist", "create", "img", "--base-path", "test/img", "--repo", "img", "--private")
	var tok struct {
		Token string `json:"token"`
	}
	a.jsonOK(&tok, "token", "create", "--name", "ci", "--scope", "*:*:admin")
	base, stderr := startServe(t, a)
	srv := strings.TrimPrefix(base, "http://")
	resp, err := http.Get(base + "/v2/")
	require.NoError(t, err)
	resp.Body.Close()
	require.True(t, strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer "), "upstream challenges with Bearer: %q", resp.Header.Get("WWW-Authenticate"))

	img := ociImage(t, "linux", "amd64", 6000)
	require.NoError(t, ggcr.Write(ref(t, srv+"/test/img:v1"), img, ggcr.WithAuth(&authn.Basic{Username: "ci", Password: tok.Token})), "stderr: %s", stderr.String())
	d, err := img.Digest()
	require.NoError(t, err)

	b := newHarness(t)
	b.ok("repo", "create", "mirror", "--kind", "container")
	pw := b.file("token", []byte(tok.Token+"\n"))
	b.ok("remote", "create", "anon", "--kind", "container", "--url", base, "--upstream-name", "test/img", "--retries", "0")
	res := b.run("sync", "anon", "mirror")
	require.NotEqual(t, 0, res.code, "a private distribution refuses anonymous pulls")
	b.ok("remote", "create", "up", "--kind", "container", "--url", base, "--upstream-name", "test/img",
		"--username", "ci", "--password-file", pw, "--retries", "0")
	var s syncOut
	b.jsonOK(&s, "sync", "up", "mirror")
	require.True(t, s.Changed)
	ls := b.lsMap("mirror")
	require.Equal(t, d.Hex, ls["tags/v1"])
	layers, err := img.Layers()
	require.NoError(t, err)
	ld, err := layers[0].Digest()
	require.NoError(t, err)
	require.Equal(t, ld.Hex, ls["blobs/sha256/"+ld.Hex])
}
