package client_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// TestUploadSurvivesGCWithoutGrace: a blob uploaded through the API and
// not committed yet is pinned; gc with no grace keeps it, and the commit
// by digest that follows succeeds and leaves the store whole.
func TestUploadSurvivesGCWithoutGrace(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	_, err := e.svc.CreateRepo(ctx, "dev", repo.CreateOptions{})
	require.NoError(t, err)
	c := e.client(e.token("ci", "repo:dev:write"))

	content := []byte("a package uploaded before its commit")
	id, err := c.PutBlob(ctx, bytes.NewReader(content), int64(len(content)), objects.Sum(content))
	require.NoError(t, err)

	res, err := e.svc.GC(ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	require.Zero(t, res.DeletedBlobs, "the pinned upload was deleted")

	cres, err := c.Commit(ctx, "dev", repo.CommitRequest{Records: []repo.Record{{Path: "pkg.txt", SHA256: id, Size: int64(len(content))}}})
	require.NoError(t, err)
	require.True(t, cres.Changed)
	fsck, err := e.svc.Fsck(ctx, api.FsckOptions{})
	require.NoError(t, err)
	require.Empty(t, fsck.Problems)
	has, err := e.svc.Store().Objects().HasBlob(ctx, id)
	require.NoError(t, err)
	require.True(t, has)
}

// TestUploadThenCommitBesideGC uploads and commits through the API while
// gc runs with no grace, again and again: every commit succeeds and the
// store stays whole.
func TestUploadThenCommitBesideGC(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	_, err := e.svc.CreateRepo(ctx, "dev", repo.CreateOptions{})
	require.NoError(t, err)
	c := e.client(e.token("ci", "repo:dev:write"))
	rounds := 40
	if testing.Short() {
		rounds = 10
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var gcErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := e.svc.GC(ctx, repo.GCOptions{Grace: -1}); err != nil {
				gcErr = err
				return
			}
		}
	}()
	for i := range rounds {
		content := []byte(fmt.Sprintf("package %d", i))
		id, err := c.PutBlob(ctx, bytes.NewReader(content), int64(len(content)), objects.Sum(content))
		require.NoError(t, err)
		_, err = c.Commit(ctx, "dev", repo.CommitRequest{Records: []repo.Record{{Path: fmt.Sprintf("p%d.txt", i), SHA256: id, Size: int64(len(content))}}})
		require.NoError(t, err, "round %d", i)
	}
	close(stop)
	wg.Wait()
	require.NoError(t, gcErr)
	fsck, err := e.svc.Fsck(ctx, api.FsckOptions{})
	require.NoError(t, err)
	require.Empty(t, fsck.Problems)
	recs, err := e.svc.List(ctx, "dev")
	require.NoError(t, err)
	require.Len(t, recs, rounds)
}
