package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// distOut is the --json shape of a distribution (dist create, update,
// list; show adds serving).
type distOut struct {
	Name     string  `json:"name"`
	BasePath string  `json:"base_path"`
	Repo     string  `json:"repo"`
	Version  string  `json:"version"`
	Kind     string  `json:"kind"`
	Remote   string  `json:"remote"`
	Private  bool    `json:"private"`
	Serving  *logOut `json:"serving"`
}

type checkoutOut struct {
	Dist     string `json:"dist"`
	Dir      string `json:"dir"`
	Tree     string `json:"tree"`
	Version  logOut `json:"version"`
	UpToDate bool   `json:"up_to_date"`
	Written  int    `json:"written"`
	Linked   int    `json:"linked"`
	Removed  int    `json:"removed"`
}

func (h *harness) dist(args ...string) distOut {
	h.t.Helper()
	var d distOut
	h.jsonOK(&d, append([]string{"dist"}, args...)...)
	return d
}

func TestDistCLI(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "dev")
	v1 := h.commit("dev", h.file("a.txt", []byte("one")))

	out := h.ok("dist", "create", "img", "--base-path", "test/img", "--repo", "dev")
	require.Contains(t, out, "created distribution img at /test/img: follows repository dev")
	h.ok("remote", "create", "upstream", "--url", "http://127.0.0.1:9/PULP_MANIFEST")
	pin := h.dist("create", "pin", "--base-path", "test/img2", "--version", "dev@1", "--remote", "upstream", "--private")
	require.Equal(t, distOut{Name: "pin", BasePath: "test/img2", Version: v1.ID, Kind: "file", Remote: "upstream", Private: true}, pin)

	// The document: no "version" key while following.
	raw := h.ok("--json", "dist", "show", "img")
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(raw), &doc))
	require.ElementsMatch(t, []string{"name", "base_path", "repo", "kind", "created", "url", "use", "instructions", "serving"}, keys(doc))

	v2 := h.commit("dev", h.file("b.txt", []byte("two")))
	show := h.dist("show", "img")
	require.Equal(t, "dev", show.Repo)
	require.NotNil(t, show.Serving)
	require.Equal(t, v2.ID, show.Serving.ID, "a follower serves the new commit")
	require.Equal(t, 2, show.Serving.Version)
	show = h.dist("show", "pin")
	require.Equal(t, v1.ID, show.Serving.ID)
	text := h.ok("dist", "show", "img")
	require.Contains(t, text, "follows:   dev")
	require.Contains(t, text, "serving:   dev@2 "+v2.ID)
	// What clients do, as the file kind tells: its files' URLs, and the
	// PULP_MANIFEST a file remote syncs from.
	require.Regexp(t, `(?m)^use: +curl -O http://\S+/content/test/img/PATH$`, text)
	require.Regexp(t, `(?m)^use: +pkgvc remote create NAME --kind file --url http://\S+/content/test/img/PULP_MANIFEST$`, text)

	var list []distOut
	h.jsonOK(&list, "dist", "list")
	require.Len(t, list, 2)
	require.Equal(t, "img", list[0].Name)
	require.Equal(t, "pin", list[1].Name)
	table := h.ok("dist", "list")
	require.Contains(t, table, "test/img2")
	require.Contains(t, strings.Split(table, "\n")[0], "BASE PATH")

	// Update: pin, privacy off, move; then follow again.
	upd := h.dist("update", "pin", "--version", "dev", "--private=false", "--base-path", "prod/img")
	require.Equal(t, v2.ID, upd.Version)
	require.False(t, upd.Private)
	require.Equal(t, "upstream", upd.Remote)
	require.Equal(t, "prod/img", upd.BasePath)
	upd = h.dist("update", "pin", "--repo", "dev")
	require.Equal(t, "dev", upd.Repo)
	require.Empty(t, upd.Version)
	require.Equal(t, "prod/img", upd.BasePath)

	require.Contains(t, h.ok("dist", "delete", "pin"), "deleted distribution pin")
	requireRefused(t, h.run("dist", "show", "pin"), "distribution not found")
	requireRefused(t, h.run("dist", "delete", "pin"), "distribution not found")
	h.jsonOK(&list, "dist", "list")
	require.Len(t, list, 1)
}

func TestDistCLIRefusals(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "dev")
	h.commit("dev", h.file("a.txt", []byte("one")))
	h.ok("dist", "create", "img", "--base-path", "test/img", "--repo", "dev")
	h.ok("dist", "create", "img2", "--base-path", "test/img2", "--repo", "dev")
	h.ok("dist", "create", "a", "--base-path", "a", "--repo", "dev")

	for _, bp := range []string{"test/img", "test", "test/img/sub", "a/b", "../x", "a/../b", "/abs", "x/", "UP", "a//b"} {
		requireRefused(t, h.run("dist", "create", "x", "--base-path", bp, "--repo", "dev"), "base path")
	}
	requireRefused(t, h.run("dist", "update", "img", "--base-path", "a/b"), "clashes with distribution a")
	requireRefused(t, h.run("dist", "create", "img", "--base-path", "other", "--repo", "dev"), "already exists")
	requireRefused(t, h.run("dist", "create", "x", "--base-path", "x", "--repo", "missing"), "repository not found")
	requireRefused(t, h.run("dist", "create", "x", "--base-path", "x", "--version", "dev@9"), "version not found")
	requireRefused(t, h.run("dist", "update", "missing", "--repo", "dev"), "distribution not found")

	for _, args := range [][]string{
		{"dist", "create", "x", "--base-path", "x"},
		{"dist", "create", "x", "--repo", "dev"},
		{"dist", "create", "x", "--base-path", "x", "--repo", "dev", "--version", "dev@1"},
		{"dist", "create", "--base-path", "x", "--repo", "dev"},
		{"dist", "create", "x", "y", "--base-path", "x", "--repo", "dev"},
		{"dist", "update", "img", "--repo", "dev", "--version", "dev@1"},
		{"dist", "show"},
		{"dist", "delete"},
		{"dist", "list", "extra"},
		{"dist", "create", "x", "--base-path"},
		{"dist", "create", "x", "--bogus"},
		{"checkout", "img"},
		{"checkout", "img", "a", "b"},
	} {
		r := h.run(args...)
		require.Equal(t, 2, r.code, "pkgvc %s\n%s", strings.Join(args, " "), r)
	}
	var list []distOut
	h.jsonOK(&list, "dist", "list")
	require.Len(t, list, 3, "refusals change nothing")
}

func TestRepoDeleteFollowed(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "dev")
	v := h.commit("dev", h.file("a.txt", []byte("one")))
	h.ok("dist", "create", "img", "--base-path", "img", "--repo", "dev")
	h.ok("dist", "create", "pin", "--base-path", "pin", "--version", "dev")

	requireRefused(t, h.run("repo", "delete", "dev"), "distribution(s) img follow it", "--force")
	h.ok("repo", "show", "dev")
	require.Contains(t, h.ok("repo", "delete", "dev", "--force"), "deleted repository dev")
	requireRefused(t, h.run("repo", "show", "dev"), "repository not found")

	show := h.dist("show", "img")
	require.Nil(t, show.Serving, "a follower of a deleted repository serves nothing")
	require.Contains(t, h.ok("dist", "show", "img"), "serving:   nothing")
	require.Equal(t, v.ID, h.dist("show", "pin").Serving.ID, "a pin outlives its repository")
	h.ok("gc", "--grace", "0s")
	h.ok("fsck")
	require.Equal(t, v.ID, h.dist("show", "pin").Serving.ID)

	// A repository no distribution follows goes without --force.
	h.ok("repo", "create", "lone")
	h.ok("repo", "delete", "lone")
}

func TestCheckoutCLI(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "dev")
	raw := randBytes(t, 100<<10)
	h.commit("dev", h.dir("in", "pkgs/raw.bin", string(raw)))
	h.commit("dev", h.file("notes.txt", []byte("notes")))
	h.ok("dist", "create", "d", "--base-path", "d", "--repo", "dev")
	dir := filepath.Join(t.TempDir(), "www", "d")

	out := h.ok("checkout", "d", dir)
	require.Contains(t, out, "checked out d (dev@2")
	require.Contains(t, out, "3 file(s) written")
	got, err := os.ReadFile(filepath.Join(dir, "pkgs", "raw.bin"))
	require.NoError(t, err)
	require.Equal(t, raw, got)
	manifest, err := os.ReadFile(filepath.Join(dir, "PULP_MANIFEST"))
	require.NoError(t, err)
	require.Equal(t, "notes.txt,"+sha([]byte("notes"))+",5\npkgs/raw.bin,"+sha(raw)+",102400\n", string(manifest))

	require.Contains(t, h.ok("checkout", "d", dir), "already holds dev@2")
	h.commit("dev", "--remove", "notes.txt", h.file("new.txt", []byte("new")))
	var res checkoutOut
	h.jsonOK(&res, "checkout", "d", dir)
	require.Equal(t, "d", res.Dist)
	require.Equal(t, 3, res.Version.Version)
	require.Equal(t, 2, res.Written, "new.txt and PULP_MANIFEST")
	require.Equal(t, 1, res.Removed)
	require.Equal(t, dir+".pkgvc/b", res.Tree)
	_, err = os.Stat(filepath.Join(dir, "notes.txt"))
	require.ErrorIs(t, err, os.ErrNotExist)

	// Refusals exit 1: unknown distribution, a directory pkgvc did not make,
	// a follower of an empty repository.
	requireRefused(t, h.run("checkout", "nope", filepath.Join(t.TempDir(), "x")), "distribution not found")
	foreign := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(foreign, "index.html"), []byte("mine"), 0o644))
	requireRefused(t, h.run("checkout", "d", foreign), "not a pkgvc checkout")
	h.ok("repo", "create", "empty")
	h.ok("dist", "create", "e", "--base-path", "e", "--repo", "empty")
	requireRefused(t, h.run("checkout", "e", filepath.Join(t.TempDir(), "e")), "no versions yet")
}
