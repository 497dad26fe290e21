package publication_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	"github.com/pkgvc/pkgvc/kinds/python/publication"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
)

// testPublication commits Foo.Bar 1.0 and beta 2.0 and returns the
// publication.
func testPublication(t testing.TB) *publish.Publication {
	t.Helper()
	ctx, st := newStore(t, false)
	require.NoError(t, commitPkgs(t, ctx, st,
		wheelAt("", pythontest.Spec{Name: "Foo.Bar", Version: "1.0"}),
		wheelAt("b", pythontest.Spec{Name: "beta", Version: "2.0"})))
	pub, err := publish.NewPublications(st, all.Publishers(), 1).For(ctx, "python", head(t, ctx, st))
	require.NoError(t, err)
	return pub
}

const (
	pipAccept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
	jsonType  = "application/vnd.pypi.simple.v1+json"
	htmlType  = "application/vnd.pypi.simple.v1+html"
)

func TestRouteNegotiation(t *testing.T) {
	pub := testPublication(t)
	const html, v1html, json = "simple/beta/index.html", "simple/beta/index.v1.html", "simple/beta/index.v1.json"
	for _, tc := range []struct {
		name, accept, query, want string
	}{
		{"no Accept", "", "", html},
		{"any", "*/*", "", html},
		{"any shorthand", "*", "", html},
		{"text/html", "text/html", "", html},
		{"text/*", "text/*", "", html},
		{"browser", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "", html},
		{"pip", pipAccept, "", json},
		{"json", jsonType, "", json},
		{"json upper case", "Application/VND.PyPI.Simple.V1+JSON", "", json},
		{"latest json", "application/vnd.pypi.simple.latest+json", "", json},
		{"v1 html", htmlType, "", v1html},
		{"latest html", "application/vnd.pypi.simple.latest+html", "", v1html},
		{"html preferred by q", "application/vnd.pypi.simple.v1+json;q=0.5, text/html", "", html},
		{"json preferred by q", "text/html;q=0.2, application/vnd.pypi.simple.v1+json;q=0.3", "", json},
		{"v1 html over text/html", "text/html;q=0.5, application/vnd.pypi.simple.v1+html;q=0.6, application/vnd.pypi.simple.v1+json;q=0.1", "", v1html},
		{"tie: exact beats wildcard", "*/*, application/vnd.pypi.simple.v1+json", "", json},
		{"tie: html first", "application/vnd.pypi.simple.v1+json, text/html", "", html},
		{"q=0 refuses", "text/html;q=0, */*;q=0.1", "", v1html},
		{"q=0 on json", "application/vnd.pypi.simple.v1+json;q=0, */*", "", html},
		{"specific q=0 beats wildcard", "application/*, application/vnd.pypi.simple.v1+html;q=0", "", json},
		{"nothing acceptable", "application/xml", "", html},
		{"all refused", "*/*;q=0", "", html},
		{"bad q skipped", "application/vnd.pypi.simple.v1+json;q=2, text/html;q=0.5", "", html},
		{"junk", ",;,  ;q=1, /, a/, /b, */x", "", html},
		{"extension params", "application/vnd.pypi.simple.v1+json; charset=utf-8; q=0.9; ext=1, text/html;q=0.8", "", json},
		{"format query", pipAccept, "format=text/html", html},
		{"format query json", "", "format=application/vnd.pypi.simple.v1%2Bjson", json},
		{"format query v1 html", jsonType, "format=application/vnd.pypi.simple.v1%2Bhtml", v1html},
		{"format query unknown", jsonType, "format=xml", json},
		{"format json", "", "format=json", json},
		{"format html", jsonType, "format=HTML", html},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/content/py/simple/beta/?"+tc.query, nil)
			if tc.accept != "" {
				r.Header.Set("Accept", tc.accept)
			}
			target, redirect, vary, ok := publication.Publisher{}.Route(r, "simple/beta/", pub)
			require.True(t, ok)
			require.False(t, redirect)
			require.Equal(t, "Accept", vary)
			require.Equal(t, tc.want, target)
			f, ok := pub.File(target)
			require.True(t, ok)
			switch target {
			case json:
				require.Equal(t, jsonType, f.ContentType)
			case v1html:
				require.Equal(t, htmlType, f.ContentType)
			default:
				require.Equal(t, "text/html; charset=utf-8", f.ContentType)
			}
		})
	}

	// Several Accept header lines count as one list.
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Add("Accept", "text/html;q=0.1")
	r.Header.Add("Accept", jsonType)
	target, _, _, _ := publication.Publisher{}.Route(r, "simple/", pub)
	require.Equal(t, "simple/index.v1.json", target)
}

func TestRoutePaths(t *testing.T) {
	pub := testPublication(t)
	type want struct {
		target   string
		redirect bool
		ok       bool
	}
	for _, tc := range []struct {
		rel  string
		want want
	}{
		{"simple/", want{"simple/index.html", false, true}},
		{"simple", want{"simple/", true, true}},
		{"simple/beta/", want{"simple/beta/index.html", false, true}},
		{"simple/beta", want{"simple/beta/", true, true}},
		{"simple/BETA/", want{"simple/beta/", true, true}},
		{"simple/foo-bar/", want{"simple/foo-bar/index.html", false, true}},
		{"simple/Foo_Bar/", want{"simple/foo-bar/", true, true}},
		{"simple/foo.bar", want{"simple/foo-bar/", true, true}},
		{"simple/FOO--bar/", want{"simple/foo-bar/", true, true}},
		// Not the router's: unknown projects, generated files asked for by
		// name, packages, other paths.
		{"simple/gamma/", want{}},
		{"simple/gamma", want{}},
		{"simple/Gamma/", want{}},
		{"simple/beta/index.html", want{}},
		{"simple/beta/index.v1.json", want{}},
		{"simple/index.html", want{}},
		{"simple/index.v1.json", want{}},
		{"simple/beta/other", want{}},
		{"simple/BETA/index.html", want{}},
		{"simple/beta/x/", want{}},
		{"simple//", want{}},
		{"b/beta-2.0-py3-none-any.whl", want{}},
		{"b/beta-2.0-py3-none-any.whl.metadata", want{}},
		{"", want{}},
		{"simplex/", want{}},
		{"Simple/", want{}},
	} {
		t.Run(tc.rel, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			target, redirect, vary, ok := publication.Publisher{}.Route(r, tc.rel, pub)
			require.Equal(t, tc.want, want{target, redirect, ok})
			if !ok || redirect {
				require.Empty(t, vary)
			}
		})
	}

	// Without a publication, or with another kind's, nothing is routed.
	r := httptest.NewRequest("GET", "/", nil)
	_, _, _, ok := publication.Publisher{}.Route(r, "simple/", nil)
	require.False(t, ok)
	ctx := context.Background()
	_, st := newStore(t, false)
	_, err := st.CreateRepo(ctx, "files", repo.CreateOptions{Kind: "file"})
	require.NoError(t, err)
	_, err = st.Commit(ctx, "files", repo.CommitRequest{AllowEmpty: true})
	require.NoError(t, err)
	v, err := st.Resolve(ctx, "files")
	require.NoError(t, err)
	other, err := publish.NewPublications(st, all.Publishers(), 1).For(ctx, "file", v)
	require.NoError(t, err)
	for _, rel := range []string{"simple", "simple/", "simple/beta/"} {
		_, _, _, ok = publication.Publisher{}.Route(r, rel, other)
		require.False(t, ok, rel)
	}
}
