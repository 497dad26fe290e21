package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/container/upstream/ocitest"
)

// TestContainerRetainUnpulledCLI: a cache distribution with
// --retain-unpulled drops, on `dist prune`, the images nobody pulled
// within it as a new version, and keeps the one crane pulled through
// serve.
func TestContainerRetainUnpulledCLI(t *testing.T) {
	crane := craneBin(t)
	up := ocitest.Start(t, "")
	d3 := up.Push("library/alpine", "3", ocitest.NewImage(t, "linux", "amd64", true, 3000))
	up.Push("library/alpine", "4", ocitest.NewImage(t, "linux", "amd64", true, 3000))

	h := newHarness(t)
	h.ok("repo", "create", "cacherepo", "--kind", "container")
	h.ok("remote", "create", "hub", "--kind", "container", "--url", "http://"+up.Addr, "--upstream-name", "library/alpine", "--retries", "0")
	res := h.run("dist", "create", "cache", "--base-path", "cache/alpine", "--repo", "cacherepo", "--remote", "hub", "--retain-unpulled", "soon")
	require.NotEqual(t, 0, res.code, "a lifetime is refused: %s", res)
	h.ok("dist", "create", "cache", "--base-path", "cache/alpine", "--repo", "cacherepo", "--remote", "hub", "--retain-unpulled", "30d")
	require.Contains(t, h.ok("dist", "show", "cache"), "retain-unpulled: 30d")
	h.ok("sync", "hub", "cacherepo")
	ls := h.lsMap("cacherepo")
	require.Contains(t, ls, "tags/3")
	require.Contains(t, ls, "tags/4")
	require.Contains(t, h.ok("dist", "prune", "cache"), "nothing to drop", "within 30 days")

	h.ok("dist", "update", "cache", "--retain-unpulled", "2s")
	require.Contains(t, h.ok("dist", "show", "cache"), "retain-unpulled: 2s")
	base, stderr := startServe(t, h) // prunes at once, nothing yet
	srv := strings.TrimPrefix(base, "http://")
	time.Sleep(2500 * time.Millisecond) // the sync is older than that now
	out, err := exec.Command(crane, "digest", "--insecure", srv+"/cache/alpine:3").CombinedOutput()
	require.NoError(t, err, "%s\nserve: %s", out, stderr)
	require.Equal(t, d3.String(), strings.TrimSpace(string(out)))

	var pr struct {
		Removed []string `json:"removed"`
		Version int      `json:"version"`
	}
	require.NoError(t, json.Unmarshal([]byte(h.ok("dist", "prune", "cache", "--json")), &pr))
	require.Contains(t, pr.Removed, "tags/4")
	require.NotContains(t, pr.Removed, "tags/3")
	require.NotZero(t, pr.Version)
	ls = h.lsMap("cacherepo")
	require.Contains(t, ls, "tags/3", "pulled within the window")
	require.NotContains(t, ls, "tags/4")
	log := h.log("cacherepo")
	require.Contains(t, log[0].Message, "retain-unpulled 2s")
}
