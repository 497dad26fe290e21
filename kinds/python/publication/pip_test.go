package publication_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/checkout"
	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/all"
	pyformat "github.com/pkgvc/pkgvc/kinds/python/format"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	"github.com/pkgvc/pkgvc/kinds/python/publication"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
)

// mkwheel is the acceptance checks' wheel maker; without it the test makes
// the same wheels with pythontest.
const mkwheel = "/work/shared/acceptance/mkwheel.py"

// makeWheels writes alpha 1.0 (requiring beta>=2), beta 1.0 and beta 2.0
// into dir.
func makeWheels(t *testing.T, python, dir string) {
	t.Helper()
	specs := []pythontest.Spec{
		{Name: "alpha", Version: "1.0", Requires: []string{"beta>=2"}, RequiresPython: ">=3.7"},
		{Name: "beta", Version: "1.0", RequiresPython: ">=3.7"},
		{Name: "beta", Version: "2.0", RequiresPython: ">=3.7"},
	}
	if _, err := os.Stat(mkwheel); err == nil {
		for _, s := range specs {
			out, err := exec.Command(python, append([]string{mkwheel, dir, s.Name, s.Version}, s.Requires...)...).CombinedOutput()
			require.NoError(t, err, "%s", out)
		}
		return
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, s := range specs {
		name, data := s.Wheel()
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
}

// accessLog records the requests a test server saw.
type accessLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *accessLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		l.mu.Lock()
		l.lines = append(l.lines, fmt.Sprintf("%s %s %d %s", r.Method, r.URL.Path, rec.code, rec.Header().Get("Content-Type")))
		l.mu.Unlock()
	})
}

func (l *accessLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

// routed applies the Router in front of next, which serves the
// distribution at base ("/…/"): redirects, or a rewrite of the request to
// the generated file picked.
func routed(base string, pub *publish.Publication, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rel, ok := strings.CutPrefix(r.URL.Path, base); ok {
			if target, redirect, vary, ok := (publication.Publisher{}).Route(r, rel, pub); ok {
				if redirect {
					http.Redirect(w, r, base+target, http.StatusMovedPermanently)
					return
				}
				w.Header().Set("Vary", vary)
				r = r.Clone(r.Context())
				r.URL.Path, r.URL.RawPath = base+target, ""
			}
		}
		next.ServeHTTP(w, r)
	})
}

// TestPipInstall publishes a python repository and installs from it with
// real pip, in a venv, with every pip the machine has (Debian's, the
// ensurepip of each Python: see pythontest.Pips): from the content server
// (content.Server, with the Router applied in front of it unless the server
// calls it itself), from a private distribution, and from a checkout served
// as plain files. pip must resolve alpha's beta>=2 to beta 2.0, ask for the
// JSON pages (PEP 691, pip 22.2 and later) and read the wheels' metadata
// files (PEP 658 under PEP 714's name, pip 23.2 and later).
func TestPipInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs pip")
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: this test runs real pip in a venv (CI installs python3)")
	}
	tmp := t.TempDir()
	pips := pythontest.Pips(t, tmp, "3.7") // the wheels need Python 3.7
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, st := newStore(t, true)
	wheels := filepath.Join(tmp, "dist")
	makeWheels(t, python, wheels)
	adds, err := repo.ParseAdd(wheels)
	require.NoError(t, err)
	_, err = st.Commit(ctx, "py", repo.CommitRequest{Adds: adds})
	require.NoError(t, err)
	dists := dist.NewDists(st)
	_, err = dists.Create(ctx, "pyd", dist.DistSpec{BasePath: "py", Repo: "py"})
	require.NoError(t, err)
	pubs := publish.NewPublications(st, all.Publishers(), 8)
	pub, err := pubs.For(ctx, "python", head(t, ctx, st))
	require.NoError(t, err)

	pip := func(vpy, index string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, vpy, "-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check",
			"--force-reinstall", "--index-url", index, "alpha")
		cmd.Env = append(os.Environ(), "PIP_CONFIG_FILE=/dev/null", "PIP_NO_INPUT=1", "NO_PROXY=*", "no_proxy=*")
		return cmd.CombinedOutput()
	}
	install := func(t *testing.T, vpy, index string, log *accessLog) {
		t.Helper()
		out, err := pip(vpy, index)
		require.NoError(t, err, "pip install:\n%s\nrequests:\n%s", out, log)
		v, err := exec.CommandContext(ctx, vpy, "-c", "import alpha, beta; print(alpha.VERSION, beta.VERSION)").CombinedOutput()
		require.NoError(t, err, "%s", v)
		require.Equal(t, "1.0 2.0", strings.TrimSpace(string(v)), "pip must resolve beta>=2 to beta 2.0\n%s", out)
	}
	// checkLog: pip downloaded the wheels it needed; one that reads them
	// asked for the JSON pages and read the metadata files of the wheels
	// it picked (PEP 658) before downloading them.
	checkLog := func(t *testing.T, p pythontest.Pip, base string, log *accessLog) {
		t.Helper()
		s := log.String()
		want := []string{
			"GET " + base + "alpha-1.0-py3-none-any.whl 200",
			"GET " + base + "beta-2.0-py3-none-any.whl 200",
		}
		if p.AtLeast("22.2") {
			want = append(want,
				"GET "+base+"simple/alpha/ 200 "+pyformat.ContentTypeJSON,
				"GET "+base+"simple/beta/ 200 "+pyformat.ContentTypeJSON)
		}
		if p.AtLeast("23.2") {
			want = append(want,
				"GET "+base+"alpha-1.0-py3-none-any.whl.metadata 200",
				"GET "+base+"beta-2.0-py3-none-any.whl.metadata 200")
		}
		for _, w := range want {
			require.Contains(t, s, w, "%s, requests:\n%s", p, s)
		}
		require.NotContains(t, s, "beta-1.0-py3-none-any.whl ", "%s downloaded beta 1.0:\n%s", p, s)
	}

	t.Run("server", func(t *testing.T) {
		srv := content.NewServer(st, dists, pubs)
		base := content.ContentPrefix + "py/"
		// Use the server alone if it routes Simple API requests itself.
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", base+"simple/beta/", nil)
		r.Header.Set("Accept", pyformat.ContentTypeJSON)
		srv.ServeHTTP(w, r)
		var h http.Handler = srv
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != pyformat.ContentTypeJSON {
			t.Logf("content.Server does not call the Router yet (%d %s): applying it in front", w.Code, w.Header().Get("Content-Type"))
			h = routed(base, pub, srv)
		}
		for _, p := range pips {
			t.Run(p.Version, func(t *testing.T) {
				log := &accessLog{}
				hs := httptest.NewServer(log.wrap(h))
				defer hs.Close()
				install(t, p.Python, hs.URL+base+"simple/", log)
				checkLog(t, p, base, log)
			})
		}
	})

	// A private distribution: pip without credentials is refused; with
	// the token as the password in the index URL (what pip sends as HTTP
	// Basic) it installs.
	t.Run("private", func(t *testing.T) {
		_, err := dists.Create(ctx, "pypriv", dist.DistSpec{BasePath: "priv", Repo: "py", Private: new(true)})
		require.NoError(t, err)
		tokens := auth.New(st)
		scope, err := auth.ParseScope("dist:pypriv:read")
		require.NoError(t, err)
		_, secret, err := tokens.Create(ctx, auth.CreateOptions{Name: "reader", Scopes: []auth.Scope{scope}})
		require.NoError(t, err)
		srv := content.NewServer(st, dists, pubs, content.WithAuth(tokens))
		log := &accessLog{}
		hs := httptest.NewServer(log.wrap(srv))
		defer hs.Close()
		base := content.ContentPrefix + "priv/"
		p := pips[0]
		out, err := pip(p.Python, hs.URL+base+"simple/")
		require.Error(t, err, "pip installed from a private distribution without a token:\n%s", out)
		require.Contains(t, log.String(), "GET "+base+"simple/alpha/ 401")
		withToken := strings.Replace(hs.URL, "http://", "http://__token__:"+secret+"@", 1)
		install(t, p.Python, withToken+base+"simple/", log)
		checkLog(t, p, base, log)
	})

	t.Run("checkout", func(t *testing.T) {
		dir := filepath.Join(tmp, "www")
		_, err := checkout.Dist(ctx, dists, "pyd", dir, checkout.Options{Publishers: all.Publishers()})
		require.NoError(t, err)
		for _, p := range []string{"simple/index.html", "simple/alpha/index.v1.json", "simple/beta/index.html", "beta-2.0-py3-none-any.whl.metadata", "beta-2.0-py3-none-any.whl"} {
			require.FileExists(t, filepath.Join(dir, p))
		}
		base := "/py/"
		files := http.StripPrefix("/py", http.FileServer(http.Dir(dir)))
		// Generated files are served from the checkout with the
		// publication's Content-Type, as a web server's config would
		// (http.FileServer would pick one by extension, and redirect
		// index.html to its directory).
		typed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rel := strings.TrimPrefix(r.URL.Path, base)
			f, ok := pub.File(rel)
			if !ok {
				files.ServeHTTP(w, r)
				return
			}
			data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
			if err != nil {
				http.Error(w, err.Error(), http.StatusNotFound)
				return
			}
			w.Header().Set("Content-Type", f.ContentType)
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
		})
		for _, p := range pips {
			t.Run(p.Version, func(t *testing.T) {
				log := &accessLog{}
				hs := httptest.NewServer(log.wrap(routed(base, pub, typed)))
				defer hs.Close()
				install(t, p.Python, hs.URL+base+"simple/", log)
				checkLog(t, p, base, log)
			})
		}
	})
}
