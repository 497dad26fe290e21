package upstream_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/container/upstream"
	"github.com/pkgvc/pkgvc/kinds/container/upstream/ocitest"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// TestNamespaceRemote: a remote without an upstream name stands for the
// whole registry. A sync of it into a repository recording no upstream
// name is refused with a hint; a cache repository is created by its first
// pull that finds the image, records the image's name, and syncs of it
// read that image.
func TestNamespaceRemote(t *testing.T) {
	up := ocitest.Start(t, "")
	one := ocitest.NewImage(t, "linux", "amd64", true, 2000)
	amd := ocitest.NewImage(t, "linux", "amd64", true, 1000)
	arm := ocitest.NewImage(t, "linux", "arm64", true, 1000)
	d1 := up.Push("library/alpine", "3", one)
	up.Push("library/alpine", "multi", ocitest.NewIndex(t, amd, arm))
	up.Push("team/tools/jq", "1", ocitest.NewImage(t, "linux", "amd64", false, 500))

	e := newEnv(t)
	_, err := e.m.Create(ctx(t), remote.Remote{Name: "hub", Kind: upstream.Kind, URL: up.URL(), Retries: 1})
	require.NoError(t, err, "no upstream name: the whole registry")
	ns, err := e.m.ServesNamespace(ctx(t), "hub")
	require.NoError(t, err)
	require.True(t, ns)

	_, err = e.m.Sync(ctx(t), "hub", "mirror", remote.SyncOptions{})
	require.ErrorIs(t, err, remote.ErrNamespaceRemote)
	require.ErrorIs(t, err, repo.ErrInvalid)
	require.ErrorContains(t, err, "namespace distribution")
	require.Equal(t, 0, e.versions(), "nothing synced")

	ref, err := e.m.CacheRepo(ctx(t), "hub", "hub", "library/alpine")
	require.NoError(t, err)
	require.Equal(t, "hub.library.alpine", ref.Repo)
	require.False(t, ref.Exists)
	require.Equal(t, repo.Upstream{Name: "library/alpine", Remote: "hub", Dist: "hub"}, ref.Upstream)

	// A name the registry lacks creates nothing.
	none, err := e.m.CacheRepo(ctx(t), "hub", "hub", "nope/x")
	require.NoError(t, err)
	res, err := e.m.PullCache(ctx(t), none, []string{"1"})
	require.NoError(t, err)
	require.Equal(t, []string{"1"}, res.NotFound)
	_, err = e.st.RepoConfig(ctx(t), none.Repo)
	require.ErrorIs(t, err, repo.ErrRepoNotFound)

	res, err = e.m.PullCache(ctx(t), ref, []string{"3", "multi"})
	require.NoError(t, err)
	require.Empty(t, res.NotFound)
	require.Empty(t, res.Failed)
	cfg, err := e.st.RepoConfig(ctx(t), "hub.library.alpine")
	require.NoError(t, err)
	require.Equal(t, &ref.Upstream, cfg.Upstream)
	require.Equal(t, upstream.Kind, cfg.Kind)
	info, err := e.st.ShowRepo(ctx(t), "hub.library.alpine")
	require.NoError(t, err)
	require.Equal(t, 1, info.Head.Number)
	again, err := e.m.CacheRepo(ctx(t), "hub", "hub", "library/alpine")
	require.NoError(t, err)
	require.True(t, again.Exists)

	// Another name spelled into the same repository name gets a suffix;
	// so does a name whose repository name a plain repository took.
	other, err := e.m.CacheRepo(ctx(t), "hub", "hub", "library.alpine")
	require.NoError(t, err)
	sum := sha256.Sum256([]byte("library.alpine"))
	require.Equal(t, "hub.library.alpine-"+hex.EncodeToString(sum[:])[:6], other.Repo)
	_, err = e.st.CreateRepo(ctx(t), "hub.team.tools.jq", repo.CreateOptions{Kind: upstream.Kind})
	require.NoError(t, err)
	jq, err := e.m.CacheRepo(ctx(t), "hub", "hub", "team/tools/jq")
	require.NoError(t, err)
	sum = sha256.Sum256([]byte("team/tools/jq"))
	require.Equal(t, "hub.team.tools.jq-"+hex.EncodeToString(sum[:])[:6], jq.Repo)
	_, err = e.m.Sync(ctx(t), "hub", "hub.team.tools.jq", remote.SyncOptions{})
	require.ErrorIs(t, err, remote.ErrNamespaceRemote, "the plain repository records no upstream")

	// A sync of the cache repository reads its image: every tag.
	up.Push("library/alpine", "4", ocitest.NewImage(t, "linux", "amd64", true, 700))
	sres, err := e.m.Sync(ctx(t), "hub", "hub.library.alpine", remote.SyncOptions{})
	require.NoError(t, err)
	require.Equal(t, 2, sres.Version)
	recs, err := e.st.List(ctx(t), "hub.library.alpine")
	require.NoError(t, err)
	paths := map[string]string{}
	for _, r := range recs {
		paths[r.Path] = r.Metadata[upstream.MetaDigest]
	}
	require.Contains(t, paths, upstream.TagsDir+"4")
	require.Equal(t, d1.String(), paths[upstream.TagsDir+"3"])

	_, err = e.m.CacheRepo(ctx(t), "hub", "hub", "Bad/Name")
	require.ErrorIs(t, err, repo.ErrInvalid)

	// The same distribution over another registry does not reuse the
	// first one's cache.
	_, err = e.m.Create(ctx(t), remote.Remote{Name: "hub2", Kind: upstream.Kind, URL: up.URL(), Retries: 1})
	require.NoError(t, err)
	moved, err := e.m.CacheRepo(ctx(t), "hub2", "hub", "library/alpine")
	require.NoError(t, err)
	require.False(t, moved.Exists)
	require.NotEqual(t, "hub.library.alpine", moved.Repo)
}

// TestNamespaceDockerHub: on Docker Hub, or with --docker-hub, a name of
// one component is short for library/<name>; elsewhere it is itself.
func TestNamespaceDockerHub(t *testing.T) {
	e := newEnv(t)
	for _, r := range []remote.Remote{
		{Name: "dh", Kind: upstream.Kind, URL: "https://registry-1.docker.io"},
		{Name: "dio", Kind: upstream.Kind, URL: "https://docker.io"},
		upstream.Options{DockerHub: true}.With(remote.Remote{Name: "local", Kind: upstream.Kind, URL: "http://127.0.0.1:1"}),
		{Name: "plain", Kind: upstream.Kind, URL: "http://127.0.0.1:1"},
	} {
		_, err := e.m.Create(ctx(t), r)
		require.NoError(t, err)
	}
	for _, tc := range []struct{ remote, name, want string }{
		{"dh", "alpine", "library/alpine"},
		{"dio", "alpine", "library/alpine"},
		{"local", "alpine", "library/alpine"},
		{"local", "bitnami/redis", "bitnami/redis"},
		{"plain", "alpine", "alpine"},
	} {
		ref, err := e.m.CacheRepo(ctx(t), tc.remote, "ns", tc.name)
		require.NoError(t, err)
		require.Equal(t, tc.want, ref.Upstream.Name, "%s %s", tc.remote, tc.name)
	}
}

// TestNamespaceRemoteOnDemand: a cache repository of an on-demand remote
// records its blobs on demand; they are fetched later through the
// remote, which names no image: the blob's URL does.
func TestNamespaceRemoteOnDemand(t *testing.T) {
	up := ocitest.Start(t, "")
	img := ocitest.NewImage(t, "linux", "amd64", true, 4000)
	up.Push("team/app", "1", img)
	e := newEnv(t)
	_, err := e.m.Create(ctx(t), remote.Remote{Name: "hub", Kind: upstream.Kind, URL: up.URL(), Retries: 1, Policy: remote.OnDemand})
	require.NoError(t, err)
	ref, err := e.m.CacheRepo(ctx(t), "hub", "ns", "team/app")
	require.NoError(t, err)
	_, err = e.m.PullCache(ctx(t), ref, []string{"1"})
	require.NoError(t, err)
	layers, err := img.Layers()
	require.NoError(t, err)
	lh, err := layers[0].Digest()
	require.NoError(t, err)
	recs, err := e.st.List(ctx(t), ref.Repo)
	require.NoError(t, err)
	var rec *repo.Record
	for i := range recs {
		if recs[i].Path == upstream.BlobsDir+lh.Hex {
			rec = &recs[i]
		}
	}
	require.NotNil(t, rec)
	require.True(t, repo.IsOnDemand(*rec))
	var buf bytes.Buffer
	require.NoError(t, e.m.FetchBlob(ctx(t), *rec, &buf))
	require.Equal(t, 4000, buf.Len())
}
