package main

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
)

// requireKindRefused checks a refusal that names each kind as a word.
func requireKindRefused(t *testing.T, r result, kinds ...string) {
	t.Helper()
	requireRefused(t, r)
	for _, k := range kinds {
		require.Regexp(t, regexp.MustCompile(`\b`+k+`\b`), r.stderr)
	}
}

// TestKindsCLI: a version goes only into repositories and distributions of
// its content kind, on a local store and through a server.
func TestKindsCLI(t *testing.T) {
	for _, name := range []string{"local", "server"} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			if name == "server" {
				url, secret := newAPIServer(t)
				h = h.through(url, h.file("admin.token", []byte(secret)))
			}
			h.ok("repo", "create", "files")
			h.ok("repo", "create", "pyempty", "--kind", "python")
			h.ok("repo", "create", "py", "--kind", "python")
			h.ok("repo", "create", "img", "--kind", "container")
			h.file("site/simple/index.html", []byte("<html></html>"))
			h.file("site/a.txt", []byte("a"))
			h.commit("files", "--add", h.work+"/site")
			wheel, data := pythontest.Spec{Name: "demo", Version: "1.0"}.Wheel()
			py := h.commit("py", "--add", h.file("wheels/"+wheel, data))
			layer := []byte("layer")
			sum := sha256.Sum256(layer)
			h.commit("img", "--add", h.file("layer", layer)+"=blobs/sha256/"+hex.EncodeToString(sum[:]))
			pyHead, imgHead := h.head("py"), h.head("img")

			r := h.run("promote", "files", "pyempty")
			requireKindRefused(t, r, "file", "python")
			require.Contains(t, r.stderr, `cannot promote a file version into python repository "pyempty"`)
			require.Contains(t, h.run("--json", "promote", "files", "pyempty").stdout, `"code": "kind_mismatch"`)
			requireKindRefused(t, h.run("promote", "--force", "py", "img"), "python", "container")
			requireKindRefused(t, h.run("promote", "--only", "a.txt", "files", "py"), "file", "python")
			requireKindRefused(t, h.run("promote", "py:pyempty", "files:py"), "file", "python")
			requireKindRefused(t, h.run("rollback", "py", "files"), "file", "python")
			require.Contains(t, h.run("log", "pyempty").stderr, "no versions yet", "nothing moved")
			require.Equal(t, pyHead, h.head("py"))
			require.Equal(t, imgHead, h.head("img"))
			h.ok("promote", "py", "pyempty")

			// A distribution pinned by a full id serves that version's kind.
			d := h.dist("create", "pinned", "--base-path", "pinned", "--version", py.ID)
			require.Equal(t, "python", d.Kind)
			require.Equal(t, "python", h.dist("show", "pinned").Kind)
			requireKindRefused(t, h.run("dist", "update", "pinned", "--version", "files"), "file", "python")

			h.ok("remote", "create", "pyup", "--kind", "python", "--url", "http://127.0.0.1:9/simple/")
			r = h.run("dist", "create", "mixed", "--base-path", "mixed", "--repo", "files", "--remote", "pyup")
			requireKindRefused(t, r, "file", "python")
			require.Contains(t, r.stderr, "pyup")
			h.ok("dist", "create", "mixed", "--base-path", "mixed", "--repo", "files")
			requireKindRefused(t, h.run("dist", "update", "mixed", "--remote", "pyup"), "file", "python")
			require.Empty(t, h.dist("show", "mixed").Remote)
			h.ok("dist", "update", "pinned", "--remote", "pyup")

			h.ok("fsck")
		})
	}
}
