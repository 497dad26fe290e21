package dist_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	puball "github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/refs"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

func requireKinds(t *testing.T, err error, kinds ...string) {
	t.Helper()
	require.ErrorIs(t, err, repo.ErrKindMismatch)
	require.ErrorIs(t, err, repo.ErrInvalid)
	for _, k := range kinds {
		require.Regexp(t, regexp.MustCompile(`\b`+k+`\b`), err.Error())
	}
}

// A distribution serves one kind: a version pinned by id gives it the
// version's kind, and a pin or a remote of another kind than its own is
// refused.
func TestDistKinds(t *testing.T) {
	ctx, st, _ := memDists(t)
	rm := remote.New(st, puball.Syncers())
	ds := dist.NewDists(st, dist.WithRemotes(rm))
	_, err := st.CreateRepo(ctx, "py", repo.CreateOptions{Kind: "python"})
	require.NoError(t, err)
	fileV := commitText(t, ctx, st, "r", map[string]string{"a.txt": "one"})
	blob := commitText(t, ctx, st, "r", map[string]string{"demo-1.0.tar.gz": "not read"})
	rec, err := st.Stat(ctx, blob.ID.String(), "demo-1.0.tar.gz")
	require.NoError(t, err)
	_, err = st.Commit(ctx, "py", repo.CommitRequest{Records: []repo.Record{rec}})
	require.NoError(t, err)
	pyV, err := st.Resolve(ctx, "py")
	require.NoError(t, err)

	d, err := ds.Create(ctx, "bypy", dist.DistSpec{BasePath: "bypy", Version: pyV.ID.String()})
	require.NoError(t, err)
	require.Equal(t, "python", d.Kind, "a version pinned by id gives its kind")
	d, err = ds.Create(ctx, "byfile", dist.DistSpec{BasePath: "byfile", Version: fileV.ID.String()})
	require.NoError(t, err)
	require.Equal(t, "file", d.Kind)

	_, err = ds.Update(ctx, "bypy", dist.DistSpec{Version: fileV.ID.String()})
	requireKinds(t, err, "file", "python")
	_, err = ds.Update(ctx, "bypy", dist.DistSpec{Version: "r@1"})
	requireKinds(t, err, "file", "python")
	got, err := ds.Get(ctx, "bypy")
	require.NoError(t, err)
	require.Equal(t, pyV.ID, got.Version, "refused: the pin stays")

	// A version of another kind named through a repository.
	require.NoError(t, st.Refs().Apply(ctx, refs.Txn{Updates: []refs.Update{{Name: "repos/py", Old: pyV.ID, New: fileV.ID}}, Who: "test", Action: "test"}))
	_, err = ds.Create(ctx, "mixedpin", dist.DistSpec{BasePath: "mixedpin", Version: "py"})
	requireKinds(t, err, "file", "python")

	// Remotes.
	_, err = rm.Create(ctx, remote.Remote{Name: "pyup", Kind: "python", URL: "http://127.0.0.1:1/simple/"})
	require.NoError(t, err)
	_, err = rm.Create(ctx, remote.Remote{Name: "fileup", Kind: "file", URL: "http://127.0.0.1:1/PULP_MANIFEST"})
	require.NoError(t, err)
	_, err = ds.Create(ctx, "mixed", dist.DistSpec{BasePath: "mixed", Repo: "r", Remote: "pyup"})
	requireKinds(t, err, "file", "python")
	require.ErrorContains(t, err, "pyup")
	_, err = ds.Get(ctx, "mixed")
	require.ErrorIs(t, err, dist.ErrDistNotFound)
	_, err = ds.Create(ctx, "mixed", dist.DistSpec{BasePath: "mixed", Version: fileV.ID.String(), Remote: "pyup"})
	requireKinds(t, err, "file", "python")
	d, err = ds.Create(ctx, "mixed", dist.DistSpec{BasePath: "mixed", Repo: "r", Remote: "fileup"})
	require.NoError(t, err)
	require.Equal(t, "fileup", d.Remote)
	_, err = ds.Update(ctx, "mixed", dist.DistSpec{Remote: "pyup"})
	requireKinds(t, err, "file", "python")
	_, err = st.CreateRepo(ctx, "py2", repo.CreateOptions{Kind: "python"})
	require.NoError(t, err)
	_, err = ds.Update(ctx, "mixed", dist.DistSpec{Repo: "py2"})
	requireKinds(t, err, "file", "python")
	_, err = ds.Update(ctx, "bypy", dist.DistSpec{Remote: "fileup"})
	requireKinds(t, err, "file", "python")
	_, err = ds.Update(ctx, "bypy", dist.DistSpec{Remote: "pyup"})
	require.NoError(t, err)
	got, err = ds.Get(ctx, "mixed")
	require.NoError(t, err)
	require.Equal(t, "fileup", got.Remote, "refused: the remote stays")
}

var _ dist.RemoteKinds = (*remote.Manager)(nil)

// A distribution an older pkgvc pinned: FixPinnedKinds gives it its
// version's kind; a kind-less version no repository keeps takes the kind
// its records tell, whatever kind (often the wrong file) the
// distributions pinning it were given.
func TestFixPinnedKinds(t *testing.T) {
	ctx, st, _ := memDists(t)
	ds := dist.NewDists(st, dist.WithLegacyKind("file"))
	files := commitText(t, ctx, st, "r", map[string]string{"a.txt": "one"})
	sdist := commitText(t, ctx, st, "r", map[string]string{"demo-1.0.tar.gz": "not read"})
	// Versions as an older pkgvc wrote them: no kind.
	oldCommit := func(tree objects.ID, msg string) objects.ID {
		doc, err := json.Marshal(map[string]any{"tree": tree, "parents": []objects.ID{}, "version": 1,
			"time": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "author": "old", "message": msg})
		require.NoError(t, err)
		b := st.Objects().NewBatch()
		res, err := b.PutObject(ctx, append(append([]byte{'C', 1}, doc...), '\n'))
		require.NoError(t, err)
		require.NoError(t, b.Flush(ctx))
		return res.ID
	}
	oldFiles, oldSdist, oldPlain := oldCommit(files.Tree, "one"), oldCommit(sdist.Tree, "two"), oldCommit(files.Tree, "three")
	_, err := st.VersionKind(ctx, oldSdist)
	require.ErrorIs(t, err, repo.ErrNeedsUpgrade)

	put := func(name, kind string, id objects.ID) {
		data, err := json.Marshal(map[string]any{"name": name, "base_path": name, "version": id, "kind": kind})
		require.NoError(t, err)
		_, err = meta.PutIf(ctx, st.Meta(), "dists/"+name, data, "")
		require.NoError(t, err)
	}
	put("wrong", "python", files.ID) // r is a file repository
	put("a", "file", oldSdist)       // what the older pkgvc wrote
	put("b", "python", oldSdist)
	put("c", "python", oldFiles)
	put("d", "file", oldFiles)
	put("e", "file", oldPlain)
	fixed, err := ds.FixPinnedKinds(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "d", "wrong"}, fixed)
	for name, want := range map[string]string{"wrong": "file", "a": "python", "b": "python", "c": "python", "d": "python", "e": "file"} {
		d, err := ds.Get(ctx, name)
		require.NoError(t, err)
		require.Equal(t, want, d.Kind, name)
	}
	k, err := st.VersionKind(ctx, oldSdist)
	require.NoError(t, err)
	require.Equal(t, "python", k)
	fixed, err = ds.FixPinnedKinds(ctx)
	require.NoError(t, err)
	require.Empty(t, fixed, "a second run changes nothing")
}

// A distribution following a repository that is deleted and made again
// with another kind does not serve the new kind's versions as its own.
func TestDistServesOnlyItsKind(t *testing.T) {
	ctx, st, ds := memDists(t)
	commitText(t, ctx, st, "r", map[string]string{"a.txt": "one"})
	_, err := ds.Create(ctx, "d", dist.DistSpec{BasePath: "d", Repo: "r"})
	require.NoError(t, err)
	s := content.NewServer(st, ds, publish.NewPublications(st, puball.Publishers(), 8))
	code, _ := getPath(s, "/content/d/a.txt")
	require.Equal(t, http.StatusOK, code)
	require.NoError(t, ds.DeleteRepo(ctx, "r", true))
	_, err = st.CreateRepo(ctx, "r", repo.CreateOptions{Kind: "python"})
	require.NoError(t, err)
	_, err = st.Commit(ctx, "r", repo.CommitRequest{Records: []repo.Record{}, AllowEmpty: true})
	require.NoError(t, err)
	code, body := getPath(s, "/content/d/")
	require.Equal(t, http.StatusConflict, code, body)
	require.Contains(t, body, "distribution d serves file content")
}

// The registry routes do not fail on a distribution whose repository now
// holds another kind: they find no container distribution there.
func TestRegistryRouteOnKindMismatch(t *testing.T) {
	ctx, st, ds := memDists(t)
	commitText(t, ctx, st, "r", map[string]string{"a.txt": "one"})
	_, err := ds.Create(ctx, "d", dist.DistSpec{BasePath: "d", Repo: "r"})
	require.NoError(t, err)
	s := content.NewServer(st, ds, publish.NewPublications(st, puball.Publishers(), 8))
	code, body := getPath(s, "/v2/d/manifests/latest")
	require.Equal(t, http.StatusNotFound, code, body)
	require.NoError(t, ds.DeleteRepo(ctx, "r", true))
	_, err = st.CreateRepo(ctx, "r", repo.CreateOptions{Kind: "python"})
	require.NoError(t, err)
	_, err = st.Commit(ctx, "r", repo.CommitRequest{Records: []repo.Record{}, AllowEmpty: true})
	require.NoError(t, err)
	code, body = getPath(s, "/v2/d/manifests/latest")
	require.Equal(t, http.StatusNotFound, code, body)
}

// A kind's rule for base paths applies to its distributions only: a
// container distribution's base path is its image name.
func TestKindBasePathRule(t *testing.T) {
	ctx, st, ds := memDists(t)
	_, err := st.CreateRepo(ctx, "img", repo.CreateOptions{Kind: "container"})
	require.NoError(t, err)
	_, err = ds.Create(ctx, "bad", dist.DistSpec{BasePath: "team/app-", Repo: "img"})
	require.ErrorIs(t, err, dist.ErrBasePath)
	require.Contains(t, err.Error(), "image name")
	_, err = ds.Create(ctx, "good", dist.DistSpec{BasePath: "team/app", Repo: "img"})
	require.NoError(t, err)
	_, err = ds.Create(ctx, "files", dist.DistSpec{BasePath: "files/app-", Repo: "r"})
	require.NoError(t, err, "a file distribution's base path is any path")
}
