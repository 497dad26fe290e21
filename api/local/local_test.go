package local_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pkgvc/pkgvc/app"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/api/local"
	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

func open(t *testing.T, opts ...local.Option) *local.Service {
	t.Helper()
	ap, err := app.Open(t.Context(), filepath.Join(t.TempDir(), "store"), app.WithCreate(), app.WithServiceOptions(opts...))
	require.NoError(t, err)
	s := ap.Service()
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// file writes content to a new file and returns its path.
func file(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func cat(t *testing.T, s api.Service, rev, path string) string {
	t.Helper()
	r, _, err := s.Cat(t.Context(), rev, path)
	require.NoError(t, err)
	defer r.Close()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return string(b)
}

func TestVersions(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	_, err := s.CreateRepo(ctx, "dev", repo.CreateOptions{})
	require.NoError(t, err)
	_, err = s.CreateRepo(ctx, "test", repo.CreateOptions{})
	require.NoError(t, err)

	res, err := s.Commit(ctx, "dev", repo.CommitRequest{Adds: []repo.Add{{Path: "a.txt", File: file(t, "one")}}})
	require.NoError(t, err)
	require.Equal(t, 1, res.Version)
	require.Equal(t, "one", cat(t, s, "dev", "a.txt"))

	// A blob put first is committed by digest.
	id, err := s.PutBlob(ctx, strings.NewReader("two"), 3, objects.Sum([]byte("two")))
	require.NoError(t, err)
	_, err = s.Commit(ctx, "dev", repo.CommitRequest{Records: []repo.Record{{Path: "b.txt", SHA256: id, Size: 3}}})
	require.NoError(t, err)
	require.Equal(t, "two", cat(t, s, "dev", "b.txt"))

	recs, err := s.List(ctx, "dev")
	require.NoError(t, err)
	require.Len(t, recs, 2)
	log, err := s.Log(ctx, "dev", 1)
	require.NoError(t, err)
	require.Len(t, log, 1)
	require.Equal(t, 2, log[0].Number)
	d, err := s.Diff(ctx, "dev@1", "dev")
	require.NoError(t, err)
	require.Equal(t, []string{"b.txt"}, d.Added)
	pd, err := s.DiffPackages(ctx, "dev@1", "dev")
	require.NoError(t, err)
	require.Len(t, pd.Added, 1)
	require.Equal(t, []repo.PackageEntry{{Name: "b.txt", New: id.String(), Change: repo.ChangeAdded}}, pd.Packages)

	pr, err := s.Promote(ctx, []repo.Pair{{Src: "dev", Dst: "test"}}, repo.PromoteOptions{})
	require.NoError(t, err)
	require.True(t, pr[0].Moved)
	rb, err := s.Rollback(ctx, "dev", "dev@1")
	require.NoError(t, err)
	require.Equal(t, 3, rb.Version)

	info, err := s.ShowRepo(ctx, "test")
	require.NoError(t, err)
	require.Equal(t, 2, info.Packages)
	repos, err := s.ListRepos(ctx)
	require.NoError(t, err)
	require.Len(t, repos, 2)

	_, _, err = s.Cat(ctx, "dev", "missing")
	require.ErrorIs(t, err, repo.ErrPathNotFound)
	_, err = s.Commit(ctx, "nope", repo.CommitRequest{AllowEmpty: true})
	require.ErrorIs(t, err, repo.ErrRepoNotFound)
}

func TestPutBlobRefusesMismatches(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int64
		want objects.ID
		err  error
	}{
		{"short", 4, objects.ID{}, remote.ErrSizeMismatch},
		{"long", 2, objects.ID{}, remote.ErrSizeMismatch},
		{"digest", 3, objects.Sum([]byte("abd")), remote.ErrDigestMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			_, err := s.PutBlob(t.Context(), strings.NewReader("abc"), tc.size, tc.want)
			require.ErrorIs(t, err, tc.err)
			require.ErrorIs(t, err, repo.ErrInvalid)
			ok, err := s.Store().Objects().HasBlob(t.Context(), objects.Sum([]byte("abc")))
			require.NoError(t, err)
			require.False(t, ok, "a refused upload is not kept")
		})
	}
	t.Run("unknown size", func(t *testing.T) {
		s := open(t)
		id, err := s.PutBlob(t.Context(), strings.NewReader("abc"), -1, objects.ID{})
		require.NoError(t, err)
		require.Equal(t, objects.Sum([]byte("abc")), id)
	})
}

// TestWhoFromContext checks that changes made through the Service are
// recorded as made by the context's who, as a server sets it per token.
func TestWhoFromContext(t *testing.T) {
	s := open(t)
	ctx := repo.WithWhoContext(t.Context(), "ci")
	_, err := s.CreateRepo(ctx, "dev", repo.CreateOptions{})
	require.NoError(t, err)
	_, err = s.CreateRepo(ctx, "prod", repo.CreateOptions{})
	require.NoError(t, err)
	_, err = s.Commit(ctx, "dev", repo.CommitRequest{Adds: []repo.Add{{Path: "a", File: file(t, "a")}}})
	require.NoError(t, err)
	_, err = s.Promote(ctx, []repo.Pair{{Src: "dev", Dst: "prod"}}, repo.PromoteOptions{})
	require.NoError(t, err)
	_, err = s.Commit(t.Context(), "dev", repo.CommitRequest{Adds: []repo.Add{{Path: "b", File: file(t, "b")}}})
	require.NoError(t, err)
	_, err = s.Rollback(ctx, "dev", "dev@1")
	require.NoError(t, err)

	log, err := s.Reflog(t.Context(), "dev")
	require.NoError(t, err)
	require.Len(t, log, 3)
	require.Equal(t, "ci", log[0].Who)            // rollback
	require.Equal(t, s.Store().Who(), log[1].Who) // no who in the context
	require.NotEqual(t, "ci", log[1].Who)         // so the test means something
	require.Equal(t, "ci", log[2].Who)            // commit
	prod, err := s.Reflog(t.Context(), "prod")
	require.NoError(t, err)
	require.Equal(t, "ci", prod[0].Who)
	versions, err := s.Log(t.Context(), "dev", 0)
	require.NoError(t, err)
	require.Equal(t, "ci", versions[0].Author)
	require.Equal(t, "ci", versions[2].Author)
}

func TestDistsRemotesTokens(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	_, err := s.CreateRepo(ctx, "prod", repo.CreateOptions{})
	require.NoError(t, err)

	d, err := s.CreateDist(ctx, "web", dist.DistSpec{BasePath: "site/web", Repo: "prod"})
	require.NoError(t, err)
	require.Equal(t, "file", d.Kind)
	private := true
	_, err = s.UpdateDist(ctx, "web", dist.DistSpec{Private: &private})
	require.NoError(t, err)
	got, err := s.ShowDist(ctx, "web")
	require.NoError(t, err)
	require.True(t, got.Private)
	ds, err := s.ListDists(ctx)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.ErrorIs(t, s.DeleteRepo(ctx, "prod", false), dist.ErrInUse)
	require.NoError(t, s.DeleteDist(ctx, "web"))
	require.NoError(t, s.DeleteRepo(ctx, "prod", false))
	_, err = s.ShowDist(ctx, "web")
	require.ErrorIs(t, err, repo.ErrNotFound)

	_, err = s.CreateRemote(ctx, remote.Remote{Name: "up", Kind: "file", URL: "http://127.0.0.1:1/PULP_MANIFEST"})
	require.NoError(t, err)
	p := remote.Patch{}
	require.NoError(t, p.Set("include", []string{"*.rpm"}))
	require.NoError(t, p.Set("download_concurrency", 2))
	r, err := s.UpdateRemote(ctx, "up", p)
	require.NoError(t, err)
	require.Equal(t, []string{"*.rpm"}, r.Include)
	require.Equal(t, 2, r.DownloadConcurrency)
	_, err = s.UpdateRemote(ctx, "up", remote.Patch{"kind": []byte(`"python"`)})
	require.ErrorIs(t, err, repo.ErrInvalid)
	rs, err := s.ListRemotes(ctx)
	require.NoError(t, err)
	require.Len(t, rs, 1)
	_, err = s.DeleteRemote(ctx, "up", false)
	require.NoError(t, err)
	_, err = s.ShowRemote(ctx, "up")
	require.ErrorIs(t, err, remote.ErrRemoteNotFound)

	scope, err := auth.ParseScope("repo:*:read")
	require.NoError(t, err)
	tok, secret, err := s.CreateToken(ctx, api.TokenRequest{Name: "ci", Scopes: []auth.Scope{scope}})
	require.NoError(t, err)
	require.Equal(t, "ci", tok.Name)
	_, err = s.Tokens().Authenticate(ctx, secret)
	require.NoError(t, err)
	toks, err := s.ListTokens(ctx)
	require.NoError(t, err)
	require.Len(t, toks, 1)
	require.NoError(t, s.RevokeToken(ctx, "ci"))

	gc, err := s.GC(ctx, repo.GCOptions{DryRun: true})
	require.NoError(t, err)
	require.Zero(t, gc.DeletedBlobs)
	_, err = s.Fsck(ctx, api.FsckOptions{})
	require.NoError(t, err)
}

// TestSyncAndCatOnDemand syncs from an upstream with the on_demand policy;
// Cat then fetches the bytes from it.
func TestSyncAndCatOnDemand(t *testing.T) {
	const body = "package bytes"
	sum := sha256.Sum256([]byte(body))
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/PULP_MANIFEST":
			fmt.Fprintf(w, "p.txt,%s,%d\n", hex.EncodeToString(sum[:]), len(body))
		case "/p.txt":
			gets.Add(1)
			io.WriteString(w, body)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	s := open(t)
	ctx := t.Context()
	_, err := s.CreateRepo(ctx, "mirror", repo.CreateOptions{})
	require.NoError(t, err)
	_, err = s.CreateRemote(ctx, remote.Remote{Name: "up", Kind: "file", URL: srv.URL + "/PULP_MANIFEST", Policy: remote.OnDemand})
	require.NoError(t, err)
	res, err := s.Sync(ctx, "up", "mirror", remote.SyncOptions{})
	require.NoError(t, err)
	require.Equal(t, 1, res.Added)
	require.Zero(t, gets.Load())

	require.Equal(t, body, cat(t, s, "mirror", "p.txt"))
	require.EqualValues(t, 1, gets.Load())
	require.Equal(t, body, cat(t, s, "mirror", "p.txt"))
	require.EqualValues(t, 1, gets.Load(), "the fetched blob is stored")
}

// tasks is an api.Tasks and api.Schedules that counts Close calls.
type tasks struct {
	api.Tasks
	api.Schedules
	closed int
}

func (t *tasks) ListTasks(context.Context) ([]api.Task, error) { return []api.Task{{ID: "t1"}}, nil }
func (t *tasks) Close() error                                  { t.closed++; return nil }

func TestTasks(t *testing.T) {
	t.Run("none", func(t *testing.T) {
		s := open(t)
		_, err := s.ListTasks(t.Context())
		require.ErrorIs(t, err, local.ErrNoTasks)
		require.ErrorIs(t, err, errors.ErrUnsupported)
		_, err = s.StartTask(t.Context(), api.TaskRequest{Op: "gc"})
		require.ErrorIs(t, err, local.ErrNoTasks)
		_, err = s.ListSchedules(t.Context())
		require.ErrorIs(t, err, local.ErrNoTasks)
		require.ErrorIs(t, s.DeleteSchedule(t.Context(), "x"), local.ErrNoTasks)
	})
	t.Run("set", func(t *testing.T) {
		tk := &tasks{}
		ap, err := app.Open(t.Context(), t.TempDir(), app.WithCreate(), app.WithServiceOptions(local.WithTasks(tk), local.WithSchedules(tk)))
		require.NoError(t, err)
		s := ap.Service()
		require.NoError(t, err)
		ts, err := s.ListTasks(t.Context())
		require.NoError(t, err)
		require.Equal(t, "t1", ts[0].ID)
		require.NoError(t, s.Close())
		require.Equal(t, 1, tk.closed, "closed once though it is both")
	})
}
