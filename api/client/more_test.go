package client_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/api/client"
	"github.com/pkgvc/pkgvc/api/server"
	"github.com/pkgvc/pkgvc/api/wire"
	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

func (e *env) get(token, path string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.ts.URL+path, nil)
	require.NoError(e.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Transport: e.spec.transport(e.t, http.DefaultTransport)}).Do(req)
	require.NoError(e.t, err)
	return resp
}

func TestAuth(t *testing.T) {
	e := newEnv(t, server.WithAuthLimiter(auth.NewLimiter(3, time.Minute, time.Minute)))
	ctx := e.ctx
	admin := e.client(e.admin)
	for _, r := range []string{"dev", "prod"} {
		_, err := admin.CreateRepo(ctx, r, repo.CreateOptions{})
		require.NoError(t, err)
	}

	// No token, a bad one, then too many bad ones.
	resp := e.get("", "/api/v1/repositories")
	var apiErr wire.Error
	require.Error(t, decodeJSON(resp, &apiErr))
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, `Basic realm="pkgvc-api"`, resp.Header.Get("WWW-Authenticate"), "not the content server's realm")
	resp, err := http.Get(e.ts.URL + "/api/v1/openapi.json")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	bad := auth.Prefix + strings.Repeat("x", 43)
	_, err = e.client(bad).ListRepos(ctx)
	require.ErrorIs(t, err, auth.ErrUnauthorized)
	require.NotContains(t, err.Error(), bad)
	for range 2 {
		_, err = e.client(bad).ListRepos(ctx)
		require.ErrorIs(t, err, auth.ErrUnauthorized)
	}
	resp = e.get(bad, "/api/v1/repositories")
	resp.Body.Close()
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	_, err = admin.ListRepos(ctx)
	require.NoError(t, err, "a valid token is accepted from a limited address")

	// A token that may write dev only.
	ci := e.client(e.token("ci", "repo:dev:write", "dist:*:read"))
	f := writeFile(t, t.TempDir(), "app.tgz", "app")
	_, err = ci.Commit(ctx, "dev", repo.CommitRequest{Adds: []repo.Add{{Path: "app.tgz", File: f}}})
	require.NoError(t, err)
	reflog, err := ci.Reflog(ctx, "dev")
	require.NoError(t, err)
	require.Equal(t, "ci", reflog[0].Who)
	log, err := e.svc.Log(ctx, "dev", 1)
	require.NoError(t, err)
	require.Equal(t, "ci", log[0].Author)

	_, err = ci.Promote(ctx, []repo.Pair{{Src: "dev", Dst: "prod"}}, repo.PromoteOptions{})
	require.ErrorIs(t, err, auth.ErrForbidden)
	require.Contains(t, err.Error(), "permission")
	require.Contains(t, err.Error(), "repo:prod:write")
	_, err = ci.Promote(ctx, []repo.Pair{{Src: "dev", Dst: "dev"}}, repo.PromoteOptions{Force: true})
	require.ErrorIs(t, err, auth.ErrForbidden, "a reset needs admin")
	_, err = ci.Commit(ctx, "prod", repo.CommitRequest{Removes: []string{"x"}})
	require.ErrorIs(t, err, auth.ErrForbidden)
	_, err = ci.List(ctx, "prod")
	require.ErrorIs(t, err, auth.ErrForbidden)
	_, err = ci.List(ctx, log[0].ID.String()[:12])
	require.ErrorIs(t, err, auth.ErrForbidden, "an id may name any repository's version")
	repos, err := ci.ListRepos(ctx)
	require.NoError(t, err)
	require.Len(t, repos, 1)
	_, err = ci.ListTokens(ctx)
	require.ErrorIs(t, err, auth.ErrForbidden)
	_, err = ci.GC(ctx, repo.GCOptions{})
	require.ErrorIs(t, err, auth.ErrForbidden)
	_, err = ci.ReflogExpire(ctx, time.Now())
	require.ErrorIs(t, err, auth.ErrForbidden)
	_, err = ci.CreateRepo(ctx, "dev2", repo.CreateOptions{})
	require.ErrorIs(t, err, auth.ErrForbidden)

	// The admin promotes; prod's reflog names it.
	_, err = admin.Promote(ctx, []repo.Pair{{Src: "dev", Dst: "prod"}}, repo.PromoteOptions{})
	require.NoError(t, err)
	reflog, err = e.svc.Reflog(ctx, "prod")
	require.NoError(t, err)
	require.Equal(t, "admin", reflog[0].Who)

	// Reading needs no upload rights; uploading needs write somewhere.
	reader := e.client(e.token("reader", "repo:*:read"))
	_, err = reader.List(ctx, log[0].ID.String()[:12])
	require.NoError(t, err)
	_, err = reader.PutBlob(ctx, strings.NewReader("x"), 1, objects.ID{})
	require.ErrorIs(t, err, auth.ErrForbidden)
}

// cutter fails the body of the first PUT after n bytes, as a dropped
// connection does, and records the Content-Range of every PUT.
type cutter struct {
	next http.RoundTripper
	n    int64

	mu     sync.Mutex
	cut    bool
	ranges []string
}

func (c *cutter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut {
		c.mu.Lock()
		c.ranges = append(c.ranges, req.Header.Get("Content-Range"))
		first := !c.cut
		c.cut = true
		c.mu.Unlock()
		if first {
			req.Body = io.NopCloser(io.MultiReader(io.LimitReader(req.Body, c.n), errReader{}))
		}
	}
	return c.next.RoundTrip(req)
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection dropped") }

func TestUploadResume(t *testing.T) {
	const chunk = 256 << 10
	data := make([]byte, 3*chunk+1234)
	_, err := rand.Read(data)
	require.NoError(t, err)
	sum := objects.Sum(data)
	for _, tc := range []struct {
		name string
		r    func() io.Reader
		size int64
	}{
		{"reader-at", func() io.Reader { return bytes.NewReader(data) }, int64(len(data))},
		{"stream", func() io.Reader { return io.MultiReader(bytes.NewReader(data)) }, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			cut := &cutter{next: http.DefaultTransport, n: chunk + chunk/2}
			hc := &http.Client{Transport: e.spec.transport(t, cut)}
			c, err := client.New(e.ts.URL, e.admin, client.WithHTTPClient(hc), client.WithChunkSize(2*chunk), client.WithRetries(3, time.Millisecond))
			require.NoError(t, err)

			id, err := c.PutBlob(e.ctx, tc.r(), tc.size, objects.ID{})
			require.NoError(t, err)
			require.Equal(t, sum, id)
			rc, err := e.svc.Store().Objects().OpenBlob(e.ctx, id)
			require.NoError(t, err)
			stored, err := io.ReadAll(rc)
			require.NoError(t, err)
			require.NoError(t, rc.Close())
			require.Equal(t, data, stored)

			// The chunk after the cut starts where the server's offset was:
			// within the cut chunk, past what had arrived. (What arrived
			// may be nothing on a loaded machine: the connection's reset can
			// drop the bytes the server had not read yet; the client must
			// then start the chunk over, not fail.)
			require.GreaterOrEqual(t, len(cut.ranges), 2)
			start := func(r string) int64 {
				s, _, _ := strings.Cut(strings.TrimPrefix(r, "bytes "), "-")
				n, err := strconv.ParseInt(s, 10, 64)
				require.NoError(t, err)
				return n
			}
			require.Equal(t, int64(0), start(cut.ranges[0]))
			resumed := start(cut.ranges[1])
			require.GreaterOrEqual(t, resumed, int64(0))
			require.LessOrEqual(t, resumed, int64(chunk+chunk/2))
			ents, err := os.ReadDir(e.uploadDir)
			require.NoError(t, err)
			require.Empty(t, ents, "a finished upload leaves nothing behind")
		})
	}

	t.Run("wrong-sha256", func(t *testing.T) {
		e := newEnv(t)
		c := e.client(e.admin, client.WithChunkSize(chunk))
		wrong := objects.Sum([]byte("something else"))
		_, err := c.PutBlob(e.ctx, bytes.NewReader(data), int64(len(data)), wrong)
		require.ErrorIs(t, err, wire.ErrDigestMismatch)
		require.ErrorIs(t, err, repo.ErrInvalid)
		for _, id := range []objects.ID{sum, wrong} {
			ok, err := e.svc.Store().Objects().HasBlob(e.ctx, id)
			require.NoError(t, err)
			require.False(t, ok)
		}
		ents, err := os.ReadDir(e.uploadDir)
		require.NoError(t, err)
		require.Empty(t, ents, "a refused upload is dropped")
	})

	t.Run("offset-mismatch", func(t *testing.T) {
		e := newEnv(t)
		hc := &http.Client{Transport: e.spec.transport(t, http.DefaultTransport)}
		do := func(method, path, contentRange string, body io.Reader) *http.Response {
			req, err := http.NewRequest(method, e.ts.URL+path, body)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+e.admin)
			if contentRange != "" {
				req.Header.Set("Content-Range", contentRange)
				req.Header.Set("Content-Type", "application/octet-stream")
			}
			resp, err := hc.Do(req)
			require.NoError(t, err)
			return resp
		}
		var up wire.Upload
		require.NoError(t, decodeJSON(do(http.MethodPost, "/api/v1/uploads", "", nil), &up))
		require.NoError(t, decodeJSON(do(http.MethodPut, "/api/v1/uploads/"+up.ID, "bytes 0-2/*", strings.NewReader("abc")), &up))
		require.Equal(t, int64(3), up.Offset)
		resp := do(http.MethodPut, "/api/v1/uploads/"+up.ID, "bytes 0-2/*", strings.NewReader("abc"))
		var apiErr wire.Error
		require.Error(t, decodeJSON(resp, &apiErr))
		require.Equal(t, http.StatusConflict, resp.StatusCode)
		// Another token does not see the upload.
		other := e.token("other", "repo:*:write")
		req, err := http.NewRequest(http.MethodGet, e.ts.URL+"/api/v1/uploads/"+up.ID, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+other)
		resp, err = hc.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
}

func TestPaging(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	st := e.svc
	for i := range 25 {
		_, err := st.CreateRepo(ctx, "r"+strconv.Itoa(100+i), repo.CreateOptions{})
		require.NoError(t, err)
	}
	for i := range 23 {
		_, err := st.Commit(ctx, "r100", repo.CommitRequest{AllowEmpty: true, Message: strconv.Itoa(i)})
		require.NoError(t, err)
	}

	// follow reads every page of path, limit items a page.
	follow := func(path string, limit int, items func(raw []byte) int) (pages int) {
		next := ""
		for {
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if next != "" {
				q.Set("cursor", next)
			}
			resp := e.get(e.admin, path+"?"+q.Encode())
			raw, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
			pages++
			n := items(raw)
			var pg struct{ Next string }
			require.NoError(t, jsonUnmarshal(raw, &pg))
			if pg.Next == "" {
				require.Empty(t, resp.Header.Get("Link"))
				return pages
			}
			require.Equal(t, limit, n)
			require.Contains(t, resp.Header.Get("Link"), "cursor="+pg.Next)
			next = pg.Next
		}
	}

	var names []string
	pages := follow("/api/v1/repositories", 10, func(raw []byte) int {
		var pg wire.Page[repo.RepoInfo]
		require.NoError(t, jsonUnmarshal(raw, &pg))
		for _, r := range pg.Items {
			names = append(names, r.Name)
		}
		return len(pg.Items)
	})
	require.Equal(t, 3, pages)
	require.Len(t, names, 25)
	require.Equal(t, "r100", names[0])
	require.Equal(t, "r124", names[24])

	var ids []string
	pages = follow("/api/v1/revisions/r100/log", 5, func(raw []byte) int {
		var pg wire.Page[repo.LogEntry]
		require.NoError(t, jsonUnmarshal(raw, &pg))
		for _, v := range pg.Items {
			ids = append(ids, v.ID.String())
		}
		return len(pg.Items)
	})
	require.Equal(t, 5, pages)
	want, err := st.Log(ctx, "r100", 0)
	require.NoError(t, err)
	require.Len(t, ids, len(want))
	for i := range want {
		require.Equal(t, want[i].ID.String(), ids[i])
	}

	var moves int
	follow("/api/v1/repositories/r100/reflog", 4, func(raw []byte) int {
		var pg wire.Page[repo.ReflogEntry]
		require.NoError(t, jsonUnmarshal(raw, &pg))
		moves += len(pg.Items)
		return len(pg.Items)
	})
	reflog, err := st.Reflog(ctx, "r100")
	require.NoError(t, err)
	require.Equal(t, len(reflog), moves)

	// Packages page by path. Paging a revision goes on from the cursor's
	// path in the version the revision names at each request: a commit
	// between pages shows in the later ones, and concurrent pagers of one
	// version see the same pages.
	recs := map[string][]byte{}
	for i := range 30 {
		recs[fmt.Sprintf("p/%02d.txt", i)] = []byte(strconv.Itoa(i))
	}
	commitFiles(t, st, "r101", recs)
	v1, err := st.Log(ctx, "r101", 1)
	require.NoError(t, err)
	listAll := func(rev string, limit int, between func(page int)) []string {
		var paths []string
		follow("/api/v1/revisions/"+rev+"/packages", limit, func(raw []byte) int {
			var pg wire.Page[repo.Record]
			require.NoError(t, jsonUnmarshal(raw, &pg))
			for _, r := range pg.Items {
				require.NotNil(t, r.Metadata)
				paths = append(paths, r.Path)
			}
			if between != nil {
				between(len(paths))
			}
			return len(pg.Items)
		})
		return paths
	}
	var wg sync.WaitGroup
	lists := make([][]string, 4)
	for i := range lists {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lists[i] = listAll(v1[0].ID.String(), 7, nil)
		}()
	}
	wg.Wait()
	for _, l := range lists {
		require.Len(t, l, 30)
		require.True(t, slices.IsSorted(l))
		require.Equal(t, lists[0], l)
	}
	added := false
	paths := listAll("r101", 10, func(n int) {
		if n == 10 && !added {
			added = true
			commitFiles(t, st, "r101", map[string][]byte{"p/99.txt": []byte("late"), "p/00a.txt": []byte("early")})
		}
	})
	require.Contains(t, paths, "p/99.txt", "a page after the commit lists it")
	require.NotContains(t, paths, "p/00a.txt", "it sorts before the cursor")
	require.Len(t, paths, 31)

	resp := e.get(e.admin, "/api/v1/repositories?cursor=%25%25")
	var apiErr wire.Error
	require.Error(t, decodeJSON(resp, &apiErr))
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	// The client reads every page.
	c := e.client(e.admin)
	all, err := c.ListRepos(ctx)
	require.NoError(t, err)
	require.Len(t, all, 25)
	log, err := c.Log(ctx, "r100", 7)
	require.NoError(t, err)
	require.Len(t, log, 7)
}

// TestPythonByDigest commits a wheel through the API: the server, not the
// client, extracts its metadata, as a local commit does.
func TestPythonByDigest(t *testing.T) {
	e := newEnv(t)
	c := e.client(e.admin)
	_, err := c.CreateRepo(e.ctx, "py", repo.CreateOptions{Kind: "python"})
	require.NoError(t, err)
	spec := pythontest.Spec{Name: "demo", Version: "1.0", RequiresPython: ">=3.8"}
	fn, data := spec.Wheel()
	p := filepath.Join(t.TempDir(), fn)
	require.NoError(t, os.WriteFile(p, data, 0o644))
	_, err = c.Commit(e.ctx, "py", repo.CommitRequest{Adds: []repo.Add{{Path: "demo/" + fn, File: p}}})
	require.NoError(t, err)
	recs, err := e.svc.List(e.ctx, "py")
	require.NoError(t, err)
	require.Len(t, recs, 1)
	sum := sha256.Sum256(spec.Metadata())
	require.Equal(t, map[string]string{
		"name": "demo", "version": "1.0", "filename": fn, "packagetype": "bdist_wheel",
		"requires_python": ">=3.8", "metadata_sha256": hex.EncodeToString(sum[:]), "yanked": "false",
	}, recs[0].Metadata)

	// Metadata a client sends is not the package's: the server reads it
	// from the blob, keeping only where an on-demand package came from.
	fn2, data2 := pythontest.Spec{Name: "other", Version: "2.0"}.Wheel()
	id, err := c.PutBlob(e.ctx, bytes.NewReader(data2), int64(len(data2)), objects.ID{})
	require.NoError(t, err)
	lie := map[string]string{"name": "demo", "version": "9.9", "yanked": "true", "pkgvc.remote": "up", "pkgvc.url": "https://up.example/" + fn2}
	_, err = c.Commit(e.ctx, "py", repo.CommitRequest{Records: []repo.Record{{Path: fn2, SHA256: id, Size: int64(len(data2)), Metadata: lie}}})
	require.NoError(t, err)
	got, err := c.List(e.ctx, "py")
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, fn2, got[1].Path)
	require.Equal(t, "other", got[1].Metadata["name"])
	require.Equal(t, "2.0", got[1].Metadata["version"])
	require.Equal(t, "false", got[1].Metadata["yanked"])
	require.Equal(t, "up", got[1].Metadata["pkgvc.remote"])
	require.Equal(t, "https://up.example/"+fn2, got[1].Metadata["pkgvc.url"])

	// A blob that is no wheel is refused, as a local add is.
	junk := []byte("not a zip")
	id, err = c.PutBlob(e.ctx, bytes.NewReader(junk), int64(len(junk)), objects.ID{})
	require.NoError(t, err)
	_, err = c.Commit(e.ctx, "py", repo.CommitRequest{Records: []repo.Record{{Path: "junk-1.0-py3-none-any.whl", SHA256: id, Size: int64(len(junk))}}})
	require.ErrorIs(t, err, repo.ErrInvalid)
}

// commitFiles commits files (path -> content) to repository name.
func commitFiles(t *testing.T, svc api.Service, name string, files map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	var adds []repo.Add
	for p, data := range files {
		f := filepath.Join(dir, strings.ReplaceAll(p, "/", "_"))
		require.NoError(t, os.WriteFile(f, data, 0o644))
		adds = append(adds, repo.Add{Path: p, File: f})
	}
	_, err := svc.Commit(t.Context(), name, repo.CommitRequest{Adds: adds})
	require.NoError(t, err)
}
