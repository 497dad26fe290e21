package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
)

// TestPythonPullThroughPips: every pip the machine has (Debian's, each
// Python's ensurepip) installs from a pull-through distribution of a
// synced upstream pkgvc, while that upstream is down: the index, the
// wheels and their metadata files (PEP 658) come from the store.
func TestPythonPullThroughPips(t *testing.T) {
	py := newPyTools(t, false)
	pips := pythontest.Pips(t, t.TempDir(), "3.7")

	up := newHarness(t)
	up.ok("repo", "create", "up", "--kind", "python")
	up.ok("commit", "up", "--add", filepath.Dir(up.pyDists("w", []pythontest.Spec{pyApp, pyLib10, pyLib11})[0]))
	up.ok("dist", "create", "up", "--base-path", "up", "--repo", "up")
	upBase, _, stopUp := serveFor(t, up)

	h := newHarness(t)
	h.ok("repo", "create", "py", "--kind", "python")
	h.ok("remote", "create", "pyup", "--kind", "python", "--url", upBase+"/content/up/simple/")
	h.ok("sync", "pyup", "py")
	h.ok("dist", "create", "pt", "--base-path", "pt", "--repo", "py", "--remote", "pyup")
	base, _ := startServe(t, h)
	stopUp()

	index := base + "/content/pt/simple/"
	page := string(fetch(t, index+"app/"))
	require.Contains(t, page, `data-core-metadata="sha256=`)
	resp, err := http.Get(base + "/content/pt/packages/app/app-1.0-py3-none-any.whl.metadata")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "metadata file with the upstream down: %s", body)
	require.Equal(t, string(pyApp.Metadata()), string(body))

	for _, p := range pips {
		t.Run(p.Version, func(t *testing.T) {
			vpy := p.Python
			out := py.must(vpy, "-m", "pip", "install", "--no-cache-dir", "--index-url", index, "app")
			require.NotContains(t, out, "Traceback", p.String())
			require.Equal(t, "1.0 1.1\n", py.must(vpy, "-c", "import app, lib; print(app.VERSION, lib.VERSION)"), "%s\n%s", p, out)
			require.True(t, strings.Contains(py.must(vpy, "-m", "pip", "--version"), "pip "+p.Version+" "), p.String())
		})
	}
}
