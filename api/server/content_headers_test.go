package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkgvc/pkgvc/app"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api/server"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/internal/auth"
	"github.com/pkgvc/pkgvc/repo"
)

// The API's routes that return package bytes send them as the content
// server does: no sniffing, a sandbox CSP, active types as attachments.
// They share the API's origin, and an admin's browser credentials.
func TestAPIContentRunsNoScript(t *testing.T) {
	ctx := context.Background()
	ap, err := app.Open(ctx, t.TempDir(), app.WithCreate())
	require.NoError(t, err)
	svc := ap.Service()
	require.NoError(t, err)
	tokens := auth.New(svc.Store(), auth.WithCacheTTL(0))
	apiSrv, err := server.New(svc, tokens)
	require.NoError(t, err)
	ts := httptest.NewServer(apiSrv)
	t.Cleanup(ts.Close)
	all, err := auth.ParseScope("*:*:admin")
	require.NoError(t, err)
	_, admin, err := tokens.Create(ctx, auth.CreateOptions{Name: "admin", Scopes: []auth.Scope{all}})
	require.NoError(t, err)

	_, err = svc.CreateRepo(ctx, "site", repo.CreateOptions{})
	require.NoError(t, err)
	files := map[string]string{
		"index.html": "<script>alert(document.cookie)</script>",
		"logo.svg":   `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`,
		"js/app.js":  "alert(1)",
		"notes.txt":  "<script>alert(1)</script>",
	}
	var adds []repo.Add
	for p, body := range files {
		f := filepath.Join(t.TempDir(), filepath.Base(p))
		require.NoError(t, os.WriteFile(f, []byte(body), 0o644))
		adds = append(adds, repo.Add{Path: p, File: f})
	}
	_, err = svc.Commit(ctx, "site", repo.CommitRequest{Adds: adds, Message: "site"})
	require.NoError(t, err)
	_, err = svc.CreateDist(ctx, "web", dist.DistSpec{BasePath: "web", Repo: "site"})
	require.NoError(t, err)
	served, err := svc.Served(ctx, "web")
	require.NoError(t, err)
	ver := served.Version.ID.String()

	for p, body := range files {
		active := !strings.HasSuffix(p, ".txt")
		for _, u := range []string{
			"/revisions/site/content?path=" + url.QueryEscape(p),
			"/distributions/web/content?version=" + ver + "&path=" + url.QueryEscape(p),
		} {
			req, err := http.NewRequest(http.MethodGet, ts.URL+server.Prefix+u, nil)
			require.NoError(t, err)
			req.SetBasicAuth("x", admin)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, u)
			require.Equal(t, int64(len(body)), resp.ContentLength, u)
			require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), u)
			csp := resp.Header.Get("Content-Security-Policy")
			require.Contains(t, csp, "sandbox", u)
			require.Contains(t, csp, "default-src 'none'", u)
			cd := resp.Header.Get("Content-Disposition")
			if active {
				require.True(t, strings.HasPrefix(cd, "attachment"), "%s: Content-Disposition %q", u, cd)
				require.Contains(t, cd, filepath.Base(p), u)
			} else {
				require.Empty(t, cd, u)
			}
		}
	}
}
