package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	pyformat "github.com/pkgvc/pkgvc/kinds/python/format"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
)

// TestPythonRepoCLI: a python repository validates each package on commit,
// refuses files whose name and metadata disagree (naming the file), and
// checks out with its Simple API.
func TestPythonRepoCLI(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "dev", "--kind", "python")

	alpha := pythontest.Spec{Name: "alpha", Version: "1.0", Requires: []string{"beta>=2"}, RequiresPython: ">=3.7"}
	for _, s := range []pythontest.Spec{alpha, {Name: "Beta", Version: "1.0"}, {Name: "Beta", Version: "2.0"}} {
		name, data := s.Wheel()
		h.file("dist/"+name, data)
	}
	name, data := pythontest.Spec{Name: "Beta", Version: "2.0"}.Sdist()
	h.file("dist/sdist/"+name, data)
	c := h.commit("dev", "--add", filepath.Join(h.work, "dist"))
	require.Equal(t, 1, c.Version)

	recs := map[string]lsOut{}
	for _, r := range h.ls("dev") {
		recs[r.Path] = r
	}
	require.Len(t, recs, 4)
	meta := sha256.Sum256(alpha.Metadata())
	require.Equal(t, map[string]string{
		"name": "alpha", "version": "1.0", "filename": "alpha-1.0-py3-none-any.whl", "packagetype": "bdist_wheel",
		"requires_python": ">=3.7", "metadata_sha256": hex.EncodeToString(meta[:]), "yanked": "false",
	}, recs["alpha-1.0-py3-none-any.whl"].Metadata)
	require.Equal(t, "beta", recs["sdist/Beta-2.0.tar.gz"].Metadata["name"])
	require.Equal(t, "sdist", recs["sdist/Beta-2.0.tar.gz"].Metadata["packagetype"])

	// Bad packages are refused, naming the file; nothing is committed.
	_, lying := pythontest.Spec{Name: "gamma", Version: "1.0", MetaName: "delta"}.Wheel()
	bad := h.file("bad/gamma-1.0-py3-none-any.whl", lying)
	for _, tc := range []struct {
		file string
		msg  string
	}{
		{bad, `gives Name "delta", the file name "gamma-1.0-py3-none-any.whl" names project "gamma"`},
		{h.file("bad2/gamma-1.0-py3-none-any.whl", []byte("not a zip, just text pretending")), "broken zip"},
		{h.file("bad3/gamma.egg", lying), "neither a wheel"},
		{h.file("bad4/gamma-1.0.tar.gz", pythontest.TarGz(pythontest.File{Name: "gamma-1.0/PKG-INFO", Body: alpha.Metadata()})), `Name "alpha"`},
	} {
		r := h.run("commit", "dev", "--add", tc.file)
		require.Equal(t, 1, r.code, "%s", r)
		require.Contains(t, r.stderr, tc.file, "the error names the file")
		require.Contains(t, r.stderr, tc.msg)
	}
	r := h.run("commit", "dev", "--add", bad+"=simple/gamma-1.0-py3-none-any.whl")
	require.Equal(t, 1, r.code, "%s", r)
	require.Contains(t, r.stderr, "reserved package path")
	require.Equal(t, 1, h.head("dev").Version)

	// A checkout holds the Simple API beside the packages.
	h.ok("dist", "create", "devd", "--base-path", "py", "--repo", "dev")
	www := filepath.Join(h.work, "www")
	h.ok("checkout", "devd", www)
	for _, p := range []string{
		"simple/index.html", "simple/index.v1.json", "simple/alpha/index.html", "simple/beta/index.v1.json",
		"alpha-1.0-py3-none-any.whl.metadata", "Beta-2.0-py3-none-any.whl", "sdist/Beta-2.0.tar.gz",
	} {
		require.FileExists(t, filepath.Join(www, filepath.FromSlash(p)))
	}
	got, err := os.ReadFile(filepath.Join(www, "alpha-1.0-py3-none-any.whl.metadata"))
	require.NoError(t, err)
	require.Equal(t, alpha.Metadata(), got)
	raw, err := os.ReadFile(filepath.Join(www, "simple/beta/index.v1.json"))
	require.NoError(t, err)
	var page pyformat.ProjectPage
	require.NoError(t, json.Unmarshal(raw, &page))
	require.Equal(t, []string{"1.0", "2.0"}, page.Versions)
	require.Len(t, page.Files, 3)
	require.Equal(t, "../../sdist/Beta-2.0.tar.gz", page.Files[2].URL)
}
