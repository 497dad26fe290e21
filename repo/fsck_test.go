package repo_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/repo"
)

func TestFsckClean(t *testing.T) {
	for _, env := range []func(*testing.T, ...repo.Option) *rtEnv{newMemEnv, newFSEnv} {
		e := env(t)
		res, err := e.s.Fsck(e.ctx)
		require.NoError(t, err, "an empty store is clean")
		require.Empty(t, res.Problems)

		e.create("dev", repo.CreateOptions{})
		e.create("test", repo.CreateOptions{})
		e.create("empty", repo.CreateOptions{})
		e.commit("dev", map[string]string{"a.txt": "aaa", "b.bin": randomText(3, 1000)})
		e.commit("dev", map[string]string{"c.txt": "c"}, "a.txt")
		_, err = e.s.Promote(e.ctx, []repo.Pair{{Src: "dev@1", Dst: "test"}}, repo.PromoteOptions{})
		require.NoError(t, err)

		res, err = e.s.Fsck(e.ctx)
		require.NoError(t, err)
		require.Empty(t, res.Problems)
		require.Equal(t, 3, res.Blobs)
		require.Equal(t, int64(3+1000+1), res.Bytes)
		// 2 versions, 2 root trees at least (configurations are no objects).
		require.GreaterOrEqual(t, res.Objects, 4)
	}
}

func TestFsckCorruptBlob(t *testing.T) {
	e := newFSEnv(t)
	e.create("dev", repo.CreateOptions{})
	e.commit("dev", map[string]string{"good.bin": randomText(4, 4096), "bad.bin": randomText(5, 4096)})
	bad := e.blob("dev", "bad.bin")
	flipByte(t, e.storedFile("blobs", bad), 10)

	res, err := e.s.Fsck(e.ctx)
	require.ErrorIs(t, err, repo.ErrCorrupt)
	require.Len(t, res.Problems, 1)
	require.Contains(t, res.Problems[0], bad.String())
	require.Contains(t, res.Problems[0], "bad.bin")
	require.Contains(t, err.Error(), bad.String())

	// As fsck advises, committing the same file again repairs the blob
	// (no new version: nothing changed), in this repository or another.
	e.create("other", repo.CreateOptions{})
	e.commit("other", map[string]string{"again.bin": randomText(5, 4096)})
	res, err = e.s.Fsck(e.ctx)
	require.NoError(t, err)
	require.Empty(t, res.Problems)
}

func TestFsckMissingBlob(t *testing.T) {
	e := newFSEnv(t)
	e.create("dev", repo.CreateOptions{})
	e.commit("dev", map[string]string{"a.bin": randomText(6, 100)})
	id := e.blob("dev", "a.bin")
	require.NoError(t, os.Remove(e.storedFile("blobs", id)))

	res, err := e.s.Fsck(e.ctx)
	require.ErrorIs(t, err, repo.ErrCorrupt)
	require.Len(t, res.Problems, 1)
	require.Contains(t, res.Problems[0], id.String())
}

func TestFsckDamagedObjects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(e *rtEnv, path string)
	}{
		{"deleted", func(e *rtEnv, path string) { require.NoError(e.t, os.Remove(path)) }},
		{"flipped", func(e *rtEnv, path string) { flipByte(e.t, path, 3) }},
	} {
		for _, what := range []string{"tree", "version", "cached tree", "cached version"} {
			t.Run(tc.name+" "+what, func(t *testing.T) {
				e := newFSEnv(t)
				e.create("dev", repo.CreateOptions{})
				e.commit("dev", map[string]string{"a.txt": "a"})
				e.commit("dev", map[string]string{"b.txt": "b"})
				v := e.resolve("dev@1")
				id := v.Tree
				if strings.HasSuffix(what, "version") {
					id = v.ID
				}
				if strings.HasPrefix(what, "cached") {
					// As in serve: the object was read and kept in memory
					// before the stored bytes went bad; fsck still sees it.
					e.s.Objects().CacheObjects(1 << 20)
					_, err := e.s.Objects().GetObject(e.ctx, id)
					require.NoError(t, err)
				}
				tc.damage(e, e.storedFile("objects", id))

				res, err := e.s.Fsck(e.ctx)
				require.ErrorIs(t, err, repo.ErrCorrupt)
				require.NotEmpty(t, res.Problems)
				found := false
				for _, p := range res.Problems {
					if strings.Contains(p, id.String()) && strings.Contains(p, strings.TrimPrefix(what, "cached ")) {
						found = true
					}
				}
				require.True(t, found, "no problem names %s %s: %q", what, id, res.Problems)
			})
		}
	}
}

func TestGCStopsOnMissingObject(t *testing.T) {
	e := newFSEnv(t)
	e.create("dev", repo.CreateOptions{})
	e.commit("dev", map[string]string{"a.txt": "a"})
	e.commit("dev", map[string]string{"b.txt": "b"})
	orphan := e.putBlob("orphan")
	tree := e.resolve("dev@1").Tree
	require.NoError(t, os.Remove(e.storedFile("objects", tree)))

	_, err := e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
	require.Error(t, err)
	require.Contains(t, err.Error(), "nothing was deleted")
	require.True(t, e.hasBlob(orphan.ID), "gc must not sweep after a failed mark")
}
