package repo_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// retainedDev makes "dev" with Retain 3 and 6 versions; version i holds
// only pkg.txt = "content i" plus shared.txt. Before version 3 is made,
// hook runs (if set) with dev at version 2.
func retainedDev(t *testing.T, e *rtEnv, hook func()) map[int]objects.ID {
	t.Helper()
	e.create("dev", repo.CreateOptions{Retain: 3})
	blobs := map[int]objects.ID{}
	for i := 1; i <= 6; i++ {
		if i == 3 && hook != nil {
			hook()
		}
		files := map[string]string{"pkg.txt": fmt.Sprintf("content %d", i)}
		if i == 1 {
			files["shared.txt"] = "shared"
		}
		res := e.commit("dev", files)
		require.Equal(t, i, res.Version)
		blobs[i] = e.blob("dev", "pkg.txt")
	}
	return blobs
}

func TestRetentionLog(t *testing.T) {
	e := newMemEnv(t)
	retainedDev(t, e, nil)

	log := mustLog(t, e, "dev")
	require.Equal(t, []int{6, 5, 4}, versionNumbers(log))
	require.False(t, log[0].Shallow)
	require.False(t, log[1].Shallow)
	require.True(t, log[2].Shallow, "the oldest kept version is marked shallow")

	info, err := e.s.ShowRepo(e.ctx, "dev")
	require.NoError(t, err)
	require.Equal(t, []objects.ID{log[2].ID}, info.Shallow)
	require.False(t, info.PrunedAt.IsZero())

	for _, tc := range []struct {
		rev     string
		want    int
		wantErr error
	}{
		{rev: "dev@4", want: 4},
		{rev: "dev@6", want: 6},
		{rev: "dev~2", want: 4},
		{rev: "dev@1", wantErr: repo.ErrPruned},
		{rev: "dev@3", wantErr: repo.ErrPruned},
		{rev: "dev@7", wantErr: repo.ErrVersionNotFound},
	} {
		v, err := e.s.Resolve(e.ctx, tc.rev)
		if tc.wantErr != nil {
			require.ErrorIs(t, err, tc.wantErr, tc.rev)
			require.ErrorIs(t, err, repo.ErrVersionNotFound, tc.rev)
			require.ErrorIs(t, err, repo.ErrNotFound, tc.rev)
			continue
		}
		require.NoError(t, err, tc.rev)
		require.Equal(t, tc.want, v.Number, tc.rev)
	}

	// Log from a revision inside the kept range stops at the boundary too.
	log = mustLog(t, e, "dev@5")
	require.Equal(t, []int{5, 4}, versionNumbers(log))
	require.True(t, log[1].Shallow)
	require.Equal(t, []int{6, 5}, versionNumbers(mustLogN(t, e, "dev", 2)))
}

func mustLogN(t *testing.T, e *rtEnv, rev string, n int) []repo.LogEntry {
	t.Helper()
	log, err := e.s.Log(e.ctx, rev, n)
	require.NoError(t, err)
	return log
}

func TestRetentionNotReachedYet(t *testing.T) {
	e := newMemEnv(t)
	e.create("dev", repo.CreateOptions{Retain: 3})
	e.commit("dev", map[string]string{"a": "1"})
	e.commit("dev", map[string]string{"a": "2"})
	e.commit("dev", map[string]string{"a": "3"})
	log := mustLog(t, e, "dev")
	require.Equal(t, []int{3, 2, 1}, versionNumbers(log))
	for _, l := range log {
		require.False(t, l.Shallow, "version 1 is the real root, not a cut")
	}
	info, err := e.s.ShowRepo(e.ctx, "dev")
	require.NoError(t, err)
	require.Empty(t, info.Shallow)
	require.Equal(t, 1, e.resolve("dev@1").Number)
}

func TestRetentionGC(t *testing.T) {
	e := newFSEnv(t)
	blobs := retainedDev(t, e, nil)
	shared := e.blob("dev", "shared.txt")

	res, err := e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	require.Positive(t, res.DeletedBlobs)
	require.Positive(t, res.DeletedObjects)
	for i := 1; i <= 3; i++ {
		require.False(t, e.hasBlob(blobs[i]), "blob only in pruned version %d survived", i)
	}
	for i := 4; i <= 6; i++ {
		require.True(t, e.hasBlob(blobs[i]), "blob of kept version %d deleted", i)
		require.Equal(t, fmt.Sprintf("content %d", i), e.cat(fmt.Sprintf("dev@%d", i), "pkg.txt"))
	}
	require.True(t, e.hasBlob(shared))
	e.fsckClean()

	log := mustLog(t, e, "dev")
	require.Equal(t, []int{6, 5, 4}, versionNumbers(log))
	require.True(t, log[2].Shallow)
	_, err = e.s.Resolve(e.ctx, "dev@1")
	require.ErrorIs(t, err, repo.ErrPruned)
	_, err = e.s.Resolve(e.ctx, "dev~3")
	require.ErrorIs(t, err, repo.ErrPruned)
	_, err = e.s.Resolve(e.ctx, "dev@{4}")
	require.ErrorIs(t, err, repo.ErrPruned)

	// A second collection finds nothing more.
	res, err = e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	require.Zero(t, res.DeletedBlobs)
	require.Zero(t, res.DeletedObjects)

	// More commits keep pruning.
	e.commit("dev", map[string]string{"pkg.txt": "content 7"})
	_, err = e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	require.False(t, e.hasBlob(blobs[4]))
	require.Equal(t, []int{7, 6, 5}, versionNumbers(mustLog(t, e, "dev")))
	e.fsckClean()
}

func TestRetentionGCKeepsPromotedHistory(t *testing.T) {
	e := newFSEnv(t)
	e.create("test", repo.CreateOptions{})
	blobs := retainedDev(t, e, func() {
		_, err := e.s.Promote(e.ctx, []repo.Pair{{Src: "dev", Dst: "test"}}, repo.PromoteOptions{})
		require.NoError(t, err)
	})
	require.Equal(t, 2, e.resolve("test").Number)

	_, err := e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	require.True(t, e.hasBlob(blobs[1]))
	require.True(t, e.hasBlob(blobs[2]))
	require.False(t, e.hasBlob(blobs[3]), "dev@3 is in no kept history")
	require.Equal(t, "content 2", e.cat("test", "pkg.txt"))
	require.Equal(t, "content 1", e.cat("test@1", "pkg.txt"))
	require.Equal(t, []int{2, 1}, versionNumbers(mustLog(t, e, "test")))
	e.fsckClean()

	// Moving test to dev now puts the collected dev@3 into its history; log
	// stops at dev's boundary instead of failing. (A plain promote cannot
	// prove dev@2 is an ancestor of dev@6 once dev@3 is gone, so force.)
	_, err = e.s.Promote(e.ctx, []repo.Pair{{Src: "dev", Dst: "test"}}, repo.PromoteOptions{Force: true})
	require.NoError(t, err)
	log := mustLog(t, e, "test")
	require.Equal(t, []int{6, 5, 4}, versionNumbers(log))
	require.True(t, log[2].Shallow)
	e.fsckClean()
}

func TestRetentionPromoteAfterGC(t *testing.T) {
	e := newFSEnv(t)
	retainedDev(t, e, nil)
	_, err := e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)

	for _, tc := range []struct {
		name   string
		retain int
	}{
		{"keep all", 0},
		{"retain 2", 2},
		{"retain 10", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("prod-%d", tc.retain)
			e.create(name, repo.CreateOptions{Retain: tc.retain})
			res, err := e.s.Promote(e.ctx, []repo.Pair{{Src: "dev", Dst: name}}, repo.PromoteOptions{})
			require.NoError(t, err)
			require.Equal(t, "fast-forward", res[0].Mode)

			log := mustLog(t, e, name)
			want := []int{6, 5, 4}
			if tc.retain == 2 {
				want = []int{6, 5}
			}
			require.Equal(t, want, versionNumbers(log))
			require.True(t, log[len(log)-1].Shallow)
			for _, l := range log[:len(log)-1] {
				require.False(t, l.Shallow)
			}
			_, err = e.s.Resolve(e.ctx, name+"@3")
			require.ErrorIs(t, err, repo.ErrVersionNotFound)
			require.Equal(t, "content 6", e.cat(name, "pkg.txt"))
			e.fsckClean()

			// Committing on top and collecting again stays consistent.
			e.commit(name, map[string]string{"more.txt": "more"})
			_, err = e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
			require.NoError(t, err)
			e.fsckClean()
			log = mustLog(t, e, name)
			require.Equal(t, 7, log[0].Number)
			require.True(t, log[len(log)-1].Shallow)
		})
	}
}

// TestGCKeepsHistoryOfKeepAllRepo: a repository without retention keeps
// every version, whatever other repositories retain. Here "main" (keep
// all) received its history from a staging repository that was then
// deleted, and "beta" (retain 2) was promoted from main. The outcome must
// not depend on the repositories' names.
func TestGCKeepsHistoryOfKeepAllRepo(t *testing.T) {
	for _, retained := range []string{"beta", "zeta"} {
		t.Run(retained, func(t *testing.T) {
			e := newMemEnv(t)
			e.create("staging", repo.CreateOptions{})
			e.create("main", repo.CreateOptions{})
			e.create(retained, repo.CreateOptions{Retain: 2})
			var blobs []objects.ID
			for i := 1; i <= 4; i++ {
				e.commit("staging", map[string]string{"pkg.txt": fmt.Sprintf("v%d", i)})
				blobs = append(blobs, e.blob("staging", "pkg.txt"))
			}
			_, err := e.s.Promote(e.ctx, []repo.Pair{{Src: "staging", Dst: "main"}}, repo.PromoteOptions{})
			require.NoError(t, err)
			require.NoError(t, e.s.DeleteRepo(e.ctx, "staging"))
			_, err = e.s.Promote(e.ctx, []repo.Pair{{Src: "main", Dst: retained}}, repo.PromoteOptions{})
			require.NoError(t, err)
			require.Equal(t, []int{4, 3}, versionNumbers(mustLog(t, e, retained)))
			require.Equal(t, []int{4, 3, 2, 1}, versionNumbers(mustLog(t, e, "main")))

			_, err = e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
			require.NoError(t, err)
			require.Equal(t, []int{4, 3, 2, 1}, versionNumbers(mustLog(t, e, "main")))
			for i, b := range blobs {
				require.True(t, e.hasBlob(b), "main@%d's package was collected", i+1)
			}
			require.Equal(t, "v1", e.cat("main@1", "pkg.txt"))
			e.fsckClean()
		})
	}
}
