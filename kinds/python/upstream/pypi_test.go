package upstream_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/httpx"
	"github.com/pkgvc/pkgvc/httpx/httpxtest"
	"github.com/pkgvc/pkgvc/internal/parallel"
	pubpypi "github.com/pkgvc/pkgvc/kinds/all"
	pyformat "github.com/pkgvc/pkgvc/kinds/python/format"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	"github.com/pkgvc/pkgvc/kinds/python/upstream"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

const mkwheel = "/work/shared/acceptance/mkwheel.py"

type wheelDist struct{ name, version string }

// writeWheels writes wheels into dir/files with mkwheel.py (or
// pythontest when it is missing) and returns filename -> content.
func writeWheels(t *testing.T, dir string, ds []wheelDist) map[string][]byte {
	t.Helper()
	out := filepath.Join(dir, "files")
	require.NoError(t, os.MkdirAll(out, 0o755))
	got := make(map[string][]byte)
	for _, d := range ds {
		s := pythontest.Spec{Name: d.name, Version: d.version}
		if _, err := os.Stat(mkwheel); err == nil {
			b, err := exec.Command("python3", mkwheel, out, d.name, d.version).CombinedOutput()
			require.NoError(t, err, "%s", b)
		} else {
			n, data := s.Wheel()
			require.NoError(t, os.WriteFile(filepath.Join(out, n), data, 0o644))
		}
		data, err := os.ReadFile(filepath.Join(out, s.WheelName()))
		require.NoError(t, err)
		got[s.WheelName()] = data
	}
	return got
}

// staticIndex writes a PEP 503 tree (simple/index.html, simple/NAME/
// index.html linking ../../files/FILE#sha256=…) and serves it with
// python3 -m http.server. badSum names a file whose digest is wrong.
func staticIndex(t *testing.T, ds []wheelDist, badSum string) string {
	dir := t.TempDir()
	files := writeWheels(t, dir, ds)
	byProject := map[string][]string{}
	for n := range files {
		p := strings.SplitN(n, "-", 2)[0]
		byProject[p] = append(byProject[p], n)
	}
	var root strings.Builder
	root.WriteString("<!DOCTYPE html><html><body>\n")
	for p, names := range byProject {
		fmt.Fprintf(&root, "<a href=\"%s/\">%s</a>\n", p, p)
		sort.Strings(names)
		var b strings.Builder
		b.WriteString("<!DOCTYPE html><html><body>\n")
		for _, n := range names {
			sum := sha256.Sum256(files[n])
			h := hex.EncodeToString(sum[:])
			if n == badSum {
				h = strings.Repeat("ab", 32)
			}
			fmt.Fprintf(&b, "<a href=\"../../files/%s#sha256=%s\" data-requires-python=\"%s\">%s</a><br>\n", n, h, html.EscapeString(">=3.7"), n)
		}
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "simple", p), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "simple", p, "index.html"), []byte(b.String()), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "simple", "index.html"), []byte(root.String()), 0o644))
	return httpxtest.StaticServer(t, dir) + "simple/"
}

type fixture struct {
	ctx context.Context
	st  *repo.Store
	m   *remote.Manager
}

func newFixture(t *testing.T) *fixture {
	ctx := context.Background()
	st, err := fsstore.OpenDir(ctx, filepath.Join(t.TempDir(), "store"), pubpypi.Kinds())
	require.NoError(t, err)
	_, err = st.CreateRepo(ctx, "py", repo.CreateOptions{Kind: "python"})
	require.NoError(t, err)
	return &fixture{ctx: ctx, st: st, m: remote.New(st, remoteall())}
}

func remoteall() *remote.Registry { return remote.NewRegistry(upstream.Syncer{}) }

// sync creates remote r (kind python) and syncs it into py, returning
// the paths of the new head.
func (f *fixture) sync(t *testing.T, r remote.Remote) (map[string]repo.Record, error) {
	t.Helper()
	r.Kind = "python"
	if r.Name == "" {
		r.Name = "up"
	}
	_, err := f.m.Create(f.ctx, r)
	require.NoError(t, err)
	_, err = f.m.Sync(f.ctx, r.Name, "py", remote.SyncOptions{})
	if err != nil {
		return nil, err
	}
	info, err := f.st.ShowRepo(f.ctx, "py")
	require.NoError(t, err)
	got := map[string]repo.Record{}
	if info.Head != nil {
		require.NoError(t, tree.Walk(f.ctx, f.st.Objects(), info.Head.Tree, func(e tree.Entry) error {
			got[e.Path] = e
			return nil
		}))
	}
	return got, nil
}

func keys(m map[string]repo.Record) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var upstreamDists = []wheelDist{{"alpha", "1.0"}, {"alpha", "1.1"}, {"alpha", "2.0"}, {"alpha", "2.1rc1"}, {"beta", "1.0"}}

func TestSyncStaticIndex(t *testing.T) {
	index := staticIndex(t, upstreamDists, "")
	for _, tc := range []struct {
		name string
		r    remote.Remote
		want []string
	}{
		{"all", remote.Remote{}, []string{"alpha/alpha-1.0", "alpha/alpha-1.1", "alpha/alpha-2.0", "beta/beta-1.0"}},
		{"project", upstream.Options{Projects: []string{"Alpha"}}.With(remote.Remote{}), []string{"alpha/alpha-1.0", "alpha/alpha-1.1", "alpha/alpha-2.0"}},
		{"specifier", upstream.Options{Projects: []string{"alpha>=1.1,<2"}}.With(remote.Remote{}), []string{"alpha/alpha-1.1"}},
		{"specifier names prerelease", upstream.Options{Projects: []string{"alpha>=2.1rc1"}}.With(remote.Remote{}), []string{"alpha/alpha-2.1rc1"}},
		{"prerelease", upstream.Options{Projects: []string{"alpha"}, Prerelease: true, Latest: 1}.With(remote.Remote{}), []string{"alpha/alpha-2.1rc1"}},
		{"latest", upstream.Options{Latest: 2}.With(remote.Remote{}), []string{"alpha/alpha-1.1", "alpha/alpha-2.0", "beta/beta-1.0"}},
		{"platform", upstream.Options{Projects: []string{"beta"}, Platforms: []string{"manylinux*_x86_64"}}.With(remote.Remote{}), []string{"beta/beta-1.0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.r.URL = index
			got, err := f.sync(t, tc.r)
			require.NoError(t, err)
			var want []string
			for _, w := range tc.want {
				want = append(want, "packages/"+w+"-py3-none-any.whl")
			}
			require.Equal(t, want, keys(got))
			rec := got[want[0]]
			require.Equal(t, "bdist_wheel", rec.Metadata["packagetype"])
			require.Equal(t, ">=3.7", rec.Metadata["requires_python"])
			require.Equal(t, "false", rec.Metadata["yanked"])
			require.NotEmpty(t, rec.Metadata["version"])
		})
	}
}

func TestSyncWrongDigest(t *testing.T) {
	index := staticIndex(t, upstreamDists, "alpha-1.1-py3-none-any.whl")
	f := newFixture(t)
	_, err := f.sync(t, upstream.Options{Projects: []string{"alpha"}}.With(remote.Remote{URL: index}))
	require.Error(t, err)
	require.Contains(t, err.Error(), "alpha-1.1-py3-none-any.whl")
	info, err := f.st.ShowRepo(f.ctx, "py")
	require.NoError(t, err)
	require.Nil(t, info.Head, "a failed sync makes no version")
}

func TestSyncRefusesOtherHost(t *testing.T) {
	index := staticIndex(t, upstreamDists, "")
	// The same server by another name: links resolve to 127.0.0.1, the
	// index is asked for as localhost.
	local := strings.Replace(index, "127.0.0.1", "localhost", 1)
	f := newFixture(t)
	_, err := f.sync(t, upstream.Options{Projects: []string{"beta"}}.With(remote.Remote{URL: local}))
	require.NoError(t, err, "relative links stay on the index's host")

	dir := t.TempDir()
	page := `<a href="http://127.0.0.2:1/x/beta-1.0-py3-none-any.whl#sha256=` + strings.Repeat("00", 32) + `">beta-1.0-py3-none-any.whl</a>`
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "simple", "beta"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "simple", "beta", "index.html"), []byte(page), 0o644))
	other := httpxtest.StaticServer(t, dir) + "simple/"
	f = newFixture(t)
	_, err = f.sync(t, upstream.Options{Projects: []string{"beta"}}.With(remote.Remote{URL: other}))
	require.ErrorIs(t, err, upstream.ErrHostNotAllowed)
	require.Contains(t, err.Error(), "--allow-host 127.0.0.2")
}

func TestSyncNoSHA256(t *testing.T) {
	dir := t.TempDir()
	page := `<a href="beta-1.0-py3-none-any.whl#md5=00">beta-1.0-py3-none-any.whl</a>`
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "simple", "beta"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "simple", "beta", "index.html"), []byte(page), 0o644))
	f := newFixture(t)
	_, err := f.sync(t, upstream.Options{Projects: []string{"beta"}}.With(remote.Remote{URL: httpxtest.StaticServer(t, dir) + "simple/"}))
	require.ErrorIs(t, err, upstream.ErrNoSHA256)
	require.Contains(t, err.Error(), "beta-1.0-py3-none-any.whl")
}

// TestSyncFromPkgvc syncs from another pkgvc's published python
// distribution, whose /simple/ speaks PEP 691 JSON.
func TestSyncFromPkgvc(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	files := writeWheels(t, dir, upstreamDists)
	st, err := fsstore.OpenDir(ctx, filepath.Join(dir, "store"), pubpypi.Kinds())
	require.NoError(t, err)
	_, err = st.CreateRepo(ctx, "src", repo.CreateOptions{Kind: "python"})
	require.NoError(t, err)
	adds, err := repo.ParseAdd(filepath.Join(dir, "files"))
	require.NoError(t, err)
	_, err = st.Commit(ctx, "src", repo.CommitRequest{Adds: adds})
	require.NoError(t, err)
	dists := dist.NewDists(st)
	_, err = dists.Create(ctx, "pyd", dist.DistSpec{BasePath: "py", Repo: "src"})
	require.NoError(t, err)
	srv := content.NewServer(st, dists, publish.NewPublications(st, pubpypi.Publishers(), 8))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- content.Serve(sctx, l, srv, nil) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	index := "http://" + l.Addr().String() + content.ContentPrefix + "py/simple/"

	f := newFixture(t)
	got, err := f.sync(t, upstream.Options{Prerelease: true}.With(remote.Remote{URL: index}))
	require.NoError(t, err)
	var want []string
	for n := range files {
		want = append(want, "packages/"+strings.SplitN(n, "-", 2)[0]+"/"+n)
	}
	sort.Strings(want)
	require.Equal(t, want, keys(got))
	versions := map[string]bool{}
	for _, r := range got {
		versions[r.Metadata["name"]+"=="+r.Metadata["version"]] = true
		require.Len(t, r.Metadata["metadata_sha256"], 64, "PEP 658 digest from the JSON page")
		require.NotEmpty(t, r.Metadata["upload_time"])
	}
	require.Equal(t, map[string]bool{"alpha==1.0": true, "alpha==1.1": true, "alpha==2.0": true, "alpha==2.1rc1": true, "beta==1.0": true}, versions)
}

func TestParseRequirement(t *testing.T) {
	for _, s := range []string{"requests", "Django>=4.2,<5", "x == 1.0", "a~=1.2", "b!=1.0"} {
		_, err := upstream.ParseRequirement(s)
		require.NoError(t, err, s)
	}
	for _, s := range []string{"", "-bad", "a>=", "a>=1||<2", "a>>1", "a>=x.y"} {
		_, err := upstream.ParseRequirement(s)
		require.Error(t, err, s)
	}
}

// TestSyncMetadataFromContent: a page without data-requires-python still
// gives synced records the metadata a commit of the same wheel gives: read
// from the wheel when the sync downloads it, from its metadata file (PEP
// 658) when it does not (on demand).
func TestSyncMetadataFromContent(t *testing.T) {
	dir := t.TempDir()
	files := writeWheels(t, dir, []wheelDist{{"gamma", "1.0"}})
	name := "gamma-1.0-py3-none-any.whl"
	whl := files[name]
	sum := sha256.Sum256(whl)

	// What a commit of the wheel records.
	f := newFixture(t)
	_, err := f.st.CreateRepo(f.ctx, "cmt", repo.CreateOptions{Kind: "python"})
	require.NoError(t, err)
	_, err = f.st.Commit(f.ctx, "cmt", repo.CommitRequest{Adds: []repo.Add{{Path: name, File: filepath.Join(dir, "files", name)}}})
	require.NoError(t, err)
	committed, err := f.st.Stat(f.ctx, "cmt", name)
	require.NoError(t, err)
	require.Equal(t, ">=3.7", committed.Metadata["requires_python"])

	// A page without data-requires-python.
	page := fmt.Sprintf(`<a href="../../files/%s#sha256=%x">%s</a>`, name, sum, name)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "simple", "gamma"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "simple", "gamma", "index.html"), []byte(page), 0o644))
	t.Run("immediate", func(t *testing.T) {
		got, err := f.sync(t, upstream.Options{Projects: []string{"gamma"}}.With(remote.Remote{Name: "imm", URL: httpxtest.StaticServer(t, dir) + "simple/"}))
		require.NoError(t, err)
		rec := got["packages/gamma/"+name]
		require.Equal(t, committed.Metadata, rec.Metadata, "the synced record says what a commit says")
	})

	// On demand, from a page that offers the metadata file.
	md, err := pyformat.ReadWheelMetadata(f.ctx, bytes.NewReader(whl), int64(len(whl)), name, pyformat.Limits{})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "files", name+".metadata"), md, 0o644))
	page = fmt.Sprintf(`<a href="../../files/%s#sha256=%x" data-core-metadata="sha256=%s">%s</a>`, name, sum, committed.Metadata["metadata_sha256"], name)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "simple", "gamma", "index.html"), []byte(page), 0o644))
	t.Run("on demand", func(t *testing.T) {
		g := newFixture(t)
		got, err := g.sync(t, upstream.Options{Projects: []string{"gamma"}}.With(remote.Remote{Name: "lazy", URL: httpxtest.StaticServer(t, dir) + "simple/", Policy: remote.OnDemand}))
		require.NoError(t, err)
		rec := got["packages/gamma/"+name]
		require.True(t, repo.IsOnDemand(rec))
		delete(rec.Metadata, repo.MetaRemote)
		delete(rec.Metadata, repo.MetaURL)
		require.Equal(t, committed.Metadata, rec.Metadata, "the on-demand record says what a commit says")
	})
}

// panicky is the python syncer with a bug in the goroutines that read
// project pages: the size lookup panics.
type panicky struct{ upstream.Syncer }

func (p panicky) Index(ctx context.Context, up remote.Upstream) ([]remote.Package, error) {
	up.KnownSize = func(context.Context, objects.ID) (int64, bool) { panic("bug in a project page") }
	return p.Syncer.Index(ctx, up)
}

func (p panicky) IndexSeq(ctx context.Context, up remote.Upstream, yield func(remote.Package) error) error {
	up.KnownSize = func(context.Context, objects.ID) (int64, bool) { panic("bug in a project page") }
	return p.Syncer.IndexSeq(ctx, up, yield)
}

// A panic reading a project page fails the sync, or the project a
// pull-through asked for, with the stack; the process goes on.
func TestSyncProjectPanicFails(t *testing.T) {
	f := newFixture(t)
	f.m = remote.New(f.st, remote.NewRegistry(panicky{}))
	_, err := f.sync(t, remote.Remote{URL: staticIndex(t, upstreamDists, "")})
	var pe *parallel.PanicError
	require.ErrorAs(t, err, &pe)
	require.Contains(t, err.Error(), "bug in a project page")
	require.Contains(t, pe.Stack, "pypi_test.go")

	// A pull-through of one project: that project fails.
	res, err := f.m.PullProjects(f.ctx, "up", "py", []string{"alpha"})
	require.NoError(t, err)
	require.ErrorAs(t, res.Failed["alpha"], &pe)
}

// TestIndexSeqInPathOrder: IndexSeq yields what Index returns, in strictly
// increasing path order, even where project names sort otherwise than
// their directories ("a-b" before "a/", "a0" after it).
func TestIndexSeqInPathOrder(t *testing.T) {
	// PEP 691 pages made here: a static tree cannot serve "a-b" at the
	// name its wheels give ("a_b").
	projects := map[string][]string{"a": {"1.0", "2.0"}, "a-b": {"1.0"}, "a0": {"1.0"}, "ab": {"1.0"}, "b": {"1.0"}, "a-c": {"3.0", "2.5"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", pyformat.ContentTypeJSON)
		name := strings.Trim(strings.TrimPrefix(r.URL.Path, "/simple/"), "/")
		if name == "" {
			var ps []map[string]string
			for p := range projects {
				ps = append(ps, map[string]string{"name": p})
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"meta": map[string]string{"api-version": "1.0"}, "projects": ps})
			return
		}
		var files []map[string]any
		for _, v := range projects[name] {
			fn := strings.ReplaceAll(name, "-", "_") + "-" + v + "-py3-none-any.whl"
			sum := sha256.Sum256([]byte(fn))
			files = append(files, map[string]any{"filename": fn, "url": "/files/" + fn, "hashes": map[string]string{"sha256": hex.EncodeToString(sum[:])}, "size": 10})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"meta": map[string]string{"api-version": "1.1"}, "name": name, "files": files})
	}))
	t.Cleanup(srv.Close)
	url := srv.URL + "/simple/"
	ds := 8
	c, err := httpx.New(httpx.Config{})
	require.NoError(t, err)
	for _, conc := range []int{1, 3} {
		up := remote.Upstream{Remote: remote.Remote{Name: "up", Kind: "python", URL: url, DownloadConcurrency: conc}, Client: c}
		whole, err := upstream.Syncer{}.Index(context.Background(), up)
		require.NoError(t, err)
		var got []string
		require.NoError(t, upstream.Syncer{}.IndexSeq(context.Background(), up, func(p remote.Package) error {
			got = append(got, p.Path)
			return nil
		}))
		require.Len(t, got, ds)
		for i := 1; i < len(got); i++ {
			require.Less(t, got[i-1], got[i])
		}
		var want []string
		for _, p := range whole {
			want = append(want, p.Path)
		}
		require.ElementsMatch(t, want, got)

		// An error from yield ends the listing and is returned.
		stop := errors.New("stop")
		n := 0
		err = upstream.Syncer{}.IndexSeq(context.Background(), up, func(remote.Package) error { n++; return stop })
		require.ErrorIs(t, err, stop)
		require.Equal(t, 1, n)
	}
}
