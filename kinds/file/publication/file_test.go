package publication_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	metamem "github.com/pkgvc/pkgvc/meta/mem"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/checkout"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/kinds/file/publication"
	"github.com/pkgvc/pkgvc/objects"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	"github.com/pkgvc/pkgvc/publish"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

func newStore(t *testing.T) (context.Context, *repo.Store) {
	t.Helper()
	ctx := context.Background()
	st := repo.New(objects.New(objectsmem.New()), refsmem.New(), all.Kinds(), repo.WithMeta(metamem.New()))
	_, err := st.CreateRepo(ctx, "r", repo.CreateOptions{Kind: "file"})
	require.NoError(t, err)
	return ctx, st
}

// commit adds path→content files to r.
func commit(t *testing.T, ctx context.Context, st *repo.Store, files map[string]string) error {
	t.Helper()
	dir := t.TempDir()
	var adds []repo.Add
	for p, c := range files {
		f := filepath.Join(dir, fmt.Sprintf("%x", sha256.Sum256([]byte(p))))
		require.NoError(t, os.WriteFile(f, []byte(c), 0o644))
		adds = append(adds, repo.Add{Path: p, File: f})
	}
	_, err := st.Commit(ctx, "r", repo.CommitRequest{Adds: adds})
	return err
}

func line(path, content string) string {
	return fmt.Sprintf("%s,%x,%d\n", path, sha256.Sum256([]byte(content)), len(content))
}

func TestPublishManifest(t *testing.T) {
	ctx, st := newStore(t)
	files := map[string]string{
		"b.txt":             "bee",
		"a/z.bin":           "zed",
		"a/b/c.iso":         "deep",
		"with,comma.txt":    "comma",
		"empty":             "",
		"sub/PULP_MANIFEST": "a nested manifest is just a file",
	}
	require.NoError(t, commit(t, ctx, st, files))
	v, err := st.Resolve(ctx, "r")
	require.NoError(t, err)

	out, err := publication.Publisher{}.Publish(ctx, st, v)
	require.NoError(t, err)
	require.Len(t, out, 1)
	require.Equal(t, "PULP_MANIFEST", out[0].Path)
	want := line("a/b/c.iso", "deep") + line("a/z.bin", "zed") + line("b.txt", "bee") + line("empty", "") +
		line("sub/PULP_MANIFEST", "a nested manifest is just a file") + line(`"with,comma.txt"`, "comma")
	require.Equal(t, want, string(out[0].Content))

	p, ok := all.Publishers().Lookup("file")
	require.True(t, ok)
	require.Equal(t, "file", p.Kind())

	// Publications caches it by version.
	pubs := publish.NewPublications(st, all.Publishers(), 4)
	pub, err := pubs.For(ctx, "file", v)
	require.NoError(t, err)
	data, ok, err := pub.ReadFile(ctx, "PULP_MANIFEST")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, want, string(data))

	// The next version's is updated from the last one's and the change;
	// a manifest with a quoted line is built whole instead.
	var incremental []bool
	pubs.Built = func(_ string, _ objects.ID, inc bool, _ int) { incremental = append(incremental, inc) }
	for _, c := range []repo.CommitRequest{
		{Adds: []repo.Add{{Path: "a/n.txt"}}, Removes: []string{"b.txt", "with,comma.txt"}},
		{Adds: []repo.Add{{Path: "c.txt"}}, Removes: []string{"a/z.bin"}},
	} {
		f := filepath.Join(t.TempDir(), "n")
		require.NoError(t, os.WriteFile(f, []byte(c.Adds[0].Path), 0o644))
		c.Adds[0].File = f
		_, err = st.Commit(ctx, "r", c)
		require.NoError(t, err)
		v, err := st.Resolve(ctx, "r")
		require.NoError(t, err)
		pub, err := pubs.For(ctx, "file", v)
		require.NoError(t, err)
		data, _, err := pub.ReadFile(ctx, "PULP_MANIFEST")
		require.NoError(t, err)
		whole, err := publication.Publisher{}.Publish(ctx, st, v)
		require.NoError(t, err)
		require.Equal(t, string(whole[0].Content), string(data))
		require.Contains(t, string(data), c.Adds[0].Path+",")
	}
	require.Equal(t, []bool{false, true}, incremental)
}

func TestPublishEmptyVersion(t *testing.T) {
	ctx, st := newStore(t)
	_, err := st.Commit(ctx, "r", repo.CommitRequest{AllowEmpty: true})
	require.NoError(t, err)
	v, err := st.Resolve(ctx, "r")
	require.NoError(t, err)
	out, err := publication.Publisher{}.Publish(ctx, st, v)
	require.NoError(t, err)
	require.Empty(t, out[0].Content)
}

// TestManifestPathRefused: a package can't sit where the publication
// writes PULP_MANIFEST.
func TestManifestPathRefused(t *testing.T) {
	ctx, st := newStore(t)
	for _, p := range []string{"PULP_MANIFEST", "PULP_MANIFEST/x"} {
		err := commit(t, ctx, st, map[string]string{p: "mine"})
		require.ErrorIs(t, err, repo.ErrReservedPath, p)
		require.ErrorIs(t, err, repo.ErrInvalid, p)
	}
	require.NoError(t, commit(t, ctx, st, map[string]string{"pulp_manifest": "other case", "x/PULP_MANIFEST": "nested"}))
}

// TestUpdateMatchesPublish: the manifest derived from an earlier one and
// the diff equals the one generated from scratch.
func TestUpdateMatchesPublish(t *testing.T) {
	ctx, st := newStore(t)
	rnd := rand.New(rand.NewPCG(1, 2))
	files := map[string]string{}
	pub := publication.Publisher{}
	var prev *repo.Version
	for round := range 40 {
		add := map[string]string{}
		for range 1 + rnd.IntN(30) {
			p := fmt.Sprintf("d%d/f%d.txt", rnd.IntN(4), rnd.IntN(60))
			if rnd.IntN(5) == 0 {
				p = fmt.Sprintf("top-%d", rnd.IntN(10))
			}
			add[p] = fmt.Sprint("content ", round, " ", rnd.IntN(3))
		}
		var removes []string
		for p := range files {
			if _, re := add[p]; !re && rnd.IntN(4) == 0 {
				removes = append(removes, p)
			}
		}
		dir := t.TempDir()
		var adds []repo.Add
		for p, c := range add {
			f := filepath.Join(dir, fmt.Sprintf("%x", sha256.Sum256([]byte(p))))
			require.NoError(t, os.WriteFile(f, []byte(c), 0o644))
			adds = append(adds, repo.Add{Path: p, File: f})
			files[p] = c
		}
		for _, p := range removes {
			delete(files, p)
		}
		_, err := st.Commit(ctx, "r", repo.CommitRequest{Adds: adds, Removes: removes, AllowEmpty: true})
		require.NoError(t, err)
		v, err := st.Resolve(ctx, "r")
		require.NoError(t, err)
		want, err := pub.Publish(ctx, st, v)
		require.NoError(t, err)
		if prev != nil {
			old, err := pub.Publish(ctx, st, prev)
			require.NoError(t, err)
			var changes []checkout.Change
			require.NoError(t, tree.Diff(ctx, st.Objects(), prev.Tree, v.Tree, func(o, n *tree.Entry) error {
				changes = append(changes, checkout.Change{Old: o, New: n})
				return nil
			}))
			got, err := pub.Update(ctx, old, changes)
			require.NoError(t, err)
			require.Equal(t, string(want[0].Content), string(got[0].Content), "round %d", round)
		}
		prev = v
	}

	// A damaged earlier manifest, or a quoted path, is declined, so that
	// checkout publishes afresh.
	quoted := &repo.Record{Path: "a,b", Size: 1}
	_, err := pub.Update(ctx, []publish.File{{Path: "PULP_MANIFEST", Content: []byte("x,y,1\n")}}, []checkout.Change{{New: quoted}})
	require.Error(t, err)
	probe := []checkout.Change{{New: &repo.Record{Path: "m", Size: 1}}}
	for _, bad := range []string{"no commas\n", "a,x,1", "\"a,b\",x,1\n"} {
		_, err := pub.Update(ctx, []publish.File{{Path: "PULP_MANIFEST", Content: []byte(bad)}}, probe)
		require.Error(t, err, bad)
	}
	_, err = pub.Update(ctx, nil, nil)
	require.Error(t, err)
}
