package main

import (
	"archive/tar"
	"context"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
)

// pyTools runs python3, pip and twine for the flow tests, with no pip
// settings from outside (PIP_FIND_LINKS, ...): --index-url is the only
// source.
type pyTools struct {
	t      *testing.T
	ctx    context.Context
	python string
	twine  string // "" unless asked for
	tmp    string
	env    []string
}

// newPyTools skips the test unless python3 with a working venv module is
// installed, and twine if needTwine.
func newPyTools(t *testing.T, needTwine bool) *pyTools {
	t.Helper()
	if testing.Short() {
		t.Skip("runs pip")
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: this test runs real pip in a venv")
	}
	var twine string
	if needTwine {
		if twine, err = exec.LookPath("twine"); err != nil {
			t.Skip("twine is not installed: this test uploads with real twine (pip install twine)")
		}
	}
	tmp := t.TempDir()
	if out, err := exec.Command(python, "-m", "venv", filepath.Join(tmp, "probe")).CombinedOutput(); err != nil {
		t.Skipf("python3 -m venv does not work here (install python3-venv): %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "PIP_") {
			env = append(env, e)
		}
	}
	env = append(env, "PIP_CONFIG_FILE=/dev/null", "PIP_NO_INPUT=1", "PIP_DISABLE_PIP_VERSION_CHECK=1",
		"NO_PROXY=*", "no_proxy=*", "TWINE_NON_INTERACTIVE=1", "PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring")
	return &pyTools{t: t, ctx: ctx, python: python, twine: twine, tmp: tmp, env: env}
}

// run runs a program and returns its combined output.
func (p *pyTools) run(name string, args ...string) (string, error) {
	cmd := exec.CommandContext(p.ctx, name, args...)
	cmd.Env = p.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// must runs a program that must succeed.
func (p *pyTools) must(name string, args ...string) string {
	p.t.Helper()
	out, err := p.run(name, args...)
	require.NoError(p.t, err, "%s %s\n%s", name, strings.Join(args, " "), out)
	return out
}

// venv makes a fresh virtual environment and returns its python.
func (p *pyTools) venv(name string) string {
	p.t.Helper()
	dir := filepath.Join(p.tmp, name)
	p.must(p.python, "-m", "venv", dir)
	return filepath.Join(dir, "bin", "python")
}

// pyDists writes the wheels of specs and the sdists of sdists into the
// work directory dir and returns their paths.
func (h *harness) pyDists(dir string, specs []pythontest.Spec, sdists ...pythontest.Spec) []string {
	h.t.Helper()
	var files []string
	for _, s := range specs {
		name, data := s.Wheel()
		files = append(files, h.file(dir+"/"+name, data))
	}
	for _, s := range sdists {
		files = append(files, h.file(dir+"/"+s.SdistName(), buildableSdist(s)))
	}
	return files
}

// pyNames lists the file names of rev's packages, sorted.
func (h *harness) pyNames(rev string) []string {
	h.t.Helper()
	var l []string
	for _, r := range h.ls(rev) {
		l = append(l, path.Base(r.Path))
	}
	sort.Strings(l)
	return l
}

// The releases of the flow tests: app needs lib; lib 1.1 is a patch.
var (
	pyApp   = pythontest.Spec{Name: "app", Version: "1.0", Requires: []string{"lib>=1"}, RequiresPython: ">=3.7"}
	pyLib10 = pythontest.Spec{Name: "lib", Version: "1.0", RequiresPython: ">=3.7"}
	pyLib11 = pythontest.Spec{Name: "lib", Version: "1.1", RequiresPython: ">=3.7"}
	pyR1    = []string{"app-1.0-py3-none-any.whl", "lib-1.0-py3-none-any.whl", "lib-1.0.tar.gz"}
	pyR2    = append(slices.Clip(pyR1), "lib-1.1-py3-none-any.whl", "lib-1.1.tar.gz")
)

// TestPythonCICDFlow is a python CI/CD pipeline end to end with the real
// clients: CI uploads with twine (a token that may write dev only) to dev,
// promotes dev → test → prod, and pip installs from each stage's Simple API
// with no other index.
func TestPythonCICDFlow(t *testing.T) {
	py := newPyTools(t, true)
	mustRun, newVenv, runOut, twine, tmp := py.must, py.venv, py.run, py.twine, py.tmp
	h := newHarness(t)
	for _, stage := range []string{"dev", "test", "prod"} {
		h.ok("repo", "create", stage, "--kind", "python")
		h.ok("dist", "create", "py-"+stage, "--base-path", "py/"+stage, "--repo", stage)
	}
	var tok struct {
		Token  string   `json:"token"`
		Scopes []string `json:"scopes"`
	}
	h.jsonOK(&tok, "token", "create", "--name", "ci", "--scope", "repo:dev:write")
	require.Equal(t, []string{"repo:dev:write"}, tok.Scopes)
	require.True(t, strings.HasPrefix(tok.Token, "pkgvc_"))
	base, serveErr := startServe(t, h)
	content := func(stage string) string { return base + "/content/py/" + stage + "/" }

	build := h.pyDists
	upload := func(stage string, files []string) (string, error) {
		args := append([]string{"upload", "--repository-url", content(stage) + "legacy/",
			"-u", "__token__", "-p", tok.Token, "--non-interactive", "--disable-progress-bar"}, files...)
		return runOut(twine, args...)
	}

	app, lib10, lib11 := pyApp, pyLib10, pyLib11

	// CI uploads release 1 to dev with twine.
	out, err := upload("dev", build("r1", []pythontest.Spec{app, lib10}, lib10))
	require.NoError(t, err, "twine upload to dev:\n%s\nserve: %s", out, serveErr)
	names, r1 := h.pyNames, pyR1
	require.Equal(t, r1, names("dev"))

	// The dev-only token cannot upload to prod.
	out, err = upload("prod", build("evil", []pythontest.Spec{lib11}))
	require.Error(t, err, "twine upload to prod with a dev-only token must fail:\n%s", out)
	require.Contains(t, out, "403", "twine reports the server's 403")
	r := h.run("ls", "prod")
	require.Equal(t, 1, r.code, "prod is still empty: %s", r)
	require.Contains(t, r.stderr, "no versions yet")

	// Promote dev → test; pip installs app from test alone and gets lib 1.0.
	h.ok("promote", "dev", "test")
	vpy := newVenv("venv-test")
	mustRun(vpy, "-m", "pip", "install", "--no-cache-dir", "--index-url", content("test")+"simple/", "app")
	require.Equal(t, "1.0 1.0\n", mustRun(vpy, "-c", "import app, lib; print(app.VERSION, lib.VERSION)"))
	h.ok("promote", "test", "prod")
	require.Equal(t, r1, names("prod"))

	// A patch release of lib goes dev → test → prod.
	out, err = upload("dev", build("r2", []pythontest.Spec{lib11}, lib11))
	require.NoError(t, err, "twine upload lib 1.1 to dev:\n%s\nserve: %s", out, serveErr)
	h.ok("promote", "dev", "test")
	h.ok("promote", "test", "prod")
	require.Equal(t, pyR2, names("prod"))

	// A clean venv installs app from prod and gets exactly lib 1.1.
	vpy = newVenv("venv-prod")
	mustRun(vpy, "-m", "pip", "install", "--no-cache-dir", "--index-url", content("prod")+"simple/", "app")
	require.Contains(t, mustRun(vpy, "-m", "pip", "show", "lib"), "\nVersion: 1.1\n")
	require.Equal(t, "1.0 1.1\n", mustRun(vpy, "-c", "import app, lib; print(app.VERSION, lib.VERSION)"))

	// What the last promotion into prod moved: lib 1.1's files, nothing else.
	d := h.diff("prod@{1}", "prod")
	var added []string
	for _, p := range d.Added {
		added = append(added, path.Base(p))
	}
	sort.Strings(added)
	require.Equal(t, []string{"lib-1.1-py3-none-any.whl", "lib-1.1.tar.gz"}, added, "diff: %+v", d)
	require.Empty(t, d.Removed)
	require.Empty(t, d.Changed)

	// pip download fetches lib 1.1's sdist from prod.
	dl := filepath.Join(tmp, "dl")
	mustRun(vpy, "-m", "pip", "download", "--no-cache-dir", "--no-deps",
		"--no-binary", ":all:", "--index-url", content("prod")+"simple/", "lib==1.1", "-d", dl)
	sdist := buildableSdist(lib11)
	got, err := os.ReadFile(filepath.Join(dl, lib11.SdistName()))
	require.NoError(t, err)
	require.Equal(t, sha(sdist), sha(got), "the sdist downloaded is the one uploaded")
}

// TestPythonCICDFlowRemote is the same pipeline with every pkgvc command
// in remote mode against a running `pkgvc serve`: CI commits wheels and
// sdists into dev through the REST API with a token that may write dev
// only (the server reads each package's metadata, as for a local commit),
// an admin promotes dev → test → prod, and pip installs from prod.
func TestPythonCICDFlowRemote(t *testing.T) {
	py := newPyTools(t, false)
	local := newHarness(t)
	var adm struct {
		Token string `json:"token"`
	}
	local.jsonOK(&adm, "token", "create", "--name", "admin", "--scope", "*:*:admin")
	base, serveErr := startServe(t, local)
	admin := local.through(base, local.file("admin.tok", []byte(adm.Token+"\n")))
	content := func(stage string) string { return base + "/content/py/" + stage + "/simple/" }

	for _, stage := range []string{"dev", "test", "prod"} {
		admin.ok("repo", "create", stage, "--kind", "python")
		admin.ok("dist", "create", "py-"+stage, "--base-path", "py/"+stage, "--repo", stage)
	}
	var tok struct {
		Token string `json:"token"`
	}
	admin.jsonOK(&tok, "token", "create", "--name", "ci", "--scope", "repo:dev:write")
	ci := local.through(base, local.file("ci.tok", []byte(tok.Token)))

	// CI commits release 1 into dev; the records carry the metadata the
	// server read from each file.
	ci.ok("commit", "dev", "--add", filepath.Dir(ci.pyDists("r1", []pythontest.Spec{pyApp, pyLib10}, pyLib10)[0]), "-m", "release 1")
	require.Equal(t, pyR1, ci.pyNames("dev"))
	for _, r := range admin.ls("dev") {
		if r.Path == "app-1.0-py3-none-any.whl" {
			require.Equal(t, map[string]string{
				"name": "app", "version": "1.0", "filename": r.Path, "packagetype": "bdist_wheel",
				"requires_python": ">=3.7", "metadata_sha256": sha(pyApp.Metadata()), "yanked": "false",
			}, r.Metadata)
		}
	}
	require.Equal(t, local.ls("dev"), admin.ls("dev"), "the server's store holds what the API lists")

	// The dev-only token may not move prod: the refusal names the scope.
	r := ci.run("promote", "dev", "prod")
	requireRefused(t, r, "forbidden", "token ci lacks the scope repo:prod:write")
	r = admin.run("ls", "prod")
	require.Equal(t, 1, r.code, "prod is still empty: %s", r)

	// dev → test; pip installs app from test alone and gets lib 1.0.
	admin.ok("promote", "dev", "test")
	vpy := py.venv("venv-test")
	py.must(vpy, "-m", "pip", "install", "--no-cache-dir", "--index-url", content("test"), "app")
	require.Equal(t, "1.0 1.0\n", py.must(vpy, "-c", "import app, lib; print(app.VERSION, lib.VERSION)"))
	admin.ok("promote", "test", "prod")
	require.Equal(t, pyR1, admin.pyNames("prod"))

	// A patch release of lib goes dev → test → prod.
	ci.ok("commit", "dev", "--add", filepath.Dir(ci.pyDists("r2", []pythontest.Spec{pyLib11}, pyLib11)[0]), "-m", "lib 1.1")
	admin.ok("promote", "dev", "test")
	admin.ok("promote", "test", "prod")
	require.Equal(t, pyR2, admin.pyNames("prod"))
	log := admin.log("prod")
	require.Len(t, log, 2)
	require.Equal(t, "lib 1.1", log[0].Message)
	require.Equal(t, "ci", log[0].Author, "the server records who committed")
	require.Equal(t, local.head("dev").ID, log[0].ID, "prod is dev's version")
	require.Contains(t, admin.ok("log", "prod"), "lib 1.1")

	// What the last promotion into prod moved: lib 1.1's files.
	d := admin.diff("prod@{1}", "prod")
	require.Equal(t, []string{"lib-1.1-py3-none-any.whl", "lib-1.1.tar.gz"}, d.Added)
	require.Empty(t, d.Removed)
	require.Empty(t, d.Changed)
	require.Equal(t, local.diff("prod@{1}", "prod"), d)

	// A clean venv installs app from prod and gets exactly lib 1.1.
	vpy = py.venv("venv-prod")
	py.must(vpy, "-m", "pip", "install", "--no-cache-dir", "--index-url", content("prod"), "app")
	require.Contains(t, py.must(vpy, "-m", "pip", "show", "lib"), "\nVersion: 1.1\n", "serve: %s", serveErr)
	require.Equal(t, "1.0 1.1\n", py.must(vpy, "-c", "import app, lib; print(app.VERSION, lib.VERSION)"))
}

// buildableSdist is s's sdist with an in-tree PEP 517 backend that needs
// nothing installed (requires = []), so pip can prepare its metadata in an
// isolated build environment with no index but pkgvc's.
func buildableSdist(s pythontest.Spec) []byte {
	top := s.Name + "-" + s.Version
	return pythontest.TarGz(
		pythontest.File{Name: top + "/", Type: tar.TypeDir},
		pythontest.File{Name: top + "/PKG-INFO", Body: s.Metadata()},
		pythontest.File{Name: top + "/pyproject.toml", Body: []byte(
			"[build-system]\nrequires = []\nbuild-backend = \"backend\"\nbackend-path = [\".\"]\n")},
		pythontest.File{Name: top + "/backend.py", Body: []byte(`import os, shutil

def get_requires_for_build_wheel(config_settings=None):
    return []

def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    name = "` + top + `.dist-info"
    os.makedirs(os.path.join(metadata_directory, name))
    shutil.copy("PKG-INFO", os.path.join(metadata_directory, name, "METADATA"))
    return name

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise RuntimeError("this test sdist is only downloaded")
`)},
	)
}
