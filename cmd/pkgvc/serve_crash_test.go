package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"
)

// TestProcessPullThroughUnreachableUpstream: a container pull-through
// distribution whose registry cannot be reached (nothing listening, or a
// host that accepts connections and never answers) is asked for a tag it
// lacks. `pkgvc serve` answers an error status in bounded time and keeps
// serving.
func TestProcessPullThroughUnreachableUpstream(t *testing.T) {
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = hang.Close() })
	go func() { // accepts and never answers
		var held []net.Conn
		for {
			c, err := hang.Accept()
			if err != nil {
				for _, c := range held {
					_ = c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	upstreams := map[string]string{
		"dead": "http://" + freeAddr(t),
		"hang": "http://" + hang.Addr().String(),
	}
	var cmds [][]string
	for name, u := range upstreams {
		cmds = append(cmds,
			[]string{"repo", "create", name, "--kind", "container"},
			[]string{"remote", "create", name, "--kind", "container", "--url", u, "--upstream-name", "library/alpine",
				"--retries", "0", "--connect-timeout", "1s", "--read-timeout", "1s"},
			[]string{"dist", "create", name, "--base-path", "mirror/" + name, "--repo", name, "--remote", name})
	}
	store := procStore(t, cmds...)
	p, base := startServeProc(t, store)

	c := &http.Client{Timeout: time.Minute}
	for name := range upstreams {
		for _, tag := range []string{"latest", "3.20"} {
			resp, err := c.Get(base + "/v2/mirror/" + name + "/manifests/" + tag)
			require.NoError(t, err, "%s %s: serve answers; stderr: %s", name, tag, p.stderr.String())
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			require.GreaterOrEqual(t, resp.StatusCode, 400, "%s %s", name, tag)
			require.NotEqual(t, http.StatusInternalServerError, resp.StatusCode, "%s %s: a failing upstream is not an internal error", name, tag)
		}
	}
	resp, err := c.Get(base + "/healthz")
	require.NoError(t, err, "serve still runs; stderr: %s", p.stderr.String())
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Nil(t, p.cmd.ProcessState, "serve did not exit")
	require.NoError(t, p.cmd.Process.Signal(os.Interrupt))
	r := p.wait(t)
	require.NotContains(t, r.stderr, "panic", "no request panicked, not even a recovered one")
}

// TestPullThroughHeldTagUpstreamDown: after a restart, a tag a
// pull-through distribution holds is checked upstream again; with the
// registry gone the distribution serves what it holds.
func TestPullThroughHeldTagUpstreamDown(t *testing.T) {
	a := newHarness(t)
	a.ok("repo", "create", "img", "--kind", "container")
	a.ok("dist", "create", "img", "--base-path", "test/img", "--repo", "img")
	var tok struct {
		Token string `json:"token"`
	}
	a.jsonOK(&tok, "token", "create", "--name", "ci", "--scope", "*:*:admin")
	aBase, _, stopA := serveFor(t, a)
	img := ociImage(t, "linux", "amd64", 3000)
	require.NoError(t, ggcr.Write(ref(t, strings.TrimPrefix(aBase, "http://")+"/test/img:v1"), img, ggcr.WithAuth(&authn.Basic{Username: "ci", Password: tok.Token})))
	d, err := img.Digest()
	require.NoError(t, err)

	b := newHarness(t)
	b.ok("repo", "create", "mirror", "--kind", "container")
	b.ok("remote", "create", "up", "--kind", "container", "--url", aBase, "--upstream-name", "test/img",
		"--retries", "0", "--connect-timeout", "1s", "--read-timeout", "1s")
	b.ok("dist", "create", "cache", "--base-path", "cache/img", "--repo", "mirror", "--remote", "up")
	manifest := func(base string) (int, string) {
		req, err := http.NewRequest(http.MethodGet, base+"/v2/cache/img/manifests/v1", nil)
		require.NoError(t, err)
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
		resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Docker-Content-Digest")
	}
	bBase, _, stopB := serveFor(t, b)
	code, digest := manifest(bBase)
	require.Equal(t, http.StatusOK, code, "pulled through")
	require.Equal(t, d.String(), digest)
	stopB()
	stopA()

	bBase, log, _ := serveFor(t, b) // restarted: the tag is due for a check
	code, digest = manifest(bBase)
	require.Equal(t, http.StatusOK, code, "served from the store with the upstream down")
	require.Equal(t, d.String(), digest)
	require.Contains(t, log.String(), `"msg":"pull-through"`, "the upstream was asked")
	require.NotContains(t, log.String(), "panic")
}
