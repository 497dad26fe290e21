package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pkgvc/pkgvc/app"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api/server"
	"github.com/pkgvc/pkgvc/api/wire"
	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	puball "github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/kinds/container/upstream/ocitest"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
)

// Every route that serves a private distribution's content answers by one
// rule, whatever the kind: dist:NAME:read, or read (write and admin imply
// it) on the repository the distribution serves.
func TestPrivateDistributionScopeRule(t *testing.T) {
	ctx := context.Background()
	ap, err := app.Open(ctx, t.TempDir(), app.WithCreate())
	require.NoError(t, err)
	svc := ap.Service()
	require.NoError(t, err)
	st := svc.Store()
	tokens := auth.New(st, auth.WithCacheTTL(0))
	pub := content.NewServer(st, svc.Dists(), publish.NewPublications(st, puball.Publishers(), 16),
		content.WithAuth(tokens), content.WithUploads(ap.Uploads()))
	apiSrv, err := server.New(svc, tokens)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle(wire.Prefix+"/", apiSrv)
	mux.Handle("/", pub)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)

	secrets := map[string]string{}
	token := func(scope string) string {
		if s, ok := secrets[scope]; ok {
			return s
		}
		sc, err := auth.ParseScope(scope)
		require.NoError(t, err)
		_, secret, err := tokens.Create(ctx, auth.CreateOptions{Name: strings.NewReplacer(":", "-", "*", "x").Replace(scope), Scopes: []auth.Scope{sc}})
		require.NoError(t, err)
		secrets[scope] = secret
		return secret
	}
	admin := token("*:*:admin")
	private := true
	mkDist := func(kind, repoName, name, base string) {
		_, err := svc.CreateRepo(ctx, repoName, repo.CreateOptions{Kind: kind})
		require.NoError(t, err)
		_, err = svc.CreateDist(ctx, name, dist.DistSpec{BasePath: base, Repo: repoName, Private: &private})
		require.NoError(t, err)
	}
	commit := func(repoName, path string, body []byte) {
		f := filepath.Join(t.TempDir(), filepath.Base(path))
		require.NoError(t, os.WriteFile(f, body, 0o644))
		_, err := svc.Commit(ctx, repoName, repo.CommitRequest{Adds: []repo.Add{{Path: path, File: f}}})
		require.NoError(t, err)
	}
	get := func(url, tok string) (int, string) {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		require.NoError(t, err)
		if tok != "" {
			req.SetBasicAuth("x", tok)
		}
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, */*")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// byID: the distribution is pinned to a version given by its bare id,
	// which names no repository: only dist:NAME:read reads it.
	type route struct {
		dist, repo, url string
		byID            bool
	}
	var routes []route
	pin := func(name, base, version string) {
		_, err := svc.CreateDist(ctx, name, dist.DistSpec{BasePath: base, Version: version, Private: &private})
		require.NoError(t, err)
	}
	show := func(dist, repoName string, byID bool) {
		routes = append(routes, route{dist, repoName, ts.URL + wire.Prefix + "/distributions/" + dist, byID})
	}

	// file
	mkDist("file", "rf", "df", "f")
	commit("rf", "dir/a.txt", []byte("a\n"))
	served, err := svc.Served(ctx, "df")
	require.NoError(t, err)
	ver := served.Version.ID.String()
	// The same version served three ways: following rf, pinned as rf@1
	// (which names rf), pinned by its id (which names no repository).
	pin("dfpin", "fpin", "rf@1")
	pin("dfid", "fid", ver)
	for _, d := range []struct {
		dist, base string
		byID       bool
	}{{"df", "f", false}, {"dfpin", "fpin", false}, {"dfid", "fid", true}} {
		for _, p := range []string{"dir/a.txt", "", "dir/", "PULP_MANIFEST", "@" + ver + "/dir/a.txt"} {
			routes = append(routes, route{d.dist, "rf", ts.URL + "/content/" + d.base + "/" + p, d.byID})
		}
		for _, p := range []string{"/served", "/objects/" + served.Version.Tree.String() + "?version=" + ver, "/content?version=" + ver + "&path=dir/a.txt"} {
			routes = append(routes, route{d.dist, "rf", ts.URL + wire.Prefix + "/distributions/" + d.dist + p, d.byID})
		}
		show(d.dist, "rf", d.byID)
	}

	// python
	mkDist("python", "rp", "dp", "p")
	wheel, body := pythontest.Spec{Name: "alpha", Version: "1.0"}.Wheel()
	commit("rp", wheel, body)
	code, page := get(ts.URL+"/content/p/simple/alpha/", admin)
	require.Equal(t, http.StatusOK, code, page)
	m := regexp.MustCompile(`href="([^"#]*` + regexp.QuoteMeta(wheel) + `)`).FindStringSubmatch(page)
	require.NotNil(t, m, page)
	file := ts.URL + "/content/p/simple/alpha/" + m[1]
	if strings.HasPrefix(m[1], "/") {
		file = ts.URL + m[1]
	}
	pin("dppin", "ppin", "rp@1")
	for _, u := range []string{ts.URL + "/content/p/simple/", ts.URL + "/content/p/simple/alpha/",
		ts.URL + "/content/p/simple/alpha/?format=json", ts.URL + "/content/p/simple/?format=json", file, file + ".metadata"} {
		routes = append(routes, route{"dp", "rp", u, false})
		routes = append(routes, route{"dppin", "rp", strings.Replace(u, "/content/p/", "/content/ppin/", 1), false})
	}
	show("dp", "rp", false)
	show("dppin", "rp", false)

	// container
	mkDist("container", "rc", "dc", "c/img")
	img := ocitest.NewImage(t, "linux", "amd64", true, 100)
	ref, err := name.ParseReference(strings.TrimPrefix(ts.URL, "http://")+"/c/img:v1", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, ggcr.Write(ref, img, ggcr.WithAuth(&authn.Basic{Username: "x", Password: admin})))
	digest, err := img.Digest()
	require.NoError(t, err)
	layer, err := img.LayerList[0].Digest()
	require.NoError(t, err)
	for _, p := range []string{"manifests/v1", "manifests/" + digest.String(), "blobs/" + layer.String(), "tags/list", "referrers/" + digest.String()} {
		routes = append(routes, route{"dc", "rc", ts.URL + "/v2/c/img/" + p, false})
	}
	show("dc", "rc", false)
	for _, r := range routes {
		code, body := get(r.url, admin)
		require.Equal(t, http.StatusOK, code, "%s: %s", r.url, body)
	}

	scopes := []struct {
		scope  string // {d} and {r}: the distribution's and its repository's names
		allow  bool
		byRepo bool // allowed through the repository the distribution serves
	}{
		{"", false, false},
		{"dist:{d}:read", true, false},
		{"dist:other:read", false, false},
		{"repo:{r}:read", true, true},
		{"repo:{r}:write", true, true},
		{"repo:{r}:admin", true, true},
		{"repo:other:write", false, false},
		{"*:*:admin", true, false},
	}
	for _, sc := range scopes {
		for _, r := range routes {
			scope := strings.NewReplacer("{d}", r.dist, "{r}", r.repo).Replace(sc.scope)
			t.Run(scope+" "+strings.TrimPrefix(r.url, ts.URL), func(t *testing.T) {
				tok := ""
				if scope != "" {
					tok = token(scope)
				}
				code, body := get(r.url, tok)
				if sc.allow && !(sc.byRepo && r.byID) {
					require.Equal(t, http.StatusOK, code, body)
					return
				}
				require.Contains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, code, body)
				if scope != "" {
					require.Equal(t, http.StatusForbidden, code, "a valid token without the scope: %s", body)
				}
			})
		}
	}

	// The list shows the distributions the token reads, by the same rule.
	code, list := get(ts.URL+wire.Prefix+"/distributions", token("repo:rf:read"))
	require.Equal(t, http.StatusOK, code, list)
	var listed struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(list), &listed), list)
	var names []string
	for _, d := range listed.Items {
		names = append(names, d.Name)
	}
	require.ElementsMatch(t, []string{"df", "dfpin"}, names)
}
