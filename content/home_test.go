package content_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/repo"
)

func TestClientAccess(t *testing.T) {
	for _, tc := range []struct {
		kind, base, url, use string
	}{
		{"python", "https://pkgs.example", "https://pkgs.example/content/team/py/simple/", "pip install --index-url https://pkgs.example/content/team/py/simple/ PROJECT"},
		{"python", "https://example.org/pkgvc/", "https://example.org/pkgvc/content/team/py/simple/", "pip install --index-url https://example.org/pkgvc/content/team/py/simple/ PROJECT"},
		{"container", "https://pkgs.example:8443", "pkgs.example:8443/team/py", "docker pull pkgs.example:8443/team/py:TAG"},
		{"container", "http://<server>", "<server>/team/py", "docker pull <server>/team/py:TAG"},
		{"file", "http://<server>", "http://<server>/content/team/py/", "curl -O http://<server>/content/team/py/PATH"},
	} {
		t.Run(tc.kind+" "+tc.base, func(t *testing.T) {
			a := content.ClientAccess(&dist.Distribution{Kind: tc.kind, BasePath: "team/py"}, tc.base, all.Kinds())
			require.Equal(t, tc.url, a.URL)
			require.Equal(t, tc.use, a.Use)
			require.Equal(t, tc.use, a.Instructions[0], "Use is the first instruction")
		})
	}
	// The file kind also names the PULP_MANIFEST a file remote syncs from.
	a := content.ClientAccess(&dist.Distribution{Kind: "file", BasePath: "f"}, "https://h", all.Kinds())
	require.Equal(t, []string{"curl -O https://h/content/f/PATH", "pkgvc remote create NAME --kind file --url https://h/content/f/PULP_MANIFEST"}, a.Instructions)
	// A kind that says nothing (or none known) serves files at their URLs.
	a = content.ClientAccess(&dist.Distribution{Kind: "python", BasePath: "f"}, "https://h", repo.NewKinds())
	require.Equal(t, content.Access{URL: "https://h/content/f/", Use: "curl -O https://h/content/f/PATH", Instructions: []string{"curl -O https://h/content/f/PATH"}}, a)
}

// TestHome: GET / says what the server serves and how to use its public
// distributions (or how to make one), with no script and the headers of
// pkgvc's own pages.
func TestHome(t *testing.T) {
	ctx, st, ds := memDists(t)
	get := func(h http.Handler, host string) (*http.Response, string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		body, _ := io.ReadAll(w.Result().Body)
		return w.Result(), string(body)
	}
	resp, body := get(content.Home(ds, ""), "pkgs.internal:8080")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	require.Contains(t, resp.Header.Get("Content-Security-Policy"), "sandbox")
	require.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'")
	for _, want := range []string{"http://pkgs.internal:8080/content/", "/v2/", "/api/v1/", "No distribution yet", "pkgvc dist create"} {
		require.Contains(t, body, want)
	}
	require.NotContains(t, body, "<script")

	_, err := st.CreateRepo(ctx, "py", repo.CreateOptions{Kind: "python"})
	require.NoError(t, err)
	_, err = ds.Create(ctx, "pypi", dist.DistSpec{BasePath: "pypi", Repo: "py"})
	require.NoError(t, err)
	yes := true
	_, err = ds.Create(ctx, "hidden", dist.DistSpec{BasePath: "hidden", Repo: "r", Private: &yes})
	require.NoError(t, err)
	_, body = get(content.Home(ds, "https://pkgs.example"), "ignored:1")
	require.Contains(t, body, "pip install --index-url https://pkgs.example/content/pypi/simple/ PROJECT")
	require.NotContains(t, body, "hidden", "a private distribution is not named to anyone asking")
	require.Contains(t, body, "1 private one(s)")
	require.NotContains(t, body, "ignored")
	require.NotContains(t, body, "No distribution yet")
}
