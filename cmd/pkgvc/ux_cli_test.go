package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api/client"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// TestNoStoreMadeByReads: a command that only reads, or one whose
// arguments are wrong, fails on a missing store and creates nothing; the
// commands that write make the store.
func TestNoStoreMadeByReads(t *testing.T) {
	for _, args := range [][]string{
		{"repo", "list"}, {"repo", "show", "dev"}, {"log", "dev"}, {"ls", "dev"}, {"cat", "dev", "a.txt"},
		{"diff", "dev", "test"}, {"reflog", "dev"}, {"fsck"}, {"gc"}, {"gc", "--grace", "0s"},
		{"promote", "dev", "test"}, {"rollback", "dev", "dev~1"}, {"repo", "delete", "dev"},
		{"dist", "list"}, {"dist", "show", "d"}, {"dist", "create", "d", "--base-path", "d", "--repo", "dev"},
		{"remote", "list"}, {"remote", "show", "r"}, {"remote", "delete", "r"}, {"sync", "r", "dev"},
		{"task", "list"}, {"schedule", "list"}, {"token", "list"}, {"checkout", "d", "out"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			dir := t.TempDir()
			store := filepath.Join(dir, "typo")
			r := runCLI(t, append([]string{"--store", store}, args...)...)
			requireRefused(t, r, "no store at "+store, "pkgvc repo create")
			require.NoDirExists(t, store)
			require.NotContains(t, r.stderr, "pkgvc: pkgvc")
		})
	}
	for _, args := range [][]string{
		{"repo", "create"}, {"repo", "create", "a", "b"}, {"commit"}, {"token", "create"},
		{"remote", "create"}, {"serve", "extra"}, {"serve", "--task-workers", "-1"},
	} {
		t.Run("bad "+strings.Join(args, " "), func(t *testing.T) {
			store := filepath.Join(t.TempDir(), "store")
			r := runCLI(t, append([]string{"--store", store}, args...)...)
			require.Equal(t, 2, r.code, "%s", r)
			require.NoDirExists(t, store)
		})
	}
	t.Run("repo create of an unknown kind", func(t *testing.T) {
		store := filepath.Join(t.TempDir(), "store")
		names := all.Kinds().Names()
		want := strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
		requireRefused(t, runCLI(t, "--store", store, "repo", "create", "a", "--kind", "nosuch"), "nosuch", want)
		require.NoDirExists(t, store)
	})
	t.Run("writers make it", func(t *testing.T) {
		h := newHarness(t)
		h.ok("repo", "create", "dev")
		require.FileExists(t, filepath.Join(h.store, "pkgvc-store.json"))
		require.Contains(t, h.ok("repo", "list"), "dev")
	})
}

// TestJSONErrors: with --json a failure also prints {"error":{code,message}}
// on stdout, with the REST API's code; stderr and the exit code are as
// without --json.
func TestJSONErrors(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "dev")
	h.ok("repo", "create", "test")
	h.ok("commit", "dev", h.file("a.txt", []byte("a")))
	h.ok("commit", "test", h.file("b.txt", []byte("b")))
	for _, tc := range []struct {
		args []string
		code string
		exit int
	}{
		{[]string{"promote", "nosuch", "other"}, "repo_not_found", 1},
		{[]string{"promote", "dev", "test"}, "not_fast_forward", 1},
		{[]string{"repo", "create", "dev"}, "exists", 1},
		{[]string{"log", "dev@9"}, "version_not_found", 1},
		{[]string{"promote", "a:"}, "invalid", 2},
		{[]string{"nosuchcommand"}, "invalid", 2},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			plain := h.run(tc.args...)
			r := h.run(append([]string{"--json"}, tc.args...)...)
			require.Equal(t, tc.exit, r.code, "%s", r)
			require.Equal(t, plain.code, r.code)
			require.Equal(t, plain.stderr, r.stderr)
			var doc struct {
				Error struct{ Code, Message string }
			}
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc), "%s", r)
			require.Equal(t, tc.code, doc.Error.Code)
			require.Equal(t, strings.TrimPrefix(strings.TrimSpace(r.stderr), "pkgvc: "), doc.Error.Message)
		})
	}
	require.NoDirExists(t, filepath.Join(h.work, "pkgvc-data"))
}

// TestGCGraceZero: gc --grace 0s is no grace locally, through a server,
// and as a task started with --no-wait.
func TestGCGraceZero(t *testing.T) {
	url, secret := newAPIServer(t)
	t.Setenv("PKGVC_TOKEN", secret)
	h := newHarness(t)
	srv := *h
	srv.global = []string{"--server", url}
	for _, h := range []*harness{h, &srv} {
		h.ok("repo", "create", "gone")
		h.ok("commit", "gone", h.file("g.txt", []byte("garbage soon")))
		h.ok("repo", "delete", "gone")
		var res struct {
			DeletedObjects int `json:"deleted_objects"`
			KeptYoung      int `json:"kept_young"`
		}
		h.jsonOK(&res, "gc", "--grace", "0s", "--dry-run")
		require.Positive(t, res.DeletedObjects, "%v: --grace 0s keeps nothing young", h.global)
		require.Zero(t, res.KeptYoung, "%v", h.global)
		h.jsonOK(&res, "gc", "--dry-run")
		require.Zero(t, res.DeletedObjects, "%v: the default grace keeps them", h.global)
		require.Positive(t, res.KeptYoung, "%v", h.global)

		id := strings.TrimSpace(h.ok("gc", "--grace", "0s", "--dry-run", "--no-wait"))
		var task struct {
			Result struct {
				DeletedObjects int `json:"deleted_objects"`
			} `json:"result"`
		}
		if h == &srv {
			h.jsonOK(&task, "task", "wait", id)
			require.Positive(t, task.Result.DeletedObjects, "a gc task with --grace 0s keeps nothing young")
		}
	}
}

// TestSyncProgressThroughServer: a sync through a server reports the sync
// engine's byte totals, carried by the task, to the caller's bar: never a
// queued task's 0 of 0, and at the end all of it.
func TestSyncProgressThroughServer(t *testing.T) {
	url, secret := newAPIServer(t)
	c, err := client.New(url, secret)
	require.NoError(t, err)
	defer c.Close()
	files := map[string]string{}
	var total int64
	for i := range 8 {
		body := strings.Repeat(fmt.Sprint(i), 64<<10)
		files[fmt.Sprintf("u/%d.bin", i)] = body
		total += int64(len(body))
	}
	up := upstream(t, files)
	ctx := t.Context()
	_, err = c.CreateRepo(ctx, "dev", repo.CreateOptions{})
	require.NoError(t, err)
	_, err = c.CreateRemote(ctx, remote.Remote{Name: "up", Kind: "file", URL: up + "/PULP_MANIFEST"})
	require.NoError(t, err)
	var seen []remote.SyncProgress
	res, err := c.Sync(ctx, "up", "dev", remote.SyncOptions{Progress: func(p remote.SyncProgress) { seen = append(seen, p) }})
	require.NoError(t, err)
	require.Equal(t, 8, res.Downloaded)
	require.NotEmpty(t, seen)
	for _, p := range seen {
		require.Equal(t, total, p.BytesTotal, "%+v", seen)
	}
	require.Equal(t, total, seen[len(seen)-1].Bytes)
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		r := runCLI(t, args...)
		require.Equal(t, 0, r.code, "%s", r)
		require.Regexp(t, `^pkgvc version \S+.* go1\.\d+`, r.stdout)
	}
	r := runCLI(t, "--json", "version")
	require.Equal(t, 0, r.code, "%s", r)
	var v buildVersion
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v))
	require.NotEmpty(t, v.Version)
	require.Equal(t, runtime.Version(), v.Go)
	require.Equal(t, 2, runCLI(t, "version", "extra").code)
}

// TestFailureHints: failures a new user meets say in one line what to do,
// locally and through a server, with the API's code under --json.
func TestFailureHints(t *testing.T) {
	url, secret := newAPIServer(t)
	h := newHarness(t)
	srv := h.through(url, h.file("token", []byte(secret)))
	dead := "http://" + freeAddr(t) // nothing listens there
	for _, h := range []*harness{h, srv} {
		h.ok("repo", "create", "dev")
		h.ok("remote", "create", "up", "--url", dead+"/PULP_MANIFEST", "--retries", "0")
		r := h.run("sync", "up", "dev")
		requireRefused(t, r, "upstream "+dead+" refuses connections", "pkgvc remote update up --url URL")
		require.Equal(t, 1, strings.Count(r.stderr, "\n"), "%s", r)
		r = h.run("--json", "sync", "up", "dev")
		var doc struct{ Error struct{ Code string } }
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc), "%s", r)
		require.Equal(t, "unreachable", doc.Error.Code)

		requireRefused(t, h.run("remote", "create", "x", "--url", "example.com/simple/"), `"example.com/simple/" has no scheme: give https://example.com/simple/`)
	}
	t.Setenv("PKGVC_TOKEN", "")
	r := runCLI(t, "--server", url, "repo", "list")
	requireRefused(t, r, "no API token for "+url, "--token-file", "$PKGVC_TOKEN")
	require.NotContains(t, r.stderr, "unauthorized:")
	r = runCLI(t, "--json", "--server", url, "repo", "list")
	require.Contains(t, r.stdout, `"code": "unauthorized"`)
	host := strings.TrimPrefix(url, "http://")
	requireRefused(t, runCLI(t, "--server", host, "repo", "list"), "--server "+host+" has no scheme: give http://"+host)
}

// TestServeSaysWhatItServes: serve on an empty store says what it serves
// and what to do next; GET / answers a page saying the same.
func TestServeSaysWhatItServes(t *testing.T) {
	h := newHarness(t)
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"pkgvc", "--store", h.store, "serve", "--listen", addr, "--access-log", os.DevNull}, &stdout, &stderr)
	}()
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), "empty") }, 10*time.Second, 20*time.Millisecond, "%s", stderr.String())
	out := stdout.String()
	for _, want := range []string{"http://" + addr + "/", "/content/<base-path>/", "/v2/", "/api/v1/", "the store is empty", "pkgvc repo create NAME", "pkgvc dist create"} {
		require.Contains(t, out, want)
	}
	page := string(fetch(t, "http://"+addr+"/"))
	require.Contains(t, page, "http://"+addr+"/api/v1/")
	require.Contains(t, page, "No distribution yet")
	cancel()
	require.Equal(t, 0, <-done, "%s", stderr.String())
}

// TestDistURLs: dist create and dist show say the URL clients use, also in
// --json, from --public-url, else the --server URL, else a placeholder.
func TestDistURLs(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "py", "--kind", "python")
	h.ok("repo", "create", "img", "--kind", "container")
	h.ok("repo", "create", "site")
	require.Contains(t, h.ok("dist", "create", "py", "--base-path", "team/py", "--repo", "py"),
		"pip install --index-url http://<server>/content/team/py/simple/ PROJECT")
	var d struct {
		Name, URL, Use string
	}
	h.jsonOK(&d, "--public-url", "https://pkgs.example:8443", "dist", "create", "img", "--base-path", "team/img", "--repo", "img")
	require.Equal(t, "pkgs.example:8443/team/img", d.URL)
	require.Equal(t, "docker pull pkgs.example:8443/team/img:TAG", d.Use)
	t.Setenv("PKGVC_PUBLIC_URL", "https://pkgs.example/")
	h.jsonOK(&d, "dist", "create", "site", "--base-path", "site", "--repo", "site")
	require.Equal(t, "https://pkgs.example/content/site/", d.URL)
	h.jsonOK(&d, "dist", "show", "py")
	require.Equal(t, "https://pkgs.example/content/team/py/simple/", d.URL)
	require.Contains(t, h.ok("dist", "show", "py"), "url:       https://pkgs.example/content/team/py/simple/\n")
	r := h.run("--public-url", "pkgs.example", "dist", "show", "py")
	require.Equal(t, 2, r.code, "%s", r)
	require.Contains(t, r.stderr, "--public-url")

	url, secret := newAPIServer(t)
	srv := h.through(url, h.file("token", []byte(secret)))
	t.Setenv("PKGVC_PUBLIC_URL", "")
	srv.ok("repo", "create", "py", "--kind", "python")
	require.Contains(t, srv.ok("dist", "create", "py", "--base-path", "py", "--repo", "py"), "pip install --index-url "+url+"/content/py/simple/ PROJECT")
}

// TestRemoteInUse: dist create names only remotes that exist; remote
// delete is refused while a distribution pulls through it, and --force
// detaches it, naming it.
func TestRemoteInUse(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "dev")
	requireRefused(t, h.run("dist", "create", "d", "--base-path", "d", "--repo", "dev", "--remote", "nosuch"), "remote not found: nosuch")
	requireRefused(t, h.run("dist", "show", "d"), "distribution not found")
	h.ok("remote", "create", "up", "--url", "http://127.0.0.1:9/PULP_MANIFEST")
	h.ok("remote", "create", "up2", "--url", "http://127.0.0.1:9/PULP_MANIFEST")
	h.ok("dist", "create", "d", "--base-path", "d", "--repo", "dev", "--remote", "up")
	h.ok("dist", "create", "e", "--base-path", "e", "--repo", "dev", "--remote", "up2")
	h.ok("dist", "update", "e", "--remote", "up")
	requireRefused(t, h.run("remote", "delete", "up"), "distribution(s) d, e pull through it", "--force")
	r := h.run("--json", "remote", "delete", "up")
	require.Contains(t, r.stdout, `"code": "in_use"`)
	require.Equal(t, "deleted remote up\ndistribution(s) d, e no longer pull through it\n", h.ok("remote", "delete", "up", "--force"))
	var d struct{ Remote string }
	h.jsonOK(&d, "dist", "show", "d")
	require.Empty(t, d.Remote)
	var del struct {
		Deleted  string
		Detached []string
	}
	h.jsonOK(&del, "remote", "delete", "up2")
	require.Equal(t, "up2", del.Deleted)
	require.Empty(t, del.Detached)
}
