package repo_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/repo"
)

func TestOpenDir(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, dir string) // dir does not exist yet
		wantErr error
		wantMsg string
		bug     string // skip with this message if the library gets it wrong
	}{
		{name: "missing directory", setup: func(*testing.T, string) {}},
		{name: "empty directory", setup: func(t *testing.T, dir string) { require.NoError(t, os.Mkdir(dir, 0o755)) }},
		{name: "nested missing directory", setup: func(t *testing.T, dir string) {}},
		{name: "leftover marker temp file", setup: func(t *testing.T, dir string) {
			require.NoError(t, os.Mkdir(dir, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, ".format-123"), nil, 0o644))
		}},
		{name: "existing store", setup: func(t *testing.T, dir string) {
			_, err := fsstore.OpenDir(ctx, dir, all.Kinds())
			require.NoError(t, err)
		}},
		{name: "non-empty directory", wantErr: repo.ErrNotStore, wantMsg: "not empty", setup: func(t *testing.T, dir string) {
			require.NoError(t, os.Mkdir(dir, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644))
		}},
		{name: "non-empty directory with subdirectory", wantErr: repo.ErrNotStore, setup: func(t *testing.T, dir string) {
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "data"), 0o755))
		}},
		{name: "file instead of directory", wantErr: repo.ErrNotStore, bug: "BUG: OpenDir(ctx, FILE) returns a plain " +
			"\"open store FILE: open FILE/pkgvc-store.json: not a directory\" error that does not wrap ErrNotStore: " +
			"prepareDir (repo/store.go) only treats os.ErrNotExist from reading the marker as \"no marker\", so ENOTDIR " +
			"returns early and its own \"%w: %s is a file\" branch is unreachable", setup: func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(dir, []byte("x"), 0o644))
		}},
		{name: "newer format", wantErr: repo.ErrFormat, wantMsg: "upgrade", setup: func(t *testing.T, dir string) {
			require.NoError(t, os.Mkdir(dir, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "pkgvc-store.json"), []byte(`{"format":99}`), 0o644))
		}},
		{name: "older format", wantErr: repo.ErrUpgrade, wantMsg: "store format 1: run pkgvc upgrade", setup: func(t *testing.T, dir string) {
			require.NoError(t, os.Mkdir(dir, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "pkgvc-store.json"), []byte(`{"format":1}`), 0o644))
		}},
		{name: "unreadable marker", wantErr: repo.ErrNotStore, setup: func(t *testing.T, dir string) {
			require.NoError(t, os.Mkdir(dir, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "pkgvc-store.json"), []byte(`garbage`), 0o644))
		}},
		{name: "format zero", wantErr: repo.ErrNotStore, setup: func(t *testing.T, dir string) {
			require.NoError(t, os.Mkdir(dir, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "pkgvc-store.json"), []byte(`{"format":0}`), 0o644))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			if tc.name == "nested missing directory" {
				dir = filepath.Join(dir, "a", "b")
			}
			tc.setup(t, dir)
			s, err := fsstore.OpenDir(ctx, dir, all.Kinds())
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.Nil(t, s)
				if tc.wantMsg != "" {
					require.Contains(t, err.Error(), tc.wantMsg)
				}
				_, statErr := os.Stat(filepath.Join(dir, "data"))
				if tc.name != "non-empty directory with subdirectory" {
					require.Error(t, statErr, "a refused directory must not be written to")
				}
				return
			}
			require.NoError(t, err)
			data, err := os.ReadFile(filepath.Join(dir, "pkgvc-store.json"))
			require.NoError(t, err)
			require.JSONEq(t, `{"format":2}`, string(data))
			_, err = s.CreateRepo(ctx, "dev", repo.CreateOptions{})
			require.NoError(t, err)
		})
	}
}

func TestOpenDirReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := &rtClock{}
	s, err := fsstore.OpenDir(ctx, dir, all.Kinds(), repo.WithClock(c.Now), repo.WithWho("first"))
	require.NoError(t, err)
	require.Equal(t, "first", s.Who())
	require.NotNil(t, s.Objects())
	require.NotNil(t, s.Refs())
	require.Equal(t, all.Kinds().Names(), s.Kinds().Names(), "the store knows every kind")
	e := &rtEnv{t: t, ctx: ctx, s: s, dir: dir, src: t.TempDir(), clock: c}
	e.create("dev", repo.CreateOptions{Retain: 4})
	e.commit("dev", map[string]string{"a.txt": "persisted"})

	s2, err := fsstore.OpenDir(ctx, dir, all.Kinds(), repo.WithWho("second"))
	require.NoError(t, err)
	e2 := &rtEnv{t: t, ctx: ctx, s: s2, dir: dir, src: t.TempDir(), clock: c}
	info, err := s2.ShowRepo(ctx, "dev")
	require.NoError(t, err)
	require.Equal(t, 4, info.Retain)
	require.Equal(t, "persisted", e2.cat("dev", "a.txt"))
	e2.commit("dev", map[string]string{"b.txt": "b"})
	require.Equal(t, "second", e2.resolve("dev").Author)
	require.Equal(t, "first", e2.resolve("dev@1").Author)
	e2.fsckClean()
}

func TestWithClock(t *testing.T) {
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	e := newMemEnv(t, repo.WithClock(func() time.Time { return fixed }), repo.WithWho("clocked"))
	cfg, err := e.s.CreateRepo(e.ctx, "dev", repo.CreateOptions{})
	require.NoError(t, err)
	require.True(t, fixed.Equal(cfg.Created))
	e.commit("dev", map[string]string{"a": "a"})
	v := e.resolve("dev")
	require.True(t, fixed.Equal(v.Time), "version time %v", v.Time)
	require.Equal(t, "clocked", v.Author)

	// Identical requests at the same time by the same author in two stores
	// make identical versions: ids are content addresses.
	e2 := newMemEnv(t, repo.WithClock(func() time.Time { return fixed }), repo.WithWho("clocked"))
	e2.create("dev", repo.CreateOptions{})
	e2.commit("dev", map[string]string{"a": "a"})
	require.Equal(t, v.ID, e2.resolve("dev").ID)
}

func TestKinds(t *testing.T) {
	k := all.Kinds()
	kind, err := k.Lookup("file")
	require.NoError(t, err)
	require.Equal(t, "file", kind.Name())
	_, err = k.Lookup("deb-nope")
	require.ErrorIs(t, err, repo.ErrInvalid)
	require.Panics(t, func() { repo.NewKinds(kind, kind) })
}

func TestOpenExistingDir(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	for _, dir := range []string{filepath.Join(base, "missing"), filepath.Join(base, "a", "b")} {
		_, err := fsstore.OpenExistingDir(ctx, dir, all.Kinds())
		require.ErrorIs(t, err, repo.ErrNoStore)
		require.ErrorIs(t, err, repo.ErrNotFound)
		require.ErrorContains(t, err, "no store at "+dir)
		_, statErr := os.Stat(dir)
		require.ErrorIs(t, statErr, os.ErrNotExist, "nothing is created")
	}
	empty := filepath.Join(base, "empty")
	require.NoError(t, os.Mkdir(empty, 0o755))
	_, err := fsstore.OpenExistingDir(ctx, empty, all.Kinds())
	require.ErrorIs(t, err, repo.ErrNoStore)
	ents, err := os.ReadDir(empty)
	require.NoError(t, err)
	require.Empty(t, ents)

	other := filepath.Join(base, "other")
	require.NoError(t, os.Mkdir(other, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(other, "notes.txt"), nil, 0o644))
	_, err = fsstore.OpenExistingDir(ctx, other, all.Kinds())
	require.ErrorIs(t, err, repo.ErrNotStore)

	made := filepath.Join(base, "made")
	_, err = fsstore.OpenDir(ctx, made, all.Kinds())
	require.NoError(t, err)
	s, err := fsstore.OpenExistingDir(ctx, made, all.Kinds())
	require.NoError(t, err)
	_, err = s.CreateRepo(ctx, "dev", repo.CreateOptions{})
	require.NoError(t, err)
}
