package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// A container distribution's base path is an image name; a pull-through
// TTL is kept with the distribution.
func TestOCIDistCLI(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "img", "--kind", "container")
	h.ok("repo", "create", "files")
	h.ok("remote", "create", "hub", "--kind", "container", "--url", "http://127.0.0.1:9", "--upstream-name", "library/alpine")
	h.ok("dist", "create", "img", "--base-path", "test/img", "--repo", "img", "--remote", "hub", "--pull-through-ttl", "90s")
	raw := h.ok("--json", "dist", "show", "img")
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(raw), &doc))
	require.Equal(t, "container", doc["kind"])
	require.EqualValues(t, 90e9, doc["pull_through_ttl"])
	h.ok("dist", "update", "img", "--pull-through-ttl", "10m")
	raw = h.ok("--json", "dist", "show", "img")
	require.NoError(t, json.Unmarshal([]byte(raw), &doc))
	require.EqualValues(t, 600e9, doc["pull_through_ttl"])

	r := h.run("dist", "update", "img", "--pull-through-ttl", "-1s")
	require.Equal(t, 2, r.code, "%s", r)
	require.Contains(t, r.stderr, "--pull-through-ttl: give a positive duration")
	// Names a registry cannot address are refused for container
	// distributions only.
	for _, bp := range []string{"a..b", "img_", "a-/b"} {
		requireRefused(t, h.run("dist", "create", "bad", "--base-path", bp, "--repo", "img"), "image name")
	}
	h.ok("dist", "create", "files", "--base-path", "img_", "--repo", "files")
}
