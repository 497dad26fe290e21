package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkgvc/pkgvc/app"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pyformat "github.com/pkgvc/pkgvc/kinds/python/format"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
)

// TestYankParity runs yank and unyank on a local store and through a
// server: same output, same versions; the Simple API shows the mark
// (PEP 592).
func TestYankParity(t *testing.T) {
	t.Setenv("PKGVC_AUTHOR", "ci") // the local identity; the server records the token's name
	h := newHarness(t)
	ap, err := app.Open(t.Context(), h.store, app.WithCreate())
	require.NoError(t, err)
	svc := ap.Service()
	require.NoError(t, err)
	adminToken(t, svc)
	require.NoError(t, svc.Close())
	url, secret := newAPIServer(t)
	t.Setenv("PKGVC_TOKEN", secret)

	_, whl := pythontest.Spec{Name: "demo", Version: "1.0"}.Wheel()
	h.file("py/a/demo-1.0-py3-none-any.whl", whl)
	h.file("py/sub/demo-1.0-py3-none-any.whl", whl)
	name, whl2 := pythontest.Spec{Name: "demo", Version: "2.0"}.Wheel()
	h.file("py/"+name, whl2)
	sdist, tgz := pythontest.Spec{Name: "demo", Version: "2.0"}.Sdist()
	h.file("py/"+sdist, tgz)
	for _, args := range [][]string{
		{"repo", "create", "py", "--kind", "python"},
		{"repo", "create", "files"},
		{"commit", "py", "--add", filepath.Join(h.work, "py"), "-m", "release"},
		{"yank", "py", name, "--reason", "broken build"},
		{"yank", "py", name, "--reason", "broken build"},
		{"--json", "yank", "py", name, "--reason", "use 2.1"},
		{"yank", "py", sdist},
		{"unyank", "py", sdist},
		{"unyank", "py", sdist},
		{"yank", "py", "demo-1.0-py3-none-any.whl"},
		{"yank", "py", "sub/demo-1.0-py3-none-any.whl", "--reason", "dup"},
		{"yank", "py", "a/demo-1.0-py3-none-any.whl"},
		{"yank", "py", "nope-1.0.tar.gz"},
		{"yank", "nope", name},
		{"yank", "files", name},
		{"yank", "py"},
		{"log", "py"},
		{"--json", "ls", "py"},
	} {
		cmd := strings.Join(args, " ")
		want := h.run(args...)
		got := runCLI(t, append([]string{"--server", url}, args...)...)
		require.Equal(t, want.code, got.code, "pkgvc %s\nlocal:  %s\nserver: %s", cmd, want, got)
		assert.Equal(t, normalize(want.stdout), normalize(got.stdout), "pkgvc %s: stdout", cmd)
		assert.Equal(t, normalize(want.stderr), normalize(got.stderr), "pkgvc %s: stderr", cmd)
	}
	require.Equal(t, 7, h.head("py").Version, "a yank that changes nothing makes no version")
	r := h.run("yank", "py", "demo-1.0-py3-none-any.whl")
	requireRefused(t, r, "give its path")
	requireRefused(t, h.run("yank", "py", "nope-1.0.tar.gz"), "not found")
	require.Contains(t, h.ok("yank", "py", name, "--reason", "use 2.1"), "nothing changed")

	// The Simple API marks the yanked files, with their reasons.
	h.ok("dist", "create", "pyd", "--base-path", "py", "--repo", "py")
	www := filepath.Join(h.work, "www")
	h.ok("checkout", "pyd", www)
	raw, err := os.ReadFile(filepath.Join(www, "simple", "demo", "index.v1.json"))
	require.NoError(t, err)
	var page pyformat.ProjectPage
	require.NoError(t, json.Unmarshal(raw, &page))
	yanked := map[string]pyformat.Yanked{}
	for _, f := range page.Files {
		yanked[f.URL] = f.Yanked
	}
	require.Equal(t, map[string]pyformat.Yanked{ // one link per file name: the first path's
		"../../" + name:                     {Yanked: true, Reason: "use 2.1"},
		"../../" + sdist:                    {},
		"../../a/demo-1.0-py3-none-any.whl": {Yanked: true},
	}, yanked)
	html, err := os.ReadFile(filepath.Join(www, "simple", "demo", "index.html"))
	require.NoError(t, err)
	require.Contains(t, string(html), `data-yanked="use 2.1"`)

	// Through a server, yanking takes repo:REPO:write.
	var tok struct {
		Token string `json:"token"`
	}
	r = runCLI(t, "--server", url, "token", "create", "--name", "reader", "--scope", "repo:py:read", "--json")
	require.Equal(t, 0, r.code, "%s", r)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &tok))
	reader := h.through(url, h.file("reader.tok", []byte(tok.Token)))
	requireRefused(t, reader.run("yank", "py", name), "forbidden", "repo:py:write")
	r = runCLI(t, "--server", url, "token", "create", "--name", "writer", "--scope", "repo:py:write", "--json")
	require.Equal(t, 0, r.code, "%s", r)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &tok))
	writer := h.through(url, h.file("writer.tok", []byte(tok.Token)))
	require.Contains(t, writer.ok("unyank", "py", name), "py@8 ")
	var log []logOut
	writer.jsonOK(&log, "log", "py", "-n", "1")
	require.Equal(t, "unyank "+name, log[0].Message)
	require.Equal(t, "writer", log[0].Author)
}
