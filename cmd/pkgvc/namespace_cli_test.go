package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNamespaceCacheCLI: a container remote without --upstream-name is the
// whole registry; a sync of it into a plain repository is refused with a
// hint; a distribution of it without --repo is a namespace cache, also at
// the root.
func TestNamespaceCacheCLI(t *testing.T) {
	h := newHarness(t)
	h.ok("remote", "create", "hub", "--kind", "container", "--url", "http://127.0.0.1:1")
	require.Regexp(t, `(?m)^upstream name: +-$`, h.ok("remote", "show", "hub"))
	h.ok("repo", "create", "plain", "--kind", "container")
	res := h.run("sync", "hub", "plain")
	require.NotEqual(t, 0, res.code)
	require.Contains(t, res.stderr, "stands for a whole namespace")
	require.Contains(t, res.stderr, "namespace distribution")

	out := h.ok("dist", "create", "hub", "--base-path", "hub", "--remote", "hub")
	require.Contains(t, out, "created distribution hub at /hub: caches every project of remote hub")
	require.Contains(t, out, "<server>/hub/NAME")
	out = h.ok("dist", "create", "mirror", "--base-path", "/", "--remote", "hub")
	require.Contains(t, out, "created distribution mirror at /: ")
	require.Regexp(t, `(?m)^mirror +/ +\(namespace of hub\) +container +hub +no$`, h.ok("dist", "list"))
	require.Regexp(t, `(?m)^serving: +0 cached project\(s\)$`, h.ok("dist", "show", "hub"))
	res = h.run("dist", "create", "x", "--base-path", "x")
	require.NotEqual(t, 0, res.code, "neither --repo, --version nor --remote")
	res = h.run("dist", "create", "y", "--base-path", "y", "--repo", "plain", "--remote", "hub")
	require.NotEqual(t, 0, res.code)
	require.Contains(t, res.stderr, "omit --repo")
	require.Regexp(t, `(?m)^plain +container +- +0 +all +-$`, h.ok("repo", "list"))

	// The namespace caches need the remote to stay a whole registry.
	res = h.run("remote", "update", "hub", "--upstream-name", "library/alpine")
	require.NotEqual(t, 0, res.code)
	require.Contains(t, res.stderr, "caches its namespace")
	require.Regexp(t, `(?m)^upstream name: +-$`, h.ok("remote", "show", "hub"))
	h.ok("remote", "update", "hub", "--url", "http://127.0.0.1:2")
}
