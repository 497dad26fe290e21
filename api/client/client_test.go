package client_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/api/client"
	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/python"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	"github.com/pkgvc/pkgvc/kinds/python/pycli"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

// upstream serves files and their PULP_MANIFEST, as a file remote reads.
func upstream(t *testing.T, files map[string]string) string {
	t.Helper()
	var manifest strings.Builder
	for p, c := range files {
		sum := sha256.Sum256([]byte(c))
		fmt.Fprintf(&manifest, "%s,%s,%d\n", p, hex.EncodeToString(sum[:]), len(c))
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(r.URL.Path, "/")
		if p == "PULP_MANIFEST" {
			_, _ = io.WriteString(w, manifest.String())
			return
		}
		c, ok := files[p]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, c)
	}))
	t.Cleanup(ts.Close)
	return ts.URL + "/PULP_MANIFEST"
}

// TestEveryEndpoint drives every operation of the API through the client
// (or, for the two the client does not use, a raw request through the same
// checking transport), against a real store.
func TestEveryEndpoint(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	c := e.client(e.admin)
	dir := t.TempDir()

	// Repositories.
	for _, name := range []string{"dev", "test", "prod"} {
		cfg, err := c.CreateRepo(ctx, name, repo.CreateOptions{})
		require.NoError(t, err)
		require.Equal(t, "file", cfg.Kind)
	}
	_, err := c.CreateRepo(ctx, "dev", repo.CreateOptions{})
	require.ErrorIs(t, err, repo.ErrExists)
	_, err = c.CreateRepo(ctx, "Bad Name", repo.CreateOptions{})
	require.ErrorIs(t, err, repo.ErrInvalid)
	repos, err := c.ListRepos(ctx)
	require.NoError(t, err)
	require.Len(t, repos, 3)
	_, err = c.ShowRepo(ctx, "nope")
	require.ErrorIs(t, err, repo.ErrRepoNotFound)

	// Commit: files uploaded, then committed by digest.
	a := writeFile(t, dir, "a.txt", "alpha\n")
	b := writeFile(t, dir, "b.txt", strings.Repeat("bravo", 1000))
	var progress int64
	res, err := c.Commit(ctx, "dev", repo.CommitRequest{
		Adds:     []repo.Add{{Path: "a.txt", File: a, Size: 6}, {Path: "lib/b.txt", File: b, Size: 5000}},
		Message:  "first",
		Progress: func(done, total int64) { progress = done },
	})
	require.NoError(t, err)
	require.Equal(t, 1, res.Version)
	require.True(t, res.Changed)
	require.Equal(t, int64(5006), progress)

	recs, err := c.List(ctx, "dev")
	require.NoError(t, err)
	require.Len(t, recs, 2)
	require.Equal(t, "a.txt", recs[0].Path)
	local, err := e.svc.List(ctx, "dev")
	require.NoError(t, err)
	require.Equal(t, local, recs)

	// A record by digest of a blob already stored, and a removal.
	res, err = c.Commit(ctx, "dev", repo.CommitRequest{
		Records: []repo.Record{{Path: "copy.txt", SHA256: recs[0].SHA256, Size: recs[0].Size}},
		Removes: []string{"lib/"},
		Message: "second",
	})
	require.NoError(t, err)
	require.Equal(t, 2, res.Version)
	_, err = c.Commit(ctx, "dev", repo.CommitRequest{Records: []repo.Record{{Path: "x", SHA256: objects.Sum([]byte("absent")), Size: 6}}})
	require.ErrorIs(t, err, repo.ErrInvalid)

	rc, rec, err := c.Cat(ctx, "dev", "copy.txt")
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	require.Equal(t, "alpha\n", string(got))
	require.Equal(t, recs[0].SHA256, rec.SHA256)
	require.Equal(t, int64(6), rec.Size)
	_, _, err = c.Cat(ctx, "dev", "nope.txt")
	require.ErrorIs(t, err, repo.ErrPathNotFound)

	log, err := c.Log(ctx, "dev", 0)
	require.NoError(t, err)
	require.Len(t, log, 2)
	require.Equal(t, "second", log[0].Message)
	require.Equal(t, "admin", log[0].Author)
	log, err = c.Log(ctx, "dev", 1)
	require.NoError(t, err)
	require.Len(t, log, 1)
	_, err = c.Log(ctx, "dev@9", 0)
	require.ErrorIs(t, err, repo.ErrVersionNotFound)

	d, err := c.Diff(ctx, "dev@1", "dev")
	require.NoError(t, err)
	require.Equal(t, []string{"copy.txt"}, d.Added)
	require.Equal(t, []string{"lib/b.txt"}, d.Removed)
	pd, err := c.DiffPackages(ctx, "dev@1", "dev")
	require.NoError(t, err)
	require.NotEmpty(t, pd.Added)

	// Promotion, single and atomic multi-pair, and its refusals.
	pr, err := c.Promote(ctx, []repo.Pair{{Src: "dev@1", Dst: "test"}}, repo.PromoteOptions{})
	require.NoError(t, err)
	require.True(t, pr[0].Moved)
	pr, err = c.Promote(ctx, []repo.Pair{{Src: "dev", Dst: "test"}, {Src: "test", Dst: "prod"}}, repo.PromoteOptions{})
	require.NoError(t, err)
	require.Len(t, pr, 2)
	head, err := e.svc.Log(ctx, "prod", 1)
	require.NoError(t, err)
	require.Equal(t, 1, head[0].Number) // prod got test's head from before the call
	_, err = c.Commit(ctx, "prod", repo.CommitRequest{Removes: []string{"a.txt"}})
	require.NoError(t, err)
	_, err = c.Promote(ctx, []repo.Pair{{Src: "test", Dst: "prod"}}, repo.PromoteOptions{})
	require.ErrorIs(t, err, repo.ErrNotFastForward)

	rb, err := c.Rollback(ctx, "prod", "prod~1")
	require.NoError(t, err)
	require.Equal(t, 3, rb.Version)

	reflog, err := c.Reflog(ctx, "prod")
	require.NoError(t, err)
	require.NotEmpty(t, reflog)
	for _, r := range reflog {
		require.Equal(t, "admin", r.Who) // changes are recorded under the token's name
	}

	// Blobs directly.
	id, err := c.PutBlob(ctx, strings.NewReader("raw blob"), 8, objects.ID{})
	require.NoError(t, err)
	require.Equal(t, objects.Sum([]byte("raw blob")), id)
	id, err = c.PutBlob(ctx, strings.NewReader("unknown size"), -1, objects.Sum([]byte("unknown size")))
	require.NoError(t, err)
	ok, err := e.svc.Store().Objects().HasBlob(ctx, id)
	require.NoError(t, err)
	require.True(t, ok)
	id, err = c.PutBlob(ctx, strings.NewReader(""), 0, objects.ID{})
	require.NoError(t, err)
	require.Equal(t, objects.Sum(nil), id)

	// Distributions.
	web, err := c.CreateDist(ctx, "web", dist.DistSpec{BasePath: "site/web", Repo: "prod"})
	require.NoError(t, err)
	require.Equal(t, "prod", web.Repo)
	yes := true
	web, err = c.UpdateDist(ctx, "web", dist.DistSpec{Private: &yes})
	require.NoError(t, err)
	require.True(t, web.Private)
	web, err = c.ShowDist(ctx, "web")
	require.NoError(t, err)
	require.Equal(t, "site/web", web.BasePath)
	dists, err := c.ListDists(ctx)
	require.NoError(t, err)
	require.Len(t, dists, 1)
	require.ErrorIs(t, c.DeleteRepo(ctx, "prod", false), dist.ErrInUse)
	pruned, err := c.PruneDist(ctx, "web")
	require.NoError(t, err)
	require.Equal(t, "prod", pruned.Repo)
	require.Empty(t, pruned.Removed, "a file distribution drops nothing")
	_, err = c.PruneDist(ctx, "nope")
	require.ErrorIs(t, err, dist.ErrDistNotFound)
	co, err := c.Checkout(ctx, "web", filepath.Join(t.TempDir(), "web"), api.CheckoutOptions{})
	require.NoError(t, err)
	require.Equal(t, head[0].Repo, co.Version.Repo)
	require.NoError(t, c.DeleteDist(ctx, "web"))
	_, err = c.ShowDist(ctx, "web")
	require.ErrorIs(t, err, dist.ErrDistNotFound)

	// Remotes and a sync, run as a task.
	url := upstream(t, map[string]string{"up/one.txt": "one\n", "up/two.txt": "two\n"})
	rem, err := c.CreateRemote(ctx, remote.Remote{Name: "up", Kind: "file", URL: url})
	require.NoError(t, err)
	require.Equal(t, url, rem.URL)
	patch := api.RemotePatch{}
	require.NoError(t, patch.Set("include", []string{"up/*"}))
	rem, err = c.UpdateRemote(ctx, "up", patch)
	require.NoError(t, err)
	require.Equal(t, []string{"up/*"}, rem.Include)
	rem, err = c.ShowRemote(ctx, "up")
	require.NoError(t, err)
	require.Equal(t, "file", rem.Kind)
	rems, err := c.ListRemotes(ctx)
	require.NoError(t, err)
	require.Len(t, rems, 1)
	var seen []remote.SyncProgress
	sr, err := c.Sync(ctx, "up", "test", remote.SyncOptions{Progress: func(p remote.SyncProgress) { seen = append(seen, p) }})
	require.NoError(t, err)
	require.Equal(t, 2, sr.Added)
	require.True(t, sr.Changed)
	require.NotEmpty(t, seen)
	_, err = c.Sync(ctx, "nope", "test", remote.SyncOptions{})
	require.Error(t, err)
	_, err = c.DeleteRemote(ctx, "up", false)
	require.NoError(t, err)
	_, err = c.ShowRemote(ctx, "up")
	require.ErrorIs(t, err, remote.ErrRemoteNotFound)

	// Maintenance, tasks and schedules.
	gc, err := c.GC(ctx, repo.GCOptions{DryRun: true})
	require.NoError(t, err)
	require.Positive(t, gc.ReachableBlobs)
	fsck, err := c.Fsck(ctx, api.FsckOptions{})
	require.NoError(t, err)
	require.Empty(t, fsck.Problems)
	require.Positive(t, fsck.Blobs)
	before, err := c.Reflog(ctx, "prod")
	require.NoError(t, err)
	require.NotEmpty(t, before)
	exp, err := c.ReflogExpire(ctx, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.Zero(t, exp.Removed)
	after, err := c.Reflog(ctx, "prod")
	require.NoError(t, err)
	require.Len(t, after, len(before))
	exp, err = c.ReflogExpire(ctx, time.Now().Add(time.Second))
	require.NoError(t, err)
	require.GreaterOrEqual(t, exp.Removed, len(before))
	after, err = c.Reflog(ctx, "prod")
	require.NoError(t, err)
	require.Empty(t, after)
	_, err = c.ReflogExpire(ctx, time.Time{})
	require.ErrorIs(t, err, repo.ErrInvalid)
	task, err := c.StartTask(ctx, api.TaskRequest{Op: "sleep"})
	require.NoError(t, err)
	require.Equal(t, "admin", task.By)
	task, err = c.CancelTask(ctx, task.ID)
	require.NoError(t, err)
	require.Equal(t, api.TaskCanceled, task.State)
	task, err = c.WaitTask(ctx, task.ID, nil)
	require.NoError(t, err)
	require.True(t, task.Done())
	tasks, err := c.ListTasks(ctx)
	require.NoError(t, err)
	require.Len(t, tasks, 5) // 2 syncs, gc, fsck, sleep
	_, err = c.ShowTask(ctx, "nope")
	require.ErrorIs(t, err, repo.ErrNotFound)

	sc, err := c.CreateSchedule(ctx, api.Schedule{Name: "nightly", Cron: "@daily", Request: api.TaskRequest{Op: "gc"}})
	require.NoError(t, err)
	require.Equal(t, "nightly", sc.Name)
	scs, err := c.ListSchedules(ctx)
	require.NoError(t, err)
	require.Len(t, scs, 1)
	require.NoError(t, c.DeleteSchedule(ctx, "nightly"))

	// Tokens.
	tok, secret, err := c.CreateToken(ctx, api.TokenRequest{Name: "ci", Scopes: scopes(t, "repo:dev:write")})
	require.NoError(t, err)
	require.Equal(t, "ci", tok.Name)
	require.True(t, strings.HasPrefix(secret, auth.Prefix))
	toks, err := c.ListTokens(ctx)
	require.NoError(t, err)
	require.Len(t, toks, 2)
	require.NoError(t, c.RevokeToken(ctx, "ci"))
	_, err = e.client(secret).ListRepos(ctx)
	require.ErrorIs(t, err, auth.ErrUnauthorized)
	require.ErrorIs(t, c.RevokeToken(ctx, "ci"), repo.ErrNotFound)

	require.NoError(t, c.DeleteRepo(ctx, "dev", false))
	_, err = c.ShowRepo(ctx, "dev")
	require.ErrorIs(t, err, repo.ErrNotFound)

	// The python kind's yank.
	_, err = c.CreateRepo(ctx, "py", repo.CreateOptions{Kind: "python"})
	require.NoError(t, err)
	whlName, whl := pythontest.Spec{Name: "demo", Version: "1.0"}.Wheel()
	_, err = c.Commit(ctx, "py", repo.CommitRequest{Adds: []repo.Add{{Path: whlName, File: writeFile(t, dir, whlName, string(whl))}}})
	require.NoError(t, err)
	res, err = pycli.Yank(ctx, c, "py", python.YankRequest{File: whlName, Reason: "broken"})
	require.NoError(t, err)
	require.Equal(t, 2, res.Version)
	recs, err = c.List(ctx, "py")
	require.NoError(t, err)
	require.Equal(t, "broken", recs[0].Metadata[python.MetaYankedReason])
	res, err = pycli.Yank(ctx, c, "py", python.YankRequest{File: whlName, Reason: "broken"})
	require.NoError(t, err)
	require.False(t, res.Changed)
	_, err = pycli.Yank(ctx, c, "py", python.YankRequest{File: "nope.whl"})
	require.ErrorIs(t, err, repo.ErrPathNotFound)

	checkKeys(t, e, c)

	// The operations the client does not need.
	hc := &http.Client{Transport: e.spec.transport(t, http.DefaultTransport)}
	req, err := http.NewRequest(http.MethodPost, e.ts.URL+"/api/v1/uploads", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e.admin)
	resp, err := hc.Do(req)
	require.NoError(t, err)
	var up struct{ ID string }
	require.NoError(t, decodeJSON(resp, &up))
	req, err = http.NewRequest(http.MethodGet, e.ts.URL+"/api/v1/repositories/test/versions?limit=1", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e.admin)
	resp, err = hc.Do(req)
	require.NoError(t, err)
	var versions struct {
		Items []repo.LogEntry
		Next  string
	}
	require.NoError(t, decodeJSON(resp, &versions))
	require.Len(t, versions.Items, 1)
	require.NotEmpty(t, versions.Next)
	require.Contains(t, resp.Header.Get("Link"), `rel="next"`)
	for _, m := range []string{http.MethodHead, http.MethodGet, http.MethodDelete} {
		req, err = http.NewRequest(m, e.ts.URL+"/api/v1/uploads/"+up.ID, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+e.admin)
		resp, err = hc.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Less(t, resp.StatusCode, 300, m)
		if m == http.MethodHead {
			require.Equal(t, "0", resp.Header.Get("Upload-Offset"))
		}
	}

	require.Empty(t, e.spec.unseen(), "operations no test request reached")
}

// TestSyncFailed: a sync that fails through the API returns its result
// with an error matching the same sentinels, as the local sync does.
func TestSyncFailed(t *testing.T) {
	e := newEnv(t)
	c := e.client(e.admin)
	ctx := e.ctx
	good, bad := "good\n", "GOOD\n"
	sum := sha256.Sum256([]byte(good))
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/PULP_MANIFEST" {
			fmt.Fprintf(w, "u/bad.txt,%s,%d\n", hex.EncodeToString(sum[:]), len(good))
			return
		}
		_, _ = io.WriteString(w, bad) // same length, other bytes
	}))
	t.Cleanup(ts.Close)
	_, err := c.CreateRepo(ctx, "dev", repo.CreateOptions{})
	require.NoError(t, err)
	_, err = c.CreateRemote(ctx, remote.Remote{Name: "broken", Kind: "file", URL: ts.URL + "/PULP_MANIFEST", Retries: 0})
	require.NoError(t, err)

	want, wantErr := e.svc.Sync(ctx, "broken", "dev", remote.SyncOptions{})
	require.ErrorIs(t, wantErr, remote.ErrDigestMismatch)
	require.NotNil(t, want)
	got, err := c.Sync(ctx, "broken", "dev", remote.SyncOptions{})
	require.ErrorIs(t, err, remote.ErrDigestMismatch)
	var te *client.TaskError
	require.ErrorAs(t, err, &te)
	require.Equal(t, "digest_mismatch", te.Task.ErrorCode)
	require.Equal(t, wantErr.Error(), err.Error())
	require.NotNil(t, got, "the result comes back with the error")
	require.Equal(t, 1, got.Failed)
	require.False(t, got.Changed)
	want.Seconds, got.Seconds = 0, 0
	require.Equal(t, want, got)

	// Refused before it runs: no result, the same error.
	_, wantErr = e.svc.Sync(ctx, "broken", "nope", remote.SyncOptions{})
	res, err := c.Sync(ctx, "broken", "nope", remote.SyncOptions{})
	require.Nil(t, res)
	require.ErrorIs(t, err, repo.ErrRepoNotFound)
	require.Equal(t, wantErr.Error(), err.Error())
}
