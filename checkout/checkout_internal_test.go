package checkout

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/file"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
)

func TestUnder(t *testing.T) {
	for _, tc := range []struct {
		rel string
		ok  bool
	}{
		{"a", true},
		{"a/b/c.txt", true},
		{"..", false},
		{"../x", false},
		{"a/../../x", false},
		{"/etc/passwd", false},
		{"a//b", false},
		{"", false},
		{"a\\..\\b", false},
	} {
		p, err := under("/srv/root", tc.rel)
		if tc.ok {
			require.NoError(t, err, tc.rel)
			require.Equal(t, filepath.Join("/srv/root", tc.rel), p)
		} else {
			require.ErrorIs(t, err, repo.ErrInvalid, tc.rel)
		}
	}
}

// namedPublisher publishes one file at a fixed path.
type namedPublisher struct{ path string }

func (namedPublisher) Kind() string { return "file" }

func (p namedPublisher) Publish(context.Context, *repo.Store, *repo.Version) ([]publish.File, error) {
	return []publish.File{{Path: p.path, Content: []byte("generated")}}, nil
}

func TestCheckoutLayoutConflicts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := fsstore.OpenDir(ctx, filepath.Join(dir, "store"), repo.NewKinds(file.Kind{}))
	require.NoError(t, err)
	_, err = st.CreateRepo(ctx, "r", repo.CreateOptions{})
	require.NoError(t, err)
	src := filepath.Join(dir, "x.txt")
	require.NoError(t, os.WriteFile(src, bytes.Repeat([]byte("text "), 1000), 0o644))
	_, err = st.Commit(ctx, "r", repo.CommitRequest{Adds: []repo.Add{{Path: "x", File: src}, {Path: "dir/y", File: src}}})
	require.NoError(t, err)
	v, err := st.Resolve(ctx, "r")
	require.NoError(t, err)

	// A publication file where a package is.
	_, err = checkout(ctx, st, "file", v, filepath.Join(dir, "clash"), Options{Publishers: publish.NewRegistry(namedPublisher{"x"})})
	require.ErrorIs(t, err, repo.ErrInvalid)
	require.ErrorContains(t, err, "holds a package at x")
	// ... or under one.
	_, err = checkout(ctx, st, "file", v, filepath.Join(dir, "under"), Options{Publishers: publish.NewRegistry(namedPublisher{"x/gen"})})
	require.ErrorIs(t, err, repo.ErrInvalid)
	require.ErrorContains(t, err, "laid out")

	// A record whose parent is a file, or which is a directory, in a tree
	// (versions made before commit refused such layouts).
	c := &checkouter{st: st, o: Options{Workers: 1}, chmod: true}
	c.tmp = t.TempDir()
	c.bufs.New = func() any { b := make([]byte, 4096); return &b }
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "file"), nil, 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "dir", "sub"), 0o755))
	rec, err := st.Stat(ctx, "r", "x")
	require.NoError(t, err)
	for _, p := range []string{"file/y", "file/y/z", "dir"} {
		e := rec
		e.Path = p
		err := c.materialize(ctx, root, &e, "")
		require.ErrorIs(t, err, repo.ErrInvalid, p)
		require.ErrorContains(t, err, "can't be laid out as a file", p)
	}
}
