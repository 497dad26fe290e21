package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/api/server"
	"github.com/pkgvc/pkgvc/api/wire"
	"github.com/pkgvc/pkgvc/app"
	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/repo"
)

// A server given no upload engine (none with WithUploads, and a service
// without one) answers every upload request 503 uploads_unavailable; a
// commit of blobs the repository holds still works, one of other blobs is
// refused as ever.
func TestUploadsUnavailable(t *testing.T) {
	ctx := context.Background()
	ap, err := app.Open(ctx, t.TempDir(), app.WithCreate())
	require.NoError(t, err)
	t.Cleanup(func() { _ = ap.Close() })
	svc := ap.Service()
	tokens := auth.New(svc.Store(), auth.WithCacheTTL(0))
	sc, err := auth.ParseScope("repo:r:write")
	require.NoError(t, err)
	_, writer, err := tokens.Create(ctx, auth.CreateOptions{Name: "ci", Scopes: []auth.Scope{sc}})
	require.NoError(t, err)
	_, err = svc.CreateRepo(ctx, "r", repo.CreateOptions{})
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "a.txt")
	require.NoError(t, os.WriteFile(file, []byte("held"), 0o644))
	_, err = svc.Commit(ctx, "r", repo.CommitRequest{Adds: []repo.Add{{Path: "a.txt", File: file}}})
	require.NoError(t, err)
	held, err := svc.List(ctx, "r")
	require.NoError(t, err)
	require.Len(t, held, 1)

	srv, err := server.New(struct{ api.Service }{svc}, tokens)
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	do := func(method, path, ctype, body string, hdr ...string) (int, wire.Error) {
		t.Helper()
		req, err := http.NewRequest(method, ts.URL+wire.Prefix+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+writer)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var e wire.Error
		if resp.StatusCode >= 400 && method != http.MethodHead {
			require.NoError(t, json.Unmarshal(b, &e), string(b))
		}
		return resp.StatusCode, e
	}
	id := strings.Repeat("ab", 16)
	for _, c := range []struct{ method, path, ctype, body string }{
		{http.MethodPost, "/uploads", "", ""},
		{http.MethodGet, "/uploads/" + id, "", ""},
		{http.MethodHead, "/uploads/" + id, "", ""},
		{http.MethodPut, "/uploads/" + id, "application/octet-stream", "data"},
		{http.MethodPost, "/uploads/" + id + "/finish", "application/json", `{"sha256":"` + held[0].SHA256.String() + `"}`},
		{http.MethodDelete, "/uploads/" + id, "", ""},
	} {
		code, e := do(c.method, c.path, c.ctype, c.body, "Content-Range", "bytes 0-3/4")
		require.Equal(t, http.StatusServiceUnavailable, code, "%s %s: %+v", c.method, c.path, e)
		if c.method != http.MethodHead {
			require.Equal(t, "uploads_unavailable", e.Code, "%s %s", c.method, c.path)
			require.Contains(t, e.Message, "upload")
		}
	}

	commit := func(sum string) (int, wire.Error) {
		return do(http.MethodPost, "/repositories/r/commits", "application/json",
			`{"records":[{"path":"b.txt","sha256":"`+sum+`","size":4}]}`)
	}
	code, e := commit(held[0].SHA256.String())
	require.Equal(t, http.StatusCreated, code, "%+v", e)
	code, e = commit(strings.Repeat("0", 64))
	require.Equal(t, http.StatusForbidden, code, "%+v", e)
}
