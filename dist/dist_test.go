package dist_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"

	metamem "github.com/pkgvc/pkgvc/meta/mem"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/dist"
	kinds "github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/objects"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
)

func TestValidateBasePath(t *testing.T) {
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"d", true},
		{"test/img", true},
		{"a/b/c-1.2_x", true},
		{"v1.0/x..y", true},
		{"", false},
		{"/abs", false},
		{"trailing/", false},
		{"a//b", false},
		{"..", false},
		{"a/../b", false},
		{"a/./b", false},
		{"...", false},
		{"Upper", false},
		{"sp ace", false},
		{"a\\b", false},
		{"-dash", false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			err := dist.ValidateBasePath(tc.path)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, dist.ErrBasePath)
			require.ErrorIs(t, err, repo.ErrInvalid)
		})
	}
}

// memDists is a store over the in-memory backends with one repository.
func memDists(t *testing.T) (context.Context, *repo.Store, *dist.Dists) {
	t.Helper()
	ctx := context.Background()
	st := repo.New(objects.New(objectsmem.New()), refsmem.New(), kinds.Kinds(), repo.WithWho("tester@example"), repo.WithMeta(metamem.New()))
	_, err := st.CreateRepo(ctx, "r", repo.CreateOptions{})
	require.NoError(t, err)
	return ctx, st, dist.NewDists(st)
}

func TestBasePathClash(t *testing.T) {
	ctx, _, ds := memDists(t)
	create := func(name, bp string) error {
		_, err := ds.Create(ctx, name, dist.DistSpec{BasePath: bp, Repo: "r"})
		return err
	}
	require.NoError(t, create("img", "test/img"))
	require.NoError(t, create("img2", "test/img2"), "a shared prefix that is not a whole segment is fine")
	require.NoError(t, create("a", "a"))
	for _, tc := range []struct{ name, bp string }{
		{"same", "test/img"},
		{"parent", "test"},
		{"child", "test/img/sub"},
		{"ab", "a/b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := create(tc.name, tc.bp)
			require.ErrorIs(t, err, dist.ErrBasePath)
			_, gerr := ds.Get(ctx, tc.name)
			require.ErrorIs(t, gerr, dist.ErrDistNotFound, "a refused distribution is not created")
		})
	}
	require.ErrorIs(t, create("bad", "a/../b"), dist.ErrBasePath)
	require.ErrorIs(t, create("img", "other"), repo.ErrExists)
	require.ErrorIs(t, create("Bad Name", "x"), repo.ErrInvalid)
	_, err := ds.Create(ctx, "nope", dist.DistSpec{BasePath: "nope", Repo: "missing"})
	require.ErrorIs(t, err, repo.ErrRepoNotFound)
	_, err = ds.Create(ctx, "none", dist.DistSpec{BasePath: "none"})
	require.ErrorIs(t, err, repo.ErrInvalid)
	_, err = ds.Create(ctx, "both", dist.DistSpec{BasePath: "both", Repo: "r", Version: "r@1"})
	require.ErrorIs(t, err, repo.ErrInvalid)

	// Moving a distribution is checked the same way, but not against itself.
	_, err = ds.Update(ctx, "img", dist.DistSpec{BasePath: "a/b"})
	require.ErrorIs(t, err, dist.ErrBasePath)
	_, err = ds.Update(ctx, "img", dist.DistSpec{BasePath: "test/img"})
	require.NoError(t, err)
	_, err = ds.Update(ctx, "a", dist.DistSpec{BasePath: "a/b"})
	require.NoError(t, err, "a may move under its own old base path")

	list, err := ds.List(ctx)
	require.NoError(t, err)
	var names []string
	for _, d := range list {
		names = append(names, d.Name+"="+d.BasePath)
	}
	require.Equal(t, []string{"a=a/b", "img=test/img", "img2=test/img2"}, names)
}

// commitText commits path=content to repository name and returns the head.
func commitText(t *testing.T, ctx context.Context, st *repo.Store, name string, files map[string]string, removes ...string) *repo.Version {
	t.Helper()
	dir := t.TempDir()
	var adds []repo.Add
	for p, c := range files {
		f := dir + "/" + objects.Sum([]byte(p)).String()
		require.NoError(t, os.WriteFile(f, []byte(c), 0o644))
		adds = append(adds, repo.Add{Path: p, File: f})
	}
	_, err := st.Commit(ctx, name, repo.CommitRequest{Adds: adds, Removes: removes})
	require.NoError(t, err)
	v, err := st.Resolve(ctx, name)
	require.NoError(t, err)
	return v
}

func TestFollowAndPin(t *testing.T) {
	ctx, st, ds := memDists(t)
	follow, err := ds.Create(ctx, "follow", dist.DistSpec{BasePath: "follow", Repo: "r"})
	require.NoError(t, err)
	require.Equal(t, "file", follow.Kind)
	v, err := ds.Resolve(ctx, follow)
	require.NoError(t, err)
	require.Nil(t, v, "an empty repository serves nothing yet")

	v1 := commitText(t, ctx, st, "r", map[string]string{"a.txt": "one"})
	pin, err := ds.Create(ctx, "pin", dist.DistSpec{BasePath: "pin", Version: "r@1"})
	require.NoError(t, err)
	require.Equal(t, v1.ID, pin.Version)
	require.Empty(t, pin.Repo)
	require.Equal(t, []objects.ID{v1.ID}, pinned(t, st, "pin"), "a pinned distribution has a pin, so gc keeps its version")

	v2 := commitText(t, ctx, st, "r", map[string]string{"a.txt": "two"})
	got, err := ds.Resolve(ctx, follow)
	require.NoError(t, err)
	require.Equal(t, v2.ID, got.ID, "a follower sees a new commit at once")
	require.Equal(t, "r", got.Repo)
	got, err = ds.Resolve(ctx, pin)
	require.NoError(t, err)
	require.Equal(t, v1.ID, got.ID, "a pin stays")

	// Update: pin the follower, then follow again; privacy and remote.
	yes := true
	upd, err := ds.Update(ctx, "follow", dist.DistSpec{Version: v2.ID.String(), Remote: "upstream", Private: &yes})
	require.NoError(t, err)
	require.Equal(t, v2.ID, upd.Version)
	require.Empty(t, upd.Repo)
	require.True(t, upd.Private)
	require.Equal(t, "upstream", upd.Remote)
	require.Equal(t, []objects.ID{v2.ID}, pinned(t, st, "follow"))
	commitText(t, ctx, st, "r", map[string]string{"a.txt": "three"})
	got, err = ds.Resolve(ctx, upd)
	require.NoError(t, err)
	require.Equal(t, v2.ID, got.ID)

	no := false
	upd, err = ds.Update(ctx, "follow", dist.DistSpec{Repo: "r", Private: &no})
	require.NoError(t, err)
	require.Equal(t, "r", upd.Repo)
	require.True(t, upd.Version.IsZero())
	require.False(t, upd.Private)
	require.Equal(t, "upstream", upd.Remote, "unset fields keep their value")
	require.Empty(t, pinned(t, st, "follow"), "following drops the pin")
	stored, err := ds.Get(ctx, "follow")
	require.NoError(t, err)
	require.Equal(t, *upd, *stored)

	_, err = ds.Update(ctx, "missing", dist.DistSpec{Repo: "r"})
	require.ErrorIs(t, err, dist.ErrDistNotFound)
	require.ErrorIs(t, err, repo.ErrNotFound)
	_, err = ds.Update(ctx, "pin", dist.DistSpec{Version: "r@99"})
	require.ErrorIs(t, err, repo.ErrVersionNotFound)
}

func TestDelete(t *testing.T) {
	ctx, st, ds := memDists(t)
	commitText(t, ctx, st, "r", map[string]string{"a.txt": "one"})
	_, err := ds.Create(ctx, "pin", dist.DistSpec{BasePath: "x", Version: "r"})
	require.NoError(t, err)
	require.NoError(t, ds.Delete(ctx, "pin"))
	_, err = ds.Get(ctx, "pin")
	require.ErrorIs(t, err, dist.ErrDistNotFound)
	require.Empty(t, pinned(t, st, "pin"))
	require.ErrorIs(t, ds.Delete(ctx, "pin"), dist.ErrDistNotFound)
	// The base path is free again.
	_, err = ds.Create(ctx, "again", dist.DistSpec{BasePath: "x", Repo: "r"})
	require.NoError(t, err)
}

func TestDeleteRepo(t *testing.T) {
	ctx, st, ds := memDists(t)
	commitText(t, ctx, st, "r", map[string]string{"a.txt": "one"})
	_, err := ds.Create(ctx, "f1", dist.DistSpec{BasePath: "f1", Repo: "r"})
	require.NoError(t, err)
	_, err = ds.Create(ctx, "f2", dist.DistSpec{BasePath: "f2", Repo: "r"})
	require.NoError(t, err)
	_, err = ds.Create(ctx, "pin", dist.DistSpec{BasePath: "pin", Version: "r"})
	require.NoError(t, err)

	err = ds.DeleteRepo(ctx, "r", false)
	require.ErrorIs(t, err, dist.ErrInUse)
	require.ErrorContains(t, err, "f1, f2")
	_, err = st.ShowRepo(ctx, "r")
	require.NoError(t, err, "refused: the repository is still there")

	require.NoError(t, ds.DeleteRepo(ctx, "r", true))
	_, err = st.ShowRepo(ctx, "r")
	require.ErrorIs(t, err, repo.ErrRepoNotFound)
	f1, err := ds.Get(ctx, "f1")
	require.NoError(t, err)
	_, err = ds.Resolve(ctx, f1)
	require.ErrorIs(t, err, repo.ErrRepoNotFound)
	pin, err := ds.Get(ctx, "pin")
	require.NoError(t, err)
	_, err = ds.Resolve(ctx, pin)
	require.NoError(t, err, "a pinned version outlives its repository")

	// A repository only pinned, never followed, can go without --force.
	_, err = st.CreateRepo(ctx, "p", repo.CreateOptions{})
	require.NoError(t, err)
	commitText(t, ctx, st, "p", map[string]string{"p.txt": "p"})
	_, err = ds.Create(ctx, "ponly", dist.DistSpec{BasePath: "ponly", Version: "p"})
	require.NoError(t, err)
	require.NoError(t, ds.DeleteRepo(ctx, "p", false))
	require.ErrorIs(t, ds.DeleteRepo(ctx, "p", false), repo.ErrRepoNotFound)
}

// TestGCKeepsPinned: gc keeps a pinned version whose repository moved on
// (and pruned it by retention) or was deleted, and fsck is clean.
func TestGCKeepsPinned(t *testing.T) {
	ctx, st, ds := memDists(t)
	_, err := st.CreateRepo(ctx, "ret", repo.CreateOptions{Retain: 2})
	require.NoError(t, err)
	v1 := commitText(t, ctx, st, "ret", map[string]string{"pinned.txt": "kept by the pin"})
	_, err = ds.Create(ctx, "pin", dist.DistSpec{BasePath: "pin", Version: "ret@1"})
	require.NoError(t, err)
	commitText(t, ctx, st, "ret", map[string]string{"unpinned.txt": "collectable"}, "pinned.txt")
	unpinned, err := st.Stat(ctx, "ret", "unpinned.txt")
	require.NoError(t, err)
	commitText(t, ctx, st, "ret", map[string]string{"head.txt": "head"}, "unpinned.txt")
	for i := range 3 { // retention prunes the versions above
		commitText(t, ctx, st, "ret", map[string]string{"head.txt": fmt.Sprint("head ", i)})
	}
	pinned, err := st.Stat(ctx, v1.ID.String(), "pinned.txt")
	require.NoError(t, err)

	res, err := st.GC(ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	require.Positive(t, res.DeletedBlobs)
	ok, err := st.Objects().HasBlob(ctx, unpinned.SHA256)
	require.NoError(t, err)
	require.False(t, ok, "an unpinned version beyond retention is collected")
	ok, err = st.Objects().HasBlob(ctx, pinned.SHA256)
	require.NoError(t, err)
	require.True(t, ok, "the pinned version's blob is kept")

	d, err := ds.Get(ctx, "pin")
	require.NoError(t, err)
	v, err := ds.Resolve(ctx, d)
	require.NoError(t, err)
	require.Equal(t, v1.ID, v.ID)
	rc, _, err := st.Cat(ctx, v.ID.String(), "pinned.txt")
	require.NoError(t, err)
	data, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	require.Equal(t, "kept by the pin", string(data))
	_, err = st.Fsck(ctx)
	require.NoError(t, err)

	// Delete the repository too: the pin still keeps its version.
	require.NoError(t, ds.DeleteRepo(ctx, "ret", false))
	_, err = st.GC(ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	ok, err = st.Objects().HasBlob(ctx, pinned.SHA256)
	require.NoError(t, err)
	require.True(t, ok)
	_, err = st.Fsck(ctx)
	require.NoError(t, err)

	// Deleting the distribution lets gc collect it.
	require.NoError(t, ds.Delete(ctx, "pin"))
	_, err = st.GC(ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	ok, err = st.Objects().HasBlob(ctx, pinned.SHA256)
	require.NoError(t, err)
	require.False(t, ok)
	_, err = st.Fsck(ctx)
	require.NoError(t, err)
}

func TestMatch(t *testing.T) {
	ds := []dist.Distribution{{Name: "img", BasePath: "test/img"}, {Name: "img2", BasePath: "test/img2"}, {Name: "a", BasePath: "a"}}
	for _, tc := range []struct {
		url, dist, rest string
	}{
		{"test/img/x/y.bin", "img", "x/y.bin"},
		{"test/img2/y.bin", "img2", "y.bin"},
		{"test/img", "img", ""},
		{"a/b", "a", "b"},
		{"test/im", "", ""},
		{"ab", "", ""},
	} {
		d, rest, ok := dist.Match(ds, tc.url)
		if tc.dist == "" {
			require.False(t, ok, tc.url)
			continue
		}
		require.True(t, ok, tc.url)
		require.Equal(t, tc.dist, d.Name)
		require.Equal(t, tc.rest, rest)
	}
}

// TestConcurrentClashingCreates: distributions created at once, by
// several openers of one store (as several processes would), with base
// paths that all clash: exactly one lands.
func TestConcurrentClashingCreates(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, err := fsstore.OpenDir(ctx, dir, kinds.Kinds())
	require.NoError(t, err)
	_, err = first.CreateRepo(ctx, "r", repo.CreateOptions{})
	require.NoError(t, err)
	for round := range 5 {
		const n = 6
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			st, err := fsstore.OpenDir(ctx, dir, kinds.Kinds())
			require.NoError(t, err)
			ds := dist.NewDists(st)
			wg.Add(1)
			go func() {
				defer wg.Done()
				// r0, r0/d1, r0/d1/d2... all contain each other.
				bp := fmt.Sprintf("r%d", round)
				for j := 1; j <= i; j++ {
					bp += fmt.Sprintf("/d%d", j)
				}
				_, errs[i] = ds.Create(ctx, fmt.Sprintf("d%d-%d", round, i), dist.DistSpec{BasePath: bp, Repo: "r"})
			}()
		}
		wg.Wait()
		landed := 0
		for _, err := range errs {
			if err == nil {
				landed++
			} else {
				require.ErrorIs(t, err, dist.ErrBasePath)
			}
		}
		require.Equal(t, 1, landed, "round %d: %v", round, errs)
	}
	all, err := dist.NewDists(first).List(ctx)
	require.NoError(t, err)
	require.Len(t, all, 5)
}

// TestDeleteRepoRacesDistCreate: a repository deleted while a distribution
// is created to follow it, by two openers of one store: never both.
func TestDeleteRepoRacesDistCreate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	open := func() (*repo.Store, *dist.Dists) {
		st, err := fsstore.OpenDir(ctx, dir, kinds.Kinds())
		require.NoError(t, err)
		return st, dist.NewDists(st)
	}
	st, _ := open()
	for round := range 20 {
		name := fmt.Sprintf("r%d", round)
		_, err := st.CreateRepo(ctx, name, repo.CreateOptions{})
		require.NoError(t, err)
		_, a := open()
		_, b := open()
		var wg sync.WaitGroup
		var createErr, deleteErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, createErr = a.Create(ctx, "d"+name, dist.DistSpec{BasePath: "d" + name, Repo: name})
		}()
		go func() {
			defer wg.Done()
			deleteErr = b.DeleteRepo(ctx, name, false)
		}()
		wg.Wait()
		require.True(t, (createErr == nil) != (deleteErr == nil), "round %d: create %v, delete %v", round, createErr, deleteErr)
		if createErr == nil {
			require.ErrorIs(t, deleteErr, dist.ErrInUse)
			_, err := st.ShowRepo(ctx, name)
			require.NoError(t, err, "the followed repository stays")
		} else {
			require.ErrorIs(t, createErr, repo.ErrNotFound)
		}
	}
}

// pinned returns the versions distribution name's pin keeps.
func pinned(t *testing.T, st *repo.Store, name string) []objects.ID {
	t.Helper()
	var p repo.Pin
	_, err := meta.GetJSON(t.Context(), st.Meta(), repo.PinPrefix+"dists/"+name, &p)
	if errors.Is(err, meta.ErrNotFound) {
		return nil
	}
	require.NoError(t, err)
	return p.Versions
}

// gc keeps the version a distribution is pinned to, also once its
// repository is gone, and lets it go with the distribution.
func TestPinnedVersionSurvivesGC(t *testing.T) {
	ctx, st, ds := memDists(t)
	v1 := commitText(t, ctx, st, "r", map[string]string{"a.txt": "one"})
	_, err := ds.Create(ctx, "pin", dist.DistSpec{BasePath: "pin", Version: v1.ID.String()})
	require.NoError(t, err)
	require.NoError(t, ds.DeleteRepo(ctx, "r", false))
	_, err = st.GC(ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	pin, err := ds.Get(ctx, "pin")
	require.NoError(t, err)
	got, err := ds.Resolve(ctx, pin)
	require.NoError(t, err)
	require.Equal(t, v1.ID, got.ID)
	res, err := st.Fsck(ctx)
	require.NoError(t, err)
	require.Empty(t, res.Problems)

	require.NoError(t, ds.Delete(ctx, "pin"))
	_, err = st.GC(ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	_, err = st.Version(ctx, v1.ID)
	require.ErrorIs(t, err, objects.ErrNotFound)
}
