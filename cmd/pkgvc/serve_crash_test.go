package main

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"

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
}
