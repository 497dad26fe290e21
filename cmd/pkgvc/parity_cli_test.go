package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pkgvc/pkgvc/app"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/api/local"
	"github.com/pkgvc/pkgvc/api/server"
	"github.com/pkgvc/pkgvc/internal/auth"
	"github.com/pkgvc/pkgvc/internal/tasks"
	"github.com/pkgvc/pkgvc/remote"
)

// newAPIServer serves a fresh store over the REST API and returns its URL
// and an admin token named ci.
func newAPIServer(t *testing.T) (string, string) {
	t.Helper()
	ap, err := app.Open(t.Context(), filepath.Join(t.TempDir(), "server"), app.WithCreate(), app.WithServiceOptions(local.WithStoreTasks()))
	require.NoError(t, err)
	svc := ap.Service()
	require.NoError(t, err)
	secret := adminToken(t, svc)
	runner := svc.TaskRunner(tasks.RunnerConfig{Poll: 20 * time.Millisecond, Flush: 20 * time.Millisecond, ErrorCode: server.ErrorCode})
	require.NoError(t, runner.Start(t.Context()))
	t.Cleanup(func() { require.NoError(t, runner.Close()) })
	srv, err := server.New(svc, svc.Tokens(), server.WithUploadDir(t.TempDir()))
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts.URL, secret
}

func adminToken(t *testing.T, svc api.Service) string {
	t.Helper()
	sc, err := auth.ParseScope("*:*:admin")
	require.NoError(t, err)
	_, secret, err := svc.CreateToken(t.Context(), api.TokenRequest{Name: "ci", Scopes: []auth.Scope{sc}})
	require.NoError(t, err)
	return secret
}

// unstable matches what differs between two stores given the same
// commands: ids, times, token secrets, and the counts of objects written
// (a client uploads blobs before it commits).
var unstable = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\b[0-9a-f]{64}\b`), "ID"},
	{regexp.MustCompile(`\b[0-9a-f]{12}\b`), "SHORTID"},
	{regexp.MustCompile(`pkgvc_[A-Za-z0-9_-]+`), "SECRET"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?`), "TIME"},
	{regexp.MustCompile(`[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}`), "TIME"},
	{regexp.MustCompile(`"new_(objects|bytes)": \d+`), `"new_$1": N`},
	{regexp.MustCompile(`"seconds": [0-9.e-]+`), `"seconds": S`},
	{regexp.MustCompile(`"incarnation": "[0-9a-f]+"`), `"incarnation": "N"`},
	{regexp.MustCompile(` in [0-9.]+(ns|µs|ms|s)\n`), " in DURATION\n"},
}

func normalize(s string) string {
	for _, u := range unstable {
		s = u.re.ReplaceAllString(s, u.with)
	}
	return s
}

// knownDiffs are the commands whose output through a server still differs
// from a local store's; only their exit codes are compared.
var knownDiffs = map[string]string{}

// TestServerParity runs the same commands on a local store and through a
// server: output and exit codes must be the same.
func TestServerParity(t *testing.T) {
	t.Setenv("PKGVC_AUTHOR", "ci")                       // the local identity; the server records the token's name
	t.Setenv("PKGVC_PUBLIC_URL", "https://pkgs.example") // else the URLs of dists name the server or a placeholder
	h := newHarness(t)
	ap, err := app.Open(t.Context(), h.store, app.WithCreate())
	require.NoError(t, err)
	svc := ap.Service()
	require.NoError(t, err)
	adminToken(t, svc) // so that token list shows the same
	url, secret := newAPIServer(t)
	t.Setenv("PKGVC_TOKEN", secret)

	in := h.dir("in", "a/one.txt", "one")
	h.file("in/b.txt", []byte("bee"))
	fix := h.file("fix.txt", []byte("fixed"))
	up := upstream(t, map[string]string{"u/up.txt": "from upstream"})
	broken := upstream(t, map[string]string{"u/bad.txt": "bad"}, "u/bad.txt")
	for _, args := range [][]string{
		{"repo", "create", "dev"},
		{"repo", "create", "test", "--retain", "5"},
		{"repo", "create", "Bad"},
		{"commit", "dev", "--add", in, "-m", "first"},
		{"commit", "dev", "--add", fix + "=a/fix.txt", "--remove", "b.txt", "-m", "second"},
		{"commit", "dev", "--add", fix + "=a/fix.txt"},
		{"--json", "commit", "dev", "--allow-empty", "-m", "empty"},
		{"commit", "nope", "--allow-empty"},
		{"repo", "list"},
		{"repo", "show", "dev"},
		{"--json", "repo", "show", "dev"},
		{"log", "dev"},
		{"--json", "log", "dev", "-n", "1"},
		{"log", "nope"},
		{"ls", "dev"},
		{"--json", "ls", "dev@1"},
		{"ls", "dev@9"},
		{"ls", "dev", "a/"},
		{"--json", "ls", "dev", "a"},
		{"ls", "dev", "zz"},
		{"--json", "ls", "dev@1", "zz"},
		{"cat", "dev", "a/fix.txt"},
		{"cat", "dev", "missing"},
		{"diff", "dev@1", "dev"},
		{"--json", "diff", "dev@1", "dev"},
		{"diff", "--by-package", "dev@1", "dev"},
		{"promote", "dev@2", "test"},
		{"promote", "dev", "test"},
		{"promote", "dev", "test"},
		{"rollback", "dev", "dev@1"},
		{"promote", "dev", "test"},
		{"--json", "promote", "dev:test"},
		{"reflog", "test"},
		{"dist", "create", "web", "--base-path", "site/web", "--repo", "test"},
		{"dist", "create", "pin", "--base-path", "site/pin", "--version", "dev@1", "--private"},
		{"dist", "create", "x", "--base-path", "site/web", "--repo", "test"},
		{"dist", "list"},
		{"dist", "show", "web"},
		{"dist", "show", "pin"},
		{"--json", "dist", "show", "web"},
		{"dist", "update", "web", "--private"},
		{"repo", "delete", "test"},
		{"dist", "delete", "web"},
		{"remote", "create", "up", "--url", "http://127.0.0.1:9/PULP_MANIFEST", "--include", "a/**", "--retries", "2"},
		{"remote", "show", "up"},
		{"remote", "update", "up", "--policy", "on_demand", "--include", "", "--read-timeout", "1m"},
		{"--json", "remote", "show", "up"},
		{"remote", "update", "up", "--policy", "never"},
		{"remote", "list"},
		{"dist", "create", "pt", "--base-path", "site/pt", "--repo", "dev", "--remote", "nosuch"},
		{"dist", "create", "pt", "--base-path", "site/pt", "--repo", "dev", "--remote", "up"},
		{"remote", "delete", "up"},
		{"--json", "remote", "delete", "up"},
		{"remote", "delete", "up", "--force"},
		{"dist", "show", "pt"},
		{"remote", "delete", "up"},
		{"--json", "remote", "delete", "up"},
		{"token", "create", "--name", "reader", "--scope", "dist:*:read", "--expires", "30d"},
		{"token", "list"},
		{"token", "revoke", "reader"},
		{"remote", "create", "up", "--url", up + "/PULP_MANIFEST"},
		{"remote", "create", "broken", "--url", broken + "/PULP_MANIFEST", "--retries", "0"},
		{"sync", "up", "dev"},
		{"sync", "up", "dev", "--mirror", "-m", "mirror"},
		{"--json", "sync", "up", "dev"},
		{"sync", "up", "nope"},
		{"sync", "nope", "dev"},
		{"sync", "broken", "dev"},
		{"--json", "sync", "broken", "dev"},
		{"log", "dev", "-n", "1"},
		{"repo", "create", "pyempty", "--kind", "python"},
		{"promote", "dev", "pyempty"},
		{"promote", "--force", "dev", "pyempty"},
		{"promote", "--only", "a/**", "dev", "pyempty"},
		{"rollback", "pyempty", "dev"},
		{"remote", "create", "pyup", "--kind", "python", "--url", "http://127.0.0.1:9/simple/"},
		{"dist", "create", "mixed", "--base-path", "site/mixed", "--repo", "dev", "--remote", "pyup"},
		{"dist", "create", "mixed", "--base-path", "site/mixed", "--repo", "dev"},
		{"dist", "update", "mixed", "--remote", "pyup"},
		{"dist", "create", "pypin", "--base-path", "site/pypin", "--version", "dev@1", "--remote", "pyup"},
		{"repo", "delete", "test", "--force"},
		{"repo", "list"},
	} {
		name := strings.Join(args, " ")
		want := h.run(args...)
		got := runCLI(t, append([]string{"--server", url}, args...)...)
		require.Equal(t, want.code, got.code, "pkgvc %s\nlocal:  %s\nserver: %s", name, want, got)
		if why, ok := knownDiffs[name]; ok {
			t.Logf("pkgvc %s: known difference (%s)\nlocal:  %s\nserver: %s", name, why, want, got)
			continue
		}
		assert.Equal(t, normalize(want.stdout), normalize(got.stdout), "pkgvc %s: stdout", name)
		assert.Equal(t, normalize(want.stderr), normalize(got.stderr), "pkgvc %s: stderr", name)
	}
	// checkout writes on this machine either way, the same files.
	ldir, rdir := filepath.Join(t.TempDir(), "co"), filepath.Join(t.TempDir(), "co")
	for _, args := range [][]string{{"checkout", "pin", "DIR"}, {"checkout", "pin", "DIR"}, {"--json", "checkout", "pin", "DIR"}, {"checkout", "nope", "DIR"}} {
		name := strings.Join(args, " ")
		at := func(dir string) []string {
			return strings.Split(strings.Replace(name, "DIR", dir, 1), " ")
		}
		want := h.run(at(ldir)...)
		got := runCLI(t, append([]string{"--server", url}, at(rdir)...)...)
		require.Equal(t, want.code, got.code, "pkgvc %s\nlocal:  %s\nserver: %s", name, want, got)
		unDir := func(s, dir string) string {
			s = strings.ReplaceAll(s, filepath.Join(filepath.Dir(dir), "co.pkgvc"), "HOME")
			return normalize(strings.ReplaceAll(s, dir, "DIR"))
		}
		assert.Equal(t, unDir(want.stdout, ldir), unDir(got.stdout, rdir), "pkgvc %s: stdout", name)
		assert.Equal(t, unDir(want.stderr, ldir), unDir(got.stderr, rdir), "pkgvc %s: stderr", name)
	}
	for _, f := range []string{"PULP_MANIFEST", "a/one.txt", "b.txt"} {
		want, err := os.ReadFile(filepath.Join(ldir, f))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(rdir, f))
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), f)
	}

	// The server's store also holds its tasks: only the counts differ.
	digits := regexp.MustCompile(`\d+`)
	for _, args := range [][]string{{"gc", "--dry-run"}, {"fsck"}, {"--json", "fsck"}, {"reflog", "expire", "--older-than", "90d"}, {"reflog", "expire", "--older-than", "soon"}} {
		want := h.run(args...)
		got := runCLI(t, append([]string{"--server", url}, args...)...)
		require.Equal(t, want.code, got.code, "pkgvc %s\nlocal:  %s\nserver: %s", args, want, got)
		assert.Equal(t, digits.ReplaceAllString(want.stdout, "N"), digits.ReplaceAllString(got.stdout, "N"), "pkgvc %s", args)
		assert.Equal(t, want.stderr, got.stderr, "pkgvc %s", args)
	}
}

// upstream serves files in a PULP_MANIFEST; the files named in bad are
// served with other bytes than the manifest says.
func upstream(t *testing.T, files map[string]string, bad ...string) string {
	t.Helper()
	mux := http.NewServeMux()
	var manifest string
	for p, body := range files {
		manifest += fmt.Sprintf("%s,%x,%d\n", p, sha256.Sum256([]byte(body)), len(body))
		if slices.Contains(bad, p) {
			body = strings.ToUpper(body)
		}
		mux.HandleFunc("GET /"+p, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, body) })
	}
	mux.HandleFunc("GET /PULP_MANIFEST", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, manifest) })
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts.URL
}

// TestServerTasks runs syncs, gc and fsck as tasks on a server, and
// schedules them.
func TestServerTasks(t *testing.T) {
	url, secret := newAPIServer(t)
	t.Setenv("PKGVC_TOKEN", secret)
	run := func(args ...string) result {
		t.Helper()
		return runCLI(t, append([]string{"--server", url}, args...)...)
	}
	ok := func(args ...string) string {
		t.Helper()
		r := run(args...)
		require.Equal(t, 0, r.code, "pkgvc %s\n%s", strings.Join(args, " "), r)
		return r.stdout
	}
	up := upstream(t, map[string]string{"u/up.txt": "from upstream"})
	ok("repo", "create", "dev")
	ok("remote", "create", "up", "--url", up+"/PULP_MANIFEST")

	id := strings.TrimSpace(ok("sync", "--no-wait", "up", "dev", "--mirror"))
	require.NotEmpty(t, id)
	out := ok("task", "wait", id)
	require.Contains(t, out, "request:  sync up dev --mirror\n")
	require.Contains(t, out, "state:    completed\n")
	require.Contains(t, out, "by:       ci\n")
	require.Regexp(t, `(?m)^result: \{"remote":"up","repo":"dev",`, out, "the result is JSON, not base64")
	require.Contains(t, ok("ls", "dev"), "u/up.txt")
	list := ok("--json", "task", "list")
	require.Contains(t, list, `"result": {`)
	var ts []api.Task
	require.NoError(t, json.Unmarshal([]byte(list), &ts))
	require.Len(t, ts, 1)
	var res remote.SyncResult
	require.NoError(t, json.Unmarshal(ts[0].Result, &res))
	require.Equal(t, 1, res.Added)
	require.Regexp(t, `(?m)^`+id+` +completed +sync up dev --mirror +`, ok("task", "list"))

	id = strings.TrimSpace(ok("gc", "--no-wait", "--dry-run"))
	require.Contains(t, ok("task", "wait", id), "state:    completed\n")
	var task api.Task
	require.NoError(t, json.Unmarshal([]byte(ok("--json", "fsck", "--no-wait")), &task))
	require.Equal(t, api.TaskRequest{Op: "fsck"}, task.Request)
	require.NoError(t, json.Unmarshal([]byte(ok("--json", "task", "wait", task.ID)), &task))
	require.Equal(t, api.TaskCompleted, task.State)

	require.Equal(t, 1, run("sync", "--no-wait", "up", "nope").code, "refused before it is queued")
	require.Equal(t, 1, run("task", "show", "nosuchtask").code)

	out = ok("schedule", "create", "nightly", "--cron", "0 2 * * *", "--", "sync", "up", "dev", "--mirror")
	require.Regexp(t, `^created schedule nightly \(0 2 \* \* \*\): sync up dev --mirror; next run \d{4}-`, out)
	require.Regexp(t, `(?m)^nightly +0 2 \* \* \* +sync up dev --mirror +\d{4}-\S+ \S+ +- +-$`, ok("schedule", "list"))
	require.Equal(t, 1, run("schedule", "create", "bad", "--cron", "at two", "--", "sync", "up", "dev").code)
	require.Equal(t, "deleted schedule nightly\n", ok("schedule", "delete", "nightly"))
	require.Equal(t, "[]\n", ok("--json", "schedule", "list"))
}

// TestLocalTasks: without --server, --no-wait queues the task in the store
// for a `pkgvc serve` to run.
func TestLocalTasks(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "dev")
	h.ok("remote", "create", "up", "--url", "http://127.0.0.1:9/PULP_MANIFEST")
	id := strings.TrimSpace(h.ok("sync", "--no-wait", "up", "dev"))
	require.Regexp(t, `(?m)^`+id+` +queued +sync up dev +`, h.ok("task", "list"))
	require.Equal(t, "task "+id+" canceled\n", h.ok("task", "cancel", id))
}
