package repo_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/repo"
)

func TestGCGrace(t *testing.T) {
	for _, tc := range []struct {
		name        string
		advance     time.Duration
		grace       time.Duration
		wantDeleted bool
	}{
		{name: "default grace keeps young", grace: 0},
		{name: "long grace keeps young", grace: 24 * time.Hour},
		{name: "no grace deletes", grace: -1, wantDeleted: true},
		{name: "default grace after 2h deletes", advance: 2 * time.Hour, wantDeleted: true},
		{name: "explicit grace after 2h deletes", advance: 2 * time.Hour, grace: time.Hour, wantDeleted: true},
		{name: "3h grace after 2h keeps", advance: 2 * time.Hour, grace: 3 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, env := range []func(*testing.T, ...repo.Option) *rtEnv{newMemEnv, newFSEnv} {
				e := env(t)
				e.create("dev", repo.CreateOptions{})
				e.commit("dev", map[string]string{"kept.txt": "reachable"})
				kept := e.blob("dev", "kept.txt")
				orphan := e.putBlob("uploaded, never committed")
				e.clock.Advance(tc.advance)

				// A dry run reports without deleting.
				dry, err := e.s.GC(e.ctx, repo.GCOptions{Grace: tc.grace, DryRun: true})
				require.NoError(t, err)
				require.True(t, e.hasBlob(orphan.ID))

				res, err := e.s.GC(e.ctx, repo.GCOptions{Grace: tc.grace})
				require.NoError(t, err)
				require.Equal(t, dry.DeletedBlobs, res.DeletedBlobs)
				require.Equal(t, dry.DeletedObjects, res.DeletedObjects)
				require.Equal(t, dry.FreedBytes, res.FreedBytes)
				require.Equal(t, !tc.wantDeleted, e.hasBlob(orphan.ID))
				require.True(t, e.hasBlob(kept))
				require.Equal(t, 1, res.ReachableBlobs)
				if tc.wantDeleted {
					require.Equal(t, 1, res.DeletedBlobs)
					require.Positive(t, res.FreedBytes)
					require.Zero(t, res.KeptYoung)
				} else {
					require.Zero(t, res.DeletedBlobs)
					require.Positive(t, res.KeptYoung)
				}
				require.Equal(t, "reachable", e.cat("dev", "kept.txt"))
				e.fsckClean()
			}
		})
	}
}

func TestGCUnreachableVersions(t *testing.T) {
	e := newFSEnv(t)
	e.create("dev", repo.CreateOptions{})
	e.commit("dev", map[string]string{"a.txt": "a"})
	// A version made but never referenced (its ref move lost): simulate by
	// committing into a repository that is then deleted, after which only
	// unreachable objects remain; with the default grace they stay.
	e.create("tmp", repo.CreateOptions{})
	e.commit("tmp", map[string]string{"t.txt": "temporary"})
	tb := e.blob("tmp", "t.txt")
	tv := e.resolve("tmp")
	require.NoError(t, e.s.DeleteRepo(e.ctx, "tmp"))

	_, err := e.s.GC(e.ctx, repo.GCOptions{})
	require.NoError(t, err)
	require.True(t, e.hasBlob(tb), "young objects survive the default grace")
	ok, err := e.s.Objects().HasObject(e.ctx, tv.ID)
	require.NoError(t, err)
	require.True(t, ok)

	e.clock.Advance(2 * time.Hour)
	res, err := e.s.GC(e.ctx, repo.GCOptions{})
	require.NoError(t, err)
	require.False(t, e.hasBlob(tb))
	ok, err = e.s.Objects().HasObject(e.ctx, tv.ID)
	require.NoError(t, err)
	require.False(t, ok, "the unreachable version object is collected")
	require.GreaterOrEqual(t, res.DeletedObjects, 2) // tree, commit
	require.Equal(t, "a", e.cat("dev", "a.txt"))
	e.fsckClean()
}

func TestGCKeepsReflogOnlyVersions(t *testing.T) {
	e := newFSEnv(t)
	e.create("dev", repo.CreateOptions{})
	e.create("test", repo.CreateOptions{})
	e.commit("dev", map[string]string{"a.txt": "dev"})
	e.commit("test", map[string]string{"only-in-test.txt": "test's own"})
	e.commit("test", map[string]string{"second.txt": "test's second"})
	old := e.resolve("test")
	ownBlob := e.blob("test", "only-in-test.txt")
	secondBlob := e.blob("test", "second.txt")

	_, err := e.s.Promote(e.ctx, []repo.Pair{{Src: "dev", Dst: "test"}}, repo.PromoteOptions{Force: true})
	require.NoError(t, err)
	require.Equal(t, e.head("dev"), e.head("test"))

	_, err = e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	require.True(t, e.hasBlob(ownBlob), "a version the reflog still names was collected")
	require.True(t, e.hasBlob(secondBlob))
	require.Equal(t, old.ID, e.resolve("test@{1}").ID)
	require.Equal(t, "test's own", e.cat("test@{1}", "only-in-test.txt"))
	require.Equal(t, "test's own", e.cat("test@{2}", "only-in-test.txt"))
	e.fsckClean()

	// The reset can be undone from the reflog.
	_, err = e.s.Promote(e.ctx, []repo.Pair{{Src: "test@{1}", Dst: "test"}}, repo.PromoteOptions{Force: true})
	require.NoError(t, err)
	require.Equal(t, old.ID, e.head("test"))
}

func TestGCDeletedRepo(t *testing.T) {
	e := newFSEnv(t)
	e.create("gone", repo.CreateOptions{})
	e.create("kept", repo.CreateOptions{})
	e.commit("gone", map[string]string{"g1.txt": "gone 1"})
	e.commit("gone", map[string]string{"g2.txt": "gone 2", "shared.txt": "shared"})
	e.commit("kept", map[string]string{"k.txt": "kept", "shared.txt": "shared"})
	g1, g2, shared := e.blob("gone", "g1.txt"), e.blob("gone", "g2.txt"), e.blob("gone", "shared.txt")
	require.NoError(t, e.s.DeleteRepo(e.ctx, "gone"))

	res, err := e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	require.Equal(t, 2, res.DeletedBlobs)
	require.False(t, e.hasBlob(g1))
	require.False(t, e.hasBlob(g2))
	require.True(t, e.hasBlob(shared), "a blob another repository uses")
	require.Equal(t, "shared", e.cat("kept", "shared.txt"))

	log, err := e.s.Reflog(e.ctx, "gone")
	require.NoError(t, err)
	require.Len(t, log, 3, "the reflog outlives the repository")
	e.fsckClean()
}

// TestGCWhileCommitting runs gc in a loop with the default grace while
// another goroutine commits; every version must stay readable.
func TestGCWhileCommitting(t *testing.T) {
	e := newFSEnv(t)
	e.create("dev", repo.CreateOptions{Retain: 5})
	e.create("all", repo.CreateOptions{})
	e.commit("dev", map[string]string{"base.txt": "base"})

	ctx, cancel := context.WithTimeout(e.ctx, time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var commits int
	errc := make(chan error, 2)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			f := filepath.Join(e.src, fmt.Sprintf("f%d", i))
			if err := os.WriteFile(f, []byte(fmt.Sprintf("content %d", i)), 0o644); err != nil {
				errc <- err
				return
			}
			removes := []string{}
			if i > 0 {
				removes = append(removes, fmt.Sprintf("f%d.txt", i-1))
			}
			res, err := e.s.Commit(e.ctx, "dev", repo.CommitRequest{Adds: []repo.Add{{Path: fmt.Sprintf("f%d.txt", i), File: f}}, Removes: removes})
			if err != nil {
				errc <- err
				return
			}
			if _, err := e.s.Promote(e.ctx, []repo.Pair{{Src: "dev", Dst: "all"}}, repo.PromoteOptions{}); err != nil {
				errc <- fmt.Errorf("promote: %w", err)
				return
			}
			commits++
			// Every version of both repositories reads back intact.
			for _, name := range []string{"dev", "all"} {
				log, err := e.s.Log(e.ctx, name, 0)
				if err != nil {
					errc <- fmt.Errorf("log %s after commit %d: %w", name, res.Version, err)
					return
				}
				for _, l := range log {
					rev := fmt.Sprintf("%s@%d", name, l.Number)
					recs, err := e.s.List(e.ctx, rev)
					if err != nil {
						errc <- fmt.Errorf("list %s: %w", rev, err)
						return
					}
					for _, r := range recs {
						if err := e.s.Objects().VerifyBlob(e.ctx, r.SHA256); err != nil {
							errc <- fmt.Errorf("%s %s: %w", rev, r.Path, err)
							return
						}
					}
				}
			}
		}
	}()
	gcs := 0
	for ctx.Err() == nil {
		if _, err := e.s.GC(e.ctx, repo.GCOptions{}); err != nil {
			errc <- fmt.Errorf("gc: %w", err)
			break
		}
		gcs++
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		require.NoError(t, err)
	}
	require.Positive(t, commits)
	require.Positive(t, gcs)
	t.Logf("%d commits, %d collections", commits, gcs)
	e.fsckClean()
	require.Equal(t, commits+1, e.resolve("dev").Number)
	require.Equal(t, e.head("dev"), e.head("all"))
}

func TestGCAfterReflogExpire(t *testing.T) {
	for name, env := range map[string]func(*testing.T, ...repo.Option) *rtEnv{"mem": newMemEnv, "fs": newFSEnv} {
		t.Run(name, func(t *testing.T) {
			e := env(t)
			e.create("dev", repo.CreateOptions{})
			e.create("test", repo.CreateOptions{})
			e.commit("dev", map[string]string{"a.txt": "dev"})
			e.commit("test", map[string]string{"only-in-test.txt": "test's own"})
			e.commit("test", map[string]string{"second.txt": "test's second"})
			ownBlob, secondBlob := e.blob("test", "only-in-test.txt"), e.blob("test", "second.txt")
			_, err := e.s.Promote(e.ctx, []repo.Pair{{Src: "dev", Dst: "test"}}, repo.PromoteOptions{Force: true})
			require.NoError(t, err)
			require.Equal(t, 3, e.reflogLen("test"))

			// An expiry of entries older than any there are keeps them all.
			res, err := e.s.ExpireReflog(e.ctx, time.Now().Add(-time.Hour))
			require.NoError(t, err)
			require.Zero(t, res.Removed)
			_, err = e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
			require.NoError(t, err)
			require.True(t, e.hasBlob(ownBlob), "a version the reflog still names was collected")

			// Once the entries that named test's own versions are gone, gc
			// collects them; what the refs reach stays.
			time.Sleep(2 * time.Millisecond)
			res, err = e.s.ExpireReflog(e.ctx, time.Now())
			require.NoError(t, err)
			require.Equal(t, 3+1, res.Removed) // test's head moves and dev's commit
			require.Zero(t, e.reflogLen("test"))
			_, err = e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
			require.NoError(t, err)
			require.False(t, e.hasBlob(ownBlob), "a version only expired entries named was kept")
			require.False(t, e.hasBlob(secondBlob))
			require.Equal(t, "dev", e.cat("test", "a.txt"))
			_, err = e.s.Resolve(e.ctx, "test@{1}")
			require.ErrorIs(t, err, repo.ErrVersionNotFound)
			e.fsckClean()

			_, err = e.s.ExpireReflog(e.ctx, time.Time{})
			require.ErrorIs(t, err, repo.ErrInvalid)
		})
	}
}
