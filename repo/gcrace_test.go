package repo_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/repo"
)

// headBlobsPresent checks that every blob the head of name names is stored.
func (e *rtEnv) headBlobsPresent(name string) {
	e.t.Helper()
	recs, err := e.s.List(e.ctx, name)
	require.NoError(e.t, err)
	for _, r := range recs {
		require.True(e.t, e.hasBlob(r.SHA256), "%s: %s's blob %s is gone", name, r.Path, r.SHA256)
	}
}

// TestGCRaceCommitByDigest commits, by digest, a blob no version holds
// while gc runs with no grace. Whichever wins, the store stays whole: the
// commit either names a blob that is kept, or fails because the blob was
// already gone; it never makes a version whose blob gc deletes.
func TestGCRaceCommitByDigest(t *testing.T) {
	for _, env := range []struct {
		name string
		new  func(*testing.T, ...repo.Option) *rtEnv
	}{{"fs", newFSEnv}, {"mem", newMemEnv}} {
		t.Run(env.name, func(t *testing.T) {
			e := env.new(t)
			e.create("dev", repo.CreateOptions{})
			e.commit("dev", map[string]string{"base.txt": "base"})
			rounds := 100
			if testing.Short() {
				rounds = 30
			}
			committed := 0
			for i := range rounds {
				content := fmt.Sprintf("left over by a failed sync %d", i)
				orphan := e.putBlob(content)
				path := fmt.Sprintf("p%d.txt", i)
				var wg sync.WaitGroup
				var cerr, gerr error
				wg.Add(2)
				go func() {
					defer wg.Done()
					time.Sleep(time.Duration(i%7) * 100 * time.Microsecond)
					_, cerr = e.s.Commit(e.ctx, "dev", repo.CommitRequest{Records: []repo.Record{{Path: path, SHA256: orphan.ID, Size: orphan.Size}}})
				}()
				go func() {
					defer wg.Done()
					time.Sleep(time.Duration(i%5) * 100 * time.Microsecond)
					_, gerr = e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
				}()
				wg.Wait()
				require.NoError(t, gerr)
				if cerr == nil {
					committed++
					require.True(t, e.hasBlob(orphan.ID), "round %d: the commit succeeded and gc deleted its blob", i)
				} else {
					require.ErrorIs(t, cerr, repo.ErrInvalid, "round %d", i)
					require.ErrorContains(t, cerr, "not in the store")
				}
				e.headBlobsPresent("dev")
			}
			e.fsckClean()
			t.Logf("%d of %d commits won the race", committed, rounds)
		})
	}
}

// TestGCRaceWaitsForCommit: a commit holding its lease keeps gc's mark
// waiting, and gc's mark keeps a commit waiting; neither fails.
func TestGCRaceWaitsForCommit(t *testing.T) {
	e := newFSEnv(t)
	e.create("dev", repo.CreateOptions{})
	orphan := e.putBlob("uploaded, not committed yet")
	ctx, release, err := e.s.Objects().Lease(e.ctx)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("gc ran while a lease was held: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	// Nested leases of one context do not wait for the waiting gc.
	_, err = e.s.Commit(ctx, "dev", repo.CommitRequest{Records: []repo.Record{{Path: "a.txt", SHA256: orphan.ID, Size: orphan.Size}}})
	require.NoError(t, err)
	release()
	require.NoError(t, <-done)
	require.True(t, e.hasBlob(orphan.ID))
	e.fsckClean()

	// A short lease taken while gc waits for a long one is not held back:
	// a commit does not wait behind a gc that waits for a long sync.
	_, release, err = e.s.Objects().LongLease(e.ctx)
	require.NoError(t, err)
	done = make(chan error, 1)
	go func() {
		_, err := e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	_, err = e.s.Commit(cctx, "dev", repo.CommitRequest{Records: []repo.Record{{Path: "b.txt", SHA256: orphan.ID, Size: orphan.Size}}})
	require.NoError(t, err)
	select {
	case err := <-done:
		t.Fatalf("gc ran while a lease was held: %v", err)
	default:
	}
	release()
	require.NoError(t, <-done)
	e.fsckClean()
}
