package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
)

// TestServeContentRunsNoScript: package files anyone with write access
// commits (index.html, logo.svg, a file named like a javascript: URL) are
// served from the API's origin so that a browser cannot run script from
// them: every content response carries nosniff and a sandbox CSP, active
// types go out as attachments, listing links are relative paths, and the
// content server's Basic realm is not the API's.
func TestServeContentRunsNoScript(t *testing.T) {
	h := newHarness(t)
	dir := filepath.Join(h.work, "site")
	h.file("site/index.html", []byte("<script>alert(document.cookie)</script>"))
	h.file("site/logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`))
	h.file("site/app.js", []byte("alert(1)"))
	h.file("site/javascript:alert(1)", []byte("x"))
	h.file("site/notes.txt", []byte("<script>alert(1)</script>"))
	h.file("site/docs/a.txt", []byte("a"))
	h.ok("repo", "create", "site")
	h.ok("commit", "site", "--add", dir, "-m", "site")
	h.ok("dist", "create", "web", "--base-path", "web", "--repo", "site")
	h.ok("dist", "create", "priv", "--base-path", "priv", "--repo", "site", "--private")
	whl, data := pythontest.Spec{Name: "demo", Version: "1.0"}.Wheel()
	h.ok("repo", "create", "py", "--kind", "python")
	h.ok("commit", "py", "--add", h.file("wheels/"+whl, data), "-m", "wheel")
	h.ok("dist", "create", "py", "--base-path", "py", "--repo", "py")
	base, _ := startServe(t, h)

	get := func(p string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(base + p)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		return resp, string(b)
	}
	for _, tc := range []struct {
		path       string
		code       int
		attachment bool
	}{
		{"/content/web/index.html", 200, true},
		{"/content/web/logo.svg", 200, true},
		{"/content/web/app.js", 200, true},
		{"/content/web/javascript:alert(1)", 200, false},
		{"/content/web/notes.txt", 200, false},
		{"/content/web/PULP_MANIFEST", 200, false},
		{"/content/web/", 200, false},
		{"/content/web/docs/", 200, false},
		{"/content/web/nothing", 404, false},
		{"/content/py/simple/", 200, false},
		{"/content/py/simple/demo/", 200, false},
		{"/content/py/" + whl, 200, false},
		{"/content/priv/index.html", 401, false},
	} {
		resp, _ := get(tc.path)
		require.Equal(t, tc.code, resp.StatusCode, tc.path)
		require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), tc.path)
		csp := resp.Header.Get("Content-Security-Policy")
		require.Contains(t, csp, "sandbox", tc.path)
		require.Contains(t, csp, "default-src 'none'", tc.path)
		require.NotContains(t, csp, "script-src", tc.path)
		cd := resp.Header.Get("Content-Disposition")
		if tc.attachment {
			require.True(t, strings.HasPrefix(cd, "attachment"), "%s: Content-Disposition %q", tc.path, cd)
			require.Contains(t, cd, filepath.Base(tc.path))
		} else {
			require.Empty(t, cd, tc.path)
		}
	}

	_, listing := get("/content/web/")
	for _, name := range []string{"index.html", "logo.svg", "javascript:alert%281%29", "notes.txt", "docs/"} {
		require.Contains(t, listing, `<a href="./`+name+`">`, "links are relative paths")
	}
	require.NotContains(t, listing, `href="javascript:`)
	require.Equal(t, strings.Count(listing, `<a href="`), strings.Count(listing, `<a href="./`)+strings.Count(listing, `<a href="../`))

	content, _ := get("/content/priv/index.html")
	api, _ := get("/api/v1/repositories")
	require.Equal(t, http.StatusUnauthorized, api.StatusCode)
	cr, ar := content.Header.Get("WWW-Authenticate"), api.Header.Get("WWW-Authenticate")
	require.True(t, strings.HasPrefix(cr, "Basic realm="), cr)
	require.True(t, strings.HasPrefix(ar, "Basic realm="), ar)
	require.NotEqual(t, cr, ar, "the content server and the API have different realms")
}
