package dist_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/dist"
	remoteall "github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// TestDistRemotes: a distribution names only a remote that exists; a remote
// distributions pull through is deleted only with force, which detaches
// them in the same change.
func TestDistRemotes(t *testing.T) {
	ctx, st, _ := memDists(t)
	rm := remote.New(st, remoteall.Syncers())
	ds := dist.NewDists(st, dist.WithRemotes(rm))
	_, err := rm.Create(ctx, remote.Remote{Name: "up", Kind: "file", URL: "http://127.0.0.1:1/PULP_MANIFEST"})
	require.NoError(t, err)

	_, err = ds.Create(ctx, "d0", dist.DistSpec{BasePath: "d0", Repo: "r", Remote: "nosuch"})
	require.ErrorIs(t, err, remote.ErrRemoteNotFound)
	_, err = ds.Get(ctx, "d0")
	require.ErrorIs(t, err, dist.ErrDistNotFound, "refused: no distribution made")
	_, err = ds.Create(ctx, "d1", dist.DistSpec{BasePath: "d1", Repo: "r", Remote: "up"})
	require.NoError(t, err)
	_, err = ds.Create(ctx, "d2", dist.DistSpec{BasePath: "d2", Repo: "r"})
	require.NoError(t, err)
	_, err = ds.Update(ctx, "d2", dist.DistSpec{Remote: "nosuch"})
	require.ErrorIs(t, err, remote.ErrRemoteNotFound)
	_, err = ds.Update(ctx, "d2", dist.DistSpec{Remote: "up"})
	require.NoError(t, err)
	_, err = ds.Create(ctx, "d3", dist.DistSpec{BasePath: "d3", Repo: "r"})
	require.NoError(t, err)

	_, err = ds.DeleteRemote(ctx, "up", false)
	require.ErrorIs(t, err, dist.ErrInUse)
	require.ErrorContains(t, err, "d1, d2")
	require.ErrorContains(t, err, "--force")
	_, err = rm.Show(ctx, "up")
	require.NoError(t, err, "refused: the remote is still there")

	detached, err := ds.DeleteRemote(ctx, "up", true)
	require.NoError(t, err)
	require.Equal(t, []string{"d1", "d2"}, detached)
	_, err = rm.Show(ctx, "up")
	require.ErrorIs(t, err, remote.ErrRemoteNotFound)
	for _, n := range []string{"d1", "d2", "d3"} {
		d, err := ds.Get(ctx, n)
		require.NoError(t, err)
		require.Empty(t, d.Remote, n)
		require.Equal(t, "r", d.Repo, "%s keeps serving its repository", n)
	}
	_, err = ds.DeleteRemote(ctx, "up", true)
	require.ErrorIs(t, err, remote.ErrRemoteNotFound)

	// Unused, it goes without force.
	_, err = rm.Create(ctx, remote.Remote{Name: "free", Kind: "file", URL: "http://127.0.0.1:1/PULP_MANIFEST"})
	require.NoError(t, err)
	detached, err = ds.DeleteRemote(ctx, "free", false)
	require.NoError(t, err)
	require.Empty(t, detached)
}

// TestDeleteRemoteRacesDistCreate: of a dist create naming a remote and
// the remote's delete, run at once by two processes, exactly one lands.
func TestDeleteRemoteRacesDistCreate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	open := func() (*repo.Store, *remote.Manager, *dist.Dists) {
		st, err := fsstore.OpenDir(ctx, dir, remoteall.Kinds())
		require.NoError(t, err)
		rm := remote.New(st, remoteall.Syncers())
		return st, rm, dist.NewDists(st, dist.WithRemotes(rm))
	}
	st, rm, _ := open()
	_, err := st.CreateRepo(ctx, "r", repo.CreateOptions{})
	require.NoError(t, err)
	for round := range 20 {
		name := fmt.Sprintf("up%d", round)
		_, err := rm.Create(ctx, remote.Remote{Name: name, Kind: "file", URL: "http://127.0.0.1:1/PULP_MANIFEST"})
		require.NoError(t, err)
		_, _, a := open()
		_, _, b := open()
		var wg sync.WaitGroup
		var createErr, deleteErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, createErr = a.Create(ctx, "d"+name, dist.DistSpec{BasePath: "d" + name, Repo: "r", Remote: name})
		}()
		go func() {
			defer wg.Done()
			_, deleteErr = b.DeleteRemote(ctx, name, false)
		}()
		wg.Wait()
		require.True(t, (createErr == nil) != (deleteErr == nil), "round %d: create %v, delete %v", round, createErr, deleteErr)
		if createErr == nil {
			require.ErrorIs(t, deleteErr, dist.ErrInUse)
			_, err := rm.Show(ctx, name)
			require.NoError(t, err, "the remote in use stays")
		} else {
			require.ErrorIs(t, createErr, remote.ErrRemoteNotFound)
		}
	}
}
