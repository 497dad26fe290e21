package publication_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metamem "github.com/pkgvc/pkgvc/meta/mem"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/pkgvc/pkgvc/kinds/all"
	kindpython "github.com/pkgvc/pkgvc/kinds/python"
	pyformat "github.com/pkgvc/pkgvc/kinds/python/format"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	"github.com/pkgvc/pkgvc/kinds/python/publication"
	"github.com/pkgvc/pkgvc/objects"
	objectsfs "github.com/pkgvc/pkgvc/objects/fs"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	"github.com/pkgvc/pkgvc/publish"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
)

var commitTime = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// newStore returns a store with the python repository "py", its objects
// in memory or, with onDisk, in a directory (so blobs have local paths).
func newStore(t testing.TB, onDisk bool) (context.Context, *repo.Store) {
	t.Helper()
	ctx := context.Background()
	var b objects.Backend = objectsmem.New()
	if onDisk {
		fsb, err := objectsfs.New(t.TempDir())
		require.NoError(t, err)
		b = fsb
	}
	st := repo.New(objects.New(b), refsmem.New(), all.Kinds(), repo.WithClock(func() time.Time { return commitTime }), repo.WithMeta(metamem.New()))
	_, err := st.CreateRepo(ctx, "py", repo.CreateOptions{Kind: "python"})
	require.NoError(t, err)
	return ctx, st
}

// pkg is a package file to commit at a path.
type pkg struct {
	path string
	data []byte
}

func wheelAt(dir string, s pythontest.Spec) pkg {
	name, data := s.Wheel()
	return pkg{path.Join(dir, name), data}
}

func sdistAt(dir string, s pythontest.Spec) pkg {
	name, data := s.Sdist()
	return pkg{path.Join(dir, name), data}
}

func commitPkgs(t testing.TB, ctx context.Context, st *repo.Store, pkgs ...pkg) error {
	t.Helper()
	dir := t.TempDir()
	var adds []repo.Add
	for i, p := range pkgs {
		f := filepath.Join(dir, fmt.Sprint(i))
		require.NoError(t, os.WriteFile(f, p.data, 0o644))
		adds = append(adds, repo.Add{Path: p.path, File: f})
	}
	_, err := st.Commit(ctx, "py", repo.CommitRequest{Adds: adds})
	return err
}

func head(t testing.TB, ctx context.Context, st *repo.Store) *repo.Version {
	t.Helper()
	v, err := st.Resolve(ctx, "py")
	require.NoError(t, err)
	return v
}

func publishFiles(t testing.TB, ctx context.Context, st *repo.Store) map[string]publish.File {
	t.Helper()
	files, err := publication.Publisher{}.Publish(ctx, st, head(t, ctx, st))
	require.NoError(t, err)
	out := map[string]publish.File{}
	for _, f := range files {
		_, dup := out[f.Path]
		require.False(t, dup, f.Path)
		out[f.Path] = f
	}
	return out
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// link is an <a> of a Simple API HTML page.
type link struct {
	text  string
	attrs map[string]string
}

// parseLinks parses page with x/net/html and returns its <a> elements and
// its <meta name="pypi:repository-version"> content.
func parseLinks(t testing.TB, page []byte) ([]link, string) {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	require.NoError(t, err)
	var links []link
	var version string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attrs := map[string]string{}
			for _, a := range n.Attr {
				attrs[a.Key] = a.Val
			}
			switch n.Data {
			case "a":
				var text strings.Builder
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					if c.Type == html.TextNode {
						text.WriteString(c.Data)
					}
				}
				links = append(links, link{text.String(), attrs})
			case "meta":
				if attrs["name"] == "pypi:repository-version" {
					version = attrs["content"]
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return links, version
}

func TestPublish(t *testing.T) {
	for _, onDisk := range []bool{false, true} {
		t.Run(fmt.Sprintf("onDisk=%v", onDisk), func(t *testing.T) { testPublish(t, onDisk) })
	}
}

func testPublish(t *testing.T, onDisk bool) {
	ctx, st := newStore(t, onDisk)
	// Random data makes alpha's blob incompressible, so it is stored raw
	// (a file on disk); beta 2.0's compresses and is stored compressed.
	noise := make([]byte, 300<<10) // over one window of ranged reads
	_, _ = rand.Read(noise)
	alpha := pythontest.Spec{Name: "alpha", Version: "1.0", Requires: []string{"beta>=2"}, RequiresPython: ">=3.7,<4",
		Extra: []pythontest.File{{Name: "alpha/data.bin", Body: noise}}}
	beta1 := pythontest.Spec{Name: "Beta", Version: "1.0"}
	beta2 := pythontest.Spec{Name: "Beta", Version: "2.0", Store: true} // compressible: may be stored compressed
	pkgs := []pkg{
		wheelAt("", alpha),
		wheelAt("pkgs/b", beta1),
		wheelAt("pkgs/b", beta2),
		sdistAt("pkgs/b", beta2),
	}
	require.NoError(t, commitPkgs(t, ctx, st, pkgs...))
	files := publishFiles(t, ctx, st)
	for _, p := range []struct {
		pkg        pkg
		compressed bool
	}{{pkgs[0], false}, {pkgs[2], true}} {
		bs, err := st.Objects().StatBlob(ctx, objects.Sum(p.pkg.data))
		require.NoError(t, err)
		require.Equal(t, p.compressed, bs.Compressed, p.pkg.path)
		_, local := st.Objects().BlobPath(objects.Sum(p.pkg.data))
		require.Equal(t, onDisk && !p.compressed, local, p.pkg.path)
	}

	var paths []string
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	require.Equal(t, []string{
		"alpha-1.0-py3-none-any.whl.metadata",
		"pkgs/b/Beta-1.0-py3-none-any.whl.metadata",
		"pkgs/b/Beta-2.0-py3-none-any.whl.metadata",
		"simple/alpha/index.html", "simple/alpha/index.v1.html", "simple/alpha/index.v1.json",
		"simple/beta/index.html", "simple/beta/index.v1.html", "simple/beta/index.v1.json",
		"simple/index.html", "simple/index.v1.html", "simple/index.v1.json",
	}, paths)

	// Metadata files are the METADATA bytes.
	for _, s := range []struct {
		path string
		spec pythontest.Spec
	}{{"alpha-1.0-py3-none-any.whl", alpha}, {"pkgs/b/Beta-1.0-py3-none-any.whl", beta1}, {"pkgs/b/Beta-2.0-py3-none-any.whl", beta2}} {
		f := files[s.path+".metadata"]
		require.Equal(t, string(s.spec.Metadata()), string(f.Content), s.path)
		require.Equal(t, publication.MetadataContentType, f.ContentType)
	}

	// Content types; the two HTML files share their content.
	require.Equal(t, "text/html; charset=utf-8", files["simple/beta/index.html"].ContentType)
	require.Equal(t, "application/vnd.pypi.simple.v1+html", files["simple/beta/index.v1.html"].ContentType)
	require.Equal(t, "application/vnd.pypi.simple.v1+json", files["simple/beta/index.v1.json"].ContentType)
	require.Equal(t, files["simple/beta/index.html"].Content, files["simple/beta/index.v1.html"].Content)

	// The project list.
	links, apiVersion := parseLinks(t, files["simple/index.html"].Content)
	require.Equal(t, "1.1", apiVersion)
	require.Len(t, links, 2)
	require.Equal(t, "alpha", links[0].text)
	require.Equal(t, "alpha/", links[0].attrs["href"])
	require.Equal(t, "beta/", links[1].attrs["href"])
	var list pyformat.ProjectList
	require.NoError(t, json.Unmarshal(files["simple/index.v1.json"].Content, &list))
	require.Equal(t, pyformat.ProjectList{Meta: pyformat.Meta{APIVersion: "1.1"}, Projects: []pyformat.ProjectRef{{Name: "alpha"}, {Name: "beta"}}}, list)

	// beta's HTML page: relative links with #sha256, core metadata for
	// wheels, sorted by version.
	links, apiVersion = parseLinks(t, files["simple/beta/index.html"].Content)
	require.Equal(t, "1.1", apiVersion)
	require.Len(t, links, 3)
	want := []struct {
		file     string
		pkg      pkg
		metadata []byte
	}{
		{"Beta-1.0-py3-none-any.whl", pkgs[1], beta1.Metadata()},
		{"Beta-2.0-py3-none-any.whl", pkgs[2], beta2.Metadata()},
		{"Beta-2.0.tar.gz", pkgs[3], nil},
	}
	for i, w := range want {
		l := links[i]
		require.Equal(t, w.file, l.text)
		require.Equal(t, "../../"+w.pkg.path+"#sha256="+sha(w.pkg.data), l.attrs["href"])
		if w.metadata != nil {
			require.Equal(t, "sha256="+sha(w.metadata), l.attrs["data-core-metadata"])
			require.Equal(t, "sha256="+sha(w.metadata), l.attrs["data-dist-info-metadata"])
		} else {
			require.NotContains(t, l.attrs, "data-core-metadata")
			require.NotContains(t, l.attrs, "data-dist-info-metadata")
		}
		require.NotContains(t, l.attrs, "data-yanked")
		require.NotContains(t, l.attrs, "data-requires-python")
	}
	links, _ = parseLinks(t, files["simple/alpha/index.html"].Content)
	require.Equal(t, ">=3.7,<4", links[0].attrs["data-requires-python"])
	require.Contains(t, string(files["simple/alpha/index.html"].Content), `data-requires-python="&gt;=3.7,&lt;4"`)

	// beta's JSON page.
	page := decodePage(t, files, "beta")
	require.Equal(t, "beta", page.Name)
	require.Equal(t, "1.1", page.Meta.APIVersion)
	require.Equal(t, []string{"1.0", "2.0"}, page.Versions)
	require.Len(t, page.Files, 3)
	for i, w := range want {
		f := page.Files[i]
		require.Equal(t, w.file, f.Filename)
		require.Equal(t, "../../"+w.pkg.path, f.URL)
		require.Equal(t, map[string]string{"sha256": sha(w.pkg.data)}, f.Hashes)
		require.Equal(t, int64(len(w.pkg.data)), f.Size)
		require.True(t, f.UploadTime.Equal(commitTime), f.UploadTime)
		require.False(t, f.Yanked.Yanked)
		if w.metadata != nil {
			require.Equal(t, pyformat.CoreMetadata{Available: true, Hashes: map[string]string{"sha256": sha(w.metadata)}}, f.CoreMetadata)
		} else {
			require.False(t, f.CoreMetadata.Available)
		}
	}
	require.Contains(t, string(files["simple/beta/index.v1.json"].Content), `"upload-time":"2025-01-02T03:04:05.000000Z"`)
	// PEP 714: JSON says core-metadata only (pip 22.3 to 23.1 crash on a
	// dist-info-metadata object).
	require.Contains(t, string(files["simple/beta/index.v1.json"].Content), `"core-metadata":{"sha256":"`)
	require.NotContains(t, string(files["simple/beta/index.v1.json"].Content), "dist-info-metadata")

	// The registry knows the publisher; Publications caches its output.
	p, ok := all.Publishers().Lookup("python")
	require.True(t, ok)
	require.Equal(t, "python", p.Kind())
	pub, err := publish.NewPublications(st, all.Publishers(), 4).For(ctx, "python", head(t, ctx, st))
	require.NoError(t, err)
	// The stored publication holds exactly the files Publish generates.
	stored := map[string]string{}
	require.NoError(t, pub.Walk(ctx, func(f *publish.File) error {
		data, ok, err := pub.ReadFile(ctx, f.Path)
		require.True(t, ok)
		stored[f.Path] = f.ContentType + "\n" + string(data)
		return err
	}))
	wantFiles := map[string]string{}
	for p, f := range files {
		wantFiles[p] = f.ContentType + "\n" + string(f.Content)
	}
	require.Equal(t, wantFiles, stored)
}

// TestPublishRecordsByDigest: records committed by digest are published
// from their metadata, else their file name; files that are not python
// distributions are left out; a wheel whose blob is absent (on demand),
// or whose metadata digest does not match, gets no metadata file.
func TestPublishRecordsByDigest(t *testing.T) {
	ctx, st := newStore(t, false)
	alpha := pythontest.Spec{Name: "alpha", Version: "1.0"}
	a := wheelAt("", alpha)
	require.NoError(t, commitPkgs(t, ctx, st, a))
	rec, err := st.Stat(ctx, "py", a.path)
	require.NoError(t, err)

	missing := objects.Sum([]byte("not stored"))
	upload := "2020-02-03T04:05:06.5Z"
	records := []repo.Record{
		// The same blob under other names, without metadata.
		{Path: "mirror/Gamma_Pkg-3.0.tar.gz", SHA256: rec.SHA256, Size: rec.Size},
		{Path: "mirror/README.txt", SHA256: rec.SHA256, Size: rec.Size},
		{Path: "mirror/junk-.whl", SHA256: rec.SHA256, Size: rec.Size},
		// The same wheel, yanked, with an upload time and a wrong digest.
		{Path: "yanked/alpha-1.0-py3-none-any.whl", SHA256: rec.SHA256, Size: rec.Size, Metadata: map[string]string{
			"name": "alpha", "version": "1.0", "packagetype": "bdist_wheel", "yanked": "true", "yanked_reason": "oops <b>",
			"upload_time": upload, "metadata_sha256": strings.Repeat("0", 64),
		}},
		// On demand: the blob is not in the store.
		{Path: "od/delta-2.0-py3-none-any.whl", SHA256: missing, Size: 10, Metadata: map[string]string{
			repo.MetaURL: "http://127.0.0.1:1/delta-2.0-py3-none-any.whl", "name": "delta", "version": "2.0",
		}},
	}
	_, err = st.Commit(ctx, "py", repo.CommitRequest{Records: records})
	require.NoError(t, err)
	files := publishFiles(t, ctx, st)

	var list pyformat.ProjectList
	require.NoError(t, json.Unmarshal(files["simple/index.v1.json"].Content, &list))
	require.Equal(t, []pyformat.ProjectRef{{Name: "alpha"}, {Name: "delta"}, {Name: "gamma-pkg"}}, list.Projects)

	page := decodePage(t, files, "gamma-pkg")
	require.Equal(t, []string{"3.0"}, page.Versions)
	require.Equal(t, "../../mirror/Gamma_Pkg-3.0.tar.gz", page.Files[0].URL)

	// alpha: the first path of a file name wins, so the yanked copy is not
	// listed; publish it alone to see it.
	page = decodePage(t, files, "alpha")
	require.Len(t, page.Files, 1)
	require.Equal(t, "../../alpha-1.0-py3-none-any.whl", page.Files[0].URL)
	_, err = st.Commit(ctx, "py", repo.CommitRequest{Removes: []string{a.path}})
	require.NoError(t, err)
	files = publishFiles(t, ctx, st)
	page = decodePage(t, files, "alpha")
	f := page.Files[0]
	require.Equal(t, "../../yanked/alpha-1.0-py3-none-any.whl", f.URL)
	require.Equal(t, pyformat.Yanked{Yanked: true, Reason: "oops <b>"}, f.Yanked)
	require.Equal(t, "2020-02-03T04:05:06.5Z", f.UploadTime.Format(time.RFC3339Nano))
	require.False(t, f.CoreMetadata.Available, "the recorded metadata digest does not match")
	require.NotContains(t, files, "yanked/alpha-1.0-py3-none-any.whl.metadata")
	links, _ := parseLinks(t, files["simple/alpha/index.html"].Content)
	require.Equal(t, "oops <b>", links[0].attrs["data-yanked"])

	page = decodePage(t, files, "delta")
	require.Equal(t, "../../od/delta-2.0-py3-none-any.whl", page.Files[0].URL)
	require.False(t, page.Files[0].CoreMetadata.Available, "on-demand blob is not in the store")
	require.NotContains(t, files, "od/delta-2.0-py3-none-any.whl.metadata")
}

// decodePage decodes the JSON page of project name (into a fresh value:
// json.Unmarshal into a used one keeps fields the new JSON leaves out).
func decodePage(t testing.TB, files map[string]publish.File, name string) pyformat.ProjectPage {
	t.Helper()
	f, ok := files["simple/"+name+"/index.v1.json"]
	require.True(t, ok, name)
	var page pyformat.ProjectPage
	require.NoError(t, json.Unmarshal(f.Content, &page))
	return page
}

// TestPublisherCache: New's publisher reads a wheel's METADATA once; the
// zero Publisher reads it at every Publish.
func TestPublisherCache(t *testing.T) {
	ctx, st := newStore(t, false)
	a := wheelAt("", pythontest.Spec{Name: "alpha", Version: "1.0"})
	require.NoError(t, commitPkgs(t, ctx, st, a))
	v := head(t, ctx, st)
	cached := publication.New()
	first, err := cached.Publish(ctx, st, v)
	require.NoError(t, err)

	// Without the blob only the cache still knows the metadata.
	_, err = st.Objects().DeleteBlob(ctx, objects.Sum(a.data), time.Now().Add(time.Hour))
	require.NoError(t, err)
	again, err := cached.Publish(ctx, st, v)
	require.NoError(t, err)
	require.Equal(t, first, again)
	plain, err := publication.Publisher{}.Publish(ctx, st, v)
	require.NoError(t, err)
	require.Len(t, plain, len(first)-1, "no metadata file")
}

func TestPublishEmpty(t *testing.T) {
	ctx, st := newStore(t, false)
	_, err := st.Commit(ctx, "py", repo.CommitRequest{AllowEmpty: true})
	require.NoError(t, err)
	files := publishFiles(t, ctx, st)
	require.Len(t, files, 3)
	require.JSONEq(t, `{"meta": {"api-version": "1.1"}, "projects": []}`, string(files["simple/index.v1.json"].Content))
}

// TestPublishEscapesPaths: package paths are escaped in URLs, and
// HTML-escaped in attributes.
func TestPublishEscapesPaths(t *testing.T) {
	ctx, st := newStore(t, false)
	p := wheelAt("a b&c/d#e?", pythontest.Spec{Name: "alpha", Version: "1.0+local.1"})
	require.NoError(t, commitPkgs(t, ctx, st, p))
	files := publishFiles(t, ctx, st)
	page := decodePage(t, files, "alpha")
	require.Equal(t, "../../a%20b&c/d%23e%3F/alpha-1.0+local.1-py3-none-any.whl", page.Files[0].URL)
	require.Equal(t, []string{"1.0+local.1"}, page.Versions)
	links, _ := parseLinks(t, files["simple/alpha/index.html"].Content)
	require.True(t, strings.HasPrefix(links[0].attrs["href"], page.Files[0].URL+"#sha256="))
	require.Contains(t, files, "a b&c/d#e?/alpha-1.0+local.1-py3-none-any.whl.metadata")
}

// TestKindRejectsAtCommit: the python kind refuses bad packages and
// reserved paths when committing, naming the file.
func TestKindRejectsAtCommit(t *testing.T) {
	ctx, st := newStore(t, false)
	lying := wheelAt("", pythontest.Spec{Name: "gamma", Version: "1.0", MetaName: "delta"})
	err := commitPkgs(t, ctx, st, lying)
	require.ErrorIs(t, err, repo.ErrInvalid)
	require.ErrorIs(t, err, pyformat.ErrMismatch)
	require.Contains(t, err.Error(), `gives Name "delta"`)
	require.Contains(t, err.Error(), "gamma-1.0-py3-none-any.whl")

	good := wheelAt("", pythontest.Spec{Name: "alpha", Version: "1.0"})
	for _, p := range []string{"simple/alpha-1.0-py3-none-any.whl", "simple", "x/alpha-1.0-py3-none-any.whl.metadata"} {
		err := commitPkgs(t, ctx, st, pkg{p, good.data})
		require.ErrorIs(t, err, repo.ErrReservedPath, p)
	}
	require.NoError(t, commitPkgs(t, ctx, st, pkg{"Simple/alpha-1.0-py3-none-any.whl", good.data}))
	rec, err := st.Stat(ctx, "py", "Simple/alpha-1.0-py3-none-any.whl")
	require.NoError(t, err)
	require.Equal(t, map[string]string{
		kindpython.MetaName: "alpha", kindpython.MetaVersion: "1.0", kindpython.MetaFilename: "alpha-1.0-py3-none-any.whl",
		kindpython.MetaPackageType: "bdist_wheel", kindpython.MetaMetadataSHA256: sha(pythontest.Spec{Name: "alpha", Version: "1.0"}.Metadata()),
		kindpython.MetaYanked: "false",
	}, rec.Metadata)
}
