package publication_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/kinds/deb"
	"github.com/pkgvc/pkgvc/kinds/deb/format/debtest"
	"github.com/pkgvc/pkgvc/kinds/deb/publication"
	"github.com/pkgvc/pkgvc/options"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
)

// apt is a private apt configuration: nothing of the machine's apt
// config or state is read or written.
type apt struct {
	dir string
	ctx context.Context
}

func newApt(t *testing.T, ctx context.Context, sources string, extra ...string) *apt {
	t.Helper()
	d := t.TempDir()
	_, err := debtest.AptConfig(d, sources, extra...)
	require.NoError(t, err)
	return &apt{dir: d, ctx: ctx}
}

func (a *apt) run(dir, tool string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(a.ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, append([]string{"-q"}, args...)...)
	cmd.Env = append(os.Environ(), "APT_CONFIG="+filepath.Join(a.dir, "apt.conf"), "NO_PROXY=*", "no_proxy=*")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// update runs apt-get update, which must verify InRelease and warn of
// nothing.
func (a *apt) update(t *testing.T, log *accessLog) {
	t.Helper()
	out, err := a.run("", "apt-get", "update")
	require.NoError(t, err, "apt-get update:\n%s\nrequests:\n%s", out, log)
	require.NotRegexp(t, regexp.MustCompile(`(?m)^(W|E|Err):`), out, "apt-get update warned:\n%s", out)
	lists, err := os.ReadDir(filepath.Join(a.dir, "state/lists"))
	require.NoError(t, err)
	found := false
	for _, l := range lists {
		found = found || strings.HasSuffix(l.Name(), "_InRelease")
	}
	require.True(t, found, "apt did not keep an InRelease:\n%s", out)
}

func (a *apt) candidate(t *testing.T, pkg string) string {
	t.Helper()
	out, err := a.run("", "apt-cache", "policy", pkg)
	require.NoError(t, err, out)
	m := regexp.MustCompile(`Candidate: (\S+)`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	return m[1]
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
		l.lines = append(l.lines, fmt.Sprintf("%s %s %d", r.Method, r.URL.Path, rec.code))
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

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// aptGzOnly has apt fetch the .gz indexes rather than the .xz.
const aptGzOnly = `Acquire::CompressionTypes::Order { "gz"; }; Acquire::CompressionTypes::xz "false"; Acquire::CompressionTypes::lzma "false";`

// served is a distribution of the env's repository (settings stable)
// behind a test content server that logs its requests.
type served struct {
	dists *dist.Dists
	log   *accessLog
	hs    *httptest.Server
	base  string // the distribution's URL
}

func (e *env) serve(t *testing.T, ctx context.Context, name, basePath string, private bool, opts ...content.ServerOption) *served {
	t.Helper()
	o, err := options.Encode(stable)
	require.NoError(t, err)
	spec := dist.DistSpec{BasePath: basePath, Repo: "deb", Options: o}
	if private {
		spec.Private = new(true)
	}
	dists := dist.NewDists(e.st)
	_, err = dists.Create(ctx, name, spec)
	require.NoError(t, err)
	pubs := publish.NewPublications(e.st, all.Publishers(), 8)
	log := &accessLog{}
	hs := httptest.NewServer(log.wrap(content.NewServer(e.st, dists, pubs, opts...)))
	t.Cleanup(hs.Close)
	return &served{dists: dists, log: log, hs: hs, base: hs.URL + content.ContentPrefix + basePath}
}

// TestAptGet: real apt-get against the content server: update with
// signed-by the exported key (no trusted=yes) and no warning, install
// --simulate resolving a dependency from the same repository, download
// byte for byte; a commit is seen by apt without a restart, by-hash
// through the change, and the by-hash files of the older InRelease are
// still served after it.
func TestAptGet(t *testing.T) {
	for _, tool := range []string{"apt-get", "apt-cache", "dpkg-deb", "gpg", "gpgv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("this test runs %s: install it (apt-get install apt dpkg gnupg gpgv)", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e := newEnv(t)
	tmp := t.TempDir()
	keyring := e.gpgKeyring(t, tmp)
	debs := map[string][]byte{}
	mk := func(comp string, s debSpec) repo.Record {
		data, ctl := mkdeb(t, tmp, s)
		debs[fmt.Sprintf("%s_%s_%s.deb", s.name, s.version, s.arch)] = data
		return e.record(t, comp, s, data, ctl)
	}
	b20 := mk("main", debSpec{name: "hello-b", version: "2.0", arch: "amd64"})
	e.commit(t, []repo.Record{
		mk("main", debSpec{name: "hello-a", version: "1.0", arch: "all", depends: "hello-b (>= 2.0)"}),
		b20,
		mk("main", debSpec{name: "hello-b", version: "1.0", arch: "amd64"}),
	})
	srv := e.serve(t, ctx, "stable", "debian", false)
	dists, log, base := srv.dists, srv.log, srv.base

	a := newApt(t, ctx, "deb [signed-by="+keyring+"] "+base+" stable main")
	a.update(t, log)
	out, err := a.run("", "apt-get", "install", "--simulate", "hello-a")
	require.NoError(t, err, out)
	require.Regexp(t, `(?m)^Inst hello-b \(2\.0 `, out, "hello-a's dependency from the same repository")
	require.Regexp(t, `(?m)^Inst hello-a \(1\.0 `, out)
	dl := t.TempDir()
	out, err = a.run(dl, "apt-get", "download", "hello-a", "hello-b")
	require.NoError(t, err, out)
	for _, f := range []string{"hello-a_1.0_all.deb", "hello-b_2.0_amd64.deb"} {
		got, err := os.ReadFile(filepath.Join(dl, f))
		require.NoError(t, err, out)
		require.True(t, bytes.Equal(debs[f], got), "apt-get download gave other bytes for %s", f)
	}
	require.Contains(t, log.String(), "/by-hash/SHA256/", "apt fetches indexes by hash")
	// The indexes are joined from several chunks (gzip members, xz
	// blocks): apt reads the .gz as well as the .xz.
	require.NotEqual(t, publication.Bucket("pool/main/h/hello-a/x"), publication.Bucket("pool/main/h/hello-b/x"))
	gz := newApt(t, ctx, "deb [signed-by="+keyring+"] "+base+" stable main", aptGzOnly)
	gz.update(t, log)
	_, relText := get(t, base+"/dists/stable/Release")
	gzSum := parseRelease(t, string(relText)).sums["SHA256"]["main/binary-amd64/Packages.gz"].hex
	require.Contains(t, log.String(), "/main/binary-amd64/by-hash/SHA256/"+gzSum+" 200", "apt read Packages.gz")
	require.Equal(t, "2.0", gz.candidate(t, "hello-b"))

	// Signed by another key: refused.
	gh := t.TempDir()
	gpg := func(args ...string) []byte {
		cmd := exec.Command("gpg", append([]string{"--batch", "--homedir", gh}, args...)...)
		b, err := cmd.Output()
		require.NoError(t, err)
		return b
	}
	gpg("--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", "Other <other@example.invalid>", "ed25519", "sign", "never")
	other := filepath.Join(tmp, "other.gpg")
	require.NoError(t, os.WriteFile(other, gpg("--export", "other@example.invalid"), 0o644))
	_ = exec.Command("gpgconf", "--homedir", gh, "--kill", "all").Run()
	wrong := newApt(t, ctx, "deb [signed-by="+other+"] "+base+" stable main")
	out, err = wrong.run("", "apt-get", "update")
	require.Error(t, err, out)
	require.Regexp(t, `NO_PUBKEY|is not signed`, out)

	// The InRelease apt read names by-hash files; hello-b 2.1 replaces
	// 2.0 and the server, still running, serves it.
	_, oldRel := get(t, base+"/dists/stable/Release")
	old := parseRelease(t, string(oldRel))
	e.clock.Add(time.Minute)
	e.commit(t, []repo.Record{mk("main", debSpec{name: "hello-b", version: "2.1", arch: "amd64"})}, b20.Path)
	a.update(t, log)
	require.Equal(t, "2.1", a.candidate(t, "hello-b"))
	out, err = a.run(dl, "apt-get", "download", "hello-b")
	require.NoError(t, err, out)
	got, err := os.ReadFile(filepath.Join(dl, "hello-b_2.1_amd64.deb"))
	require.NoError(t, err)
	require.True(t, bytes.Equal(debs["hello-b_2.1_amd64.deb"], got))
	_, newRel := get(t, base+"/dists/stable/Release")
	require.NotEqual(t, string(oldRel), string(newRel))
	for p, s := range old.sums["SHA256"] {
		dir := p[:strings.LastIndexByte(p, '/')+1]
		code, data := get(t, base+"/dists/stable/"+dir+"by-hash/SHA256/"+s.hex)
		require.Equal(t, http.StatusOK, code, "by-hash of the older %s", p)
		require.Equal(t, s.size, int64(len(data)))
	}

	// A rollback is a new version holding the old packages: its Release
	// is newer, as apt requires (it keeps what it has when a Release is
	// dated before the one it read: pinning a distribution to an older
	// version is not seen by clients that read a later one).
	e.clock.Add(time.Minute)
	v := e.commit(t, []repo.Record{b20}, deb.PoolPath("main", "hello-b", "hello-b", "2.1", "amd64"))
	_, err = dists.Update(ctx, "stable", dist.DistSpec{Version: v.ID.String()})
	require.NoError(t, err)
	a.update(t, log)
	require.Equal(t, "2.0", a.candidate(t, "hello-b"))
}

// TestAptPrivate: a private distribution refuses apt without a token and
// serves it with the token in an auth.conf.d file (apt's way; over
// plain HTTP apt wants the machine line to say http://).
func TestAptPrivate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e := newEnv(t)
	tmp := t.TempDir()
	keyring := e.gpgKeyring(t, tmp)
	s := debSpec{name: "hello-p", version: "1.0", arch: "all"}
	data, ctl := mkdeb(t, tmp, s)
	e.commit(t, []repo.Record{e.record(t, "main", s, data, ctl)})
	tokens := auth.New(e.st)
	scope, err := auth.ParseScope("dist:priv:read")
	require.NoError(t, err)
	_, secret, err := tokens.Create(ctx, auth.CreateOptions{Name: "apt", Scopes: []auth.Scope{scope}})
	require.NoError(t, err)
	srv := e.serve(t, ctx, "priv", "debpriv", true, content.WithAuth(tokens))
	line := "deb [signed-by=" + keyring + "] " + srv.base + " stable main"

	anon := newApt(t, ctx, line)
	out, err := anon.run("", "apt-get", "update")
	require.Error(t, err, out)
	require.Contains(t, out, "401")

	a := newApt(t, ctx, line)
	host := strings.TrimPrefix(srv.hs.URL, "http://")
	require.NoError(t, os.MkdirAll(filepath.Join(a.dir, "auth.conf.d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(a.dir, "auth.conf.d", "pkgvc.conf"),
		[]byte("machine http://"+host+content.ContentPrefix+"debpriv login apt password "+secret+"\n"), 0o600))
	conf, err := os.OpenFile(filepath.Join(a.dir, "apt.conf"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = fmt.Fprintf(conf, "Dir::Etc::netrc \"/dev/null\"; Dir::Etc::netrcparts %q;\n", filepath.Join(a.dir, "auth.conf.d"))
	require.NoError(t, err)
	require.NoError(t, conf.Close())
	a.update(t, srv.log)
	dl := t.TempDir()
	out, err = a.run(dl, "apt-get", "download", "hello-p")
	require.NoError(t, err, out)
	got, err := os.ReadFile(filepath.Join(dl, "hello-p_1.0_all.deb"))
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, got))
}

// TestAptEmptyDistribution: a version without packages (all removed)
// still publishes a repository apt updates from without an error or a
// warning.
func TestAptEmptyDistribution(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := newEnv(t)
	tmp := t.TempDir()
	keyring := e.gpgKeyring(t, tmp)
	s := debSpec{name: "hello-e", version: "1.0", arch: "all"}
	data, ctl := mkdeb(t, tmp, s)
	r := e.record(t, "main", s, data, ctl)
	e.commit(t, []repo.Record{r})
	e.commit(t, nil, r.Path)
	srv := e.serve(t, ctx, "stable", "debian", false)
	line := "deb [signed-by=" + keyring + "] " + srv.base + " stable main"
	a := newApt(t, ctx, line)
	a.update(t, srv.log)
	for _, gz := range []bool{false, true} {
		if gz {
			a = newApt(t, ctx, line, aptGzOnly)
			a.update(t, srv.log)
		}
		out, err := a.run("", "apt-cache", "policy", "hello-e")
		require.NoError(t, err, out)
		require.NotContains(t, out, "Candidate: 1.0")
	}
}
