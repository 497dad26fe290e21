package repo_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
	metamem "github.com/pkgvc/pkgvc/meta/mem"
	"github.com/pkgvc/pkgvc/repo"
)

// TestGCSoak runs, for a while, writers of every kind beside gc with no
// grace on one store directory, opened twice as two processes would (each
// with its own object store, sharing the store lock through the file
// system and one metadata store): commits of files, uploads pinned then
// committed by digest, commits by digest of blobs no version holds,
// promotions, gc. Uploads and commits of files must always succeed; at the
// end fsck is clean and every version any reflog entry names is whole.
func TestGCSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test: skipped with -short")
	}
	soak := 20 * time.Second
	if s := os.Getenv("PKGVC_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		require.NoError(t, err)
		soak = d
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	m := metamem.New()
	open := func() *repo.Store {
		s, err := fsstore.OpenDir(ctx, dir, all.Kinds(), repo.WithMeta(m), repo.WithWho(rtWho))
		require.NoError(t, err)
		return s
	}
	a, b := open(), open()
	for _, name := range []string{"dev", "up", "stable", "orphans"} {
		_, err := a.CreateRepo(ctx, name, repo.CreateOptions{})
		require.NoError(t, err)
	}
	src := t.TempDir()
	for _, name := range []string{"dev", "up"} {
		f := filepath.Join(src, name)
		require.NoError(t, os.WriteFile(f, []byte("first of "+name), 0o644))
		_, err := a.Commit(ctx, name, repo.CommitRequest{Adds: []repo.Add{{Path: "first.txt", File: f}}})
		require.NoError(t, err)
	}

	runCtx, cancel := context.WithTimeout(ctx, soak)
	defer cancel()
	var wg sync.WaitGroup
	var failed atomic.Value
	fail := func(err error) {
		failed.CompareAndSwap(nil, err)
		cancel()
	}
	var counts [6]atomic.Int64 // commits, uploads, orphan commits won, orphan commits lost, promotions, gcs
	loop := func(name string, fn func(i int) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; runCtx.Err() == nil; i++ {
				if err := fn(i); err != nil {
					fail(fmt.Errorf("%s %d: %w", name, i, err))
					return
				}
			}
		}()
	}
	stores := []*repo.Store{a, b}
	for w := range 2 {
		st := stores[w]
		loop(fmt.Sprintf("commit%d", w), func(i int) error {
			f := filepath.Join(src, fmt.Sprintf("c%d-%d", w, i))
			if err := os.WriteFile(f, []byte(fmt.Sprintf("file %d of writer %d", i, w)), 0o644); err != nil {
				return err
			}
			req := repo.CommitRequest{Adds: []repo.Add{{Path: fmt.Sprintf("c%d/%d.txt", w, i), File: f}}}
			if i > 3 && i%2 == 0 {
				req.Removes = []string{fmt.Sprintf("c%d/%d.txt", w, i-3)}
			}
			_, err := st.Commit(ctx, "dev", req)
			counts[0].Add(1)
			return err
		})
		loop(fmt.Sprintf("upload%d", w), func(i int) error {
			content := fmt.Sprintf("upload %d of writer %d", i, w)
			lctx, release, err := st.Objects().Lease(ctx)
			if err != nil {
				return err
			}
			bt := st.Objects().NewBatch()
			res, err := bt.PutBlob(lctx, strings.NewReader(content))
			if err == nil {
				err = bt.Flush(lctx)
			} else {
				bt.Abort()
			}
			if err == nil {
				_, err = st.Pin(lctx, res.ID, "upload", repo.PendingWindow)
			}
			release()
			if err != nil {
				return err
			}
			time.Sleep(time.Duration(rand.N(3)) * time.Millisecond) // the client between its upload and its commit
			_, err = st.Commit(ctx, "up", repo.CommitRequest{Records: []repo.Record{{Path: fmt.Sprintf("u%d/%d.txt", w, i), SHA256: res.ID, Size: res.Size}}})
			counts[1].Add(1)
			return err
		})
	}
	loop("orphan", func(i int) error {
		// A blob a failed sync kept (written under its lease): stored, in
		// no version, not pinned.
		lctx, release, err := a.Objects().LongLease(ctx)
		if err != nil {
			return err
		}
		bt := a.Objects().NewBatch()
		res, err := bt.PutBlob(lctx, strings.NewReader(fmt.Sprintf("kept by a failed sync %d", i)))
		if err == nil {
			err = bt.Flush(lctx)
		} else {
			bt.Abort()
		}
		release()
		if err != nil {
			return err
		}
		time.Sleep(time.Duration(rand.N(3)) * time.Millisecond)
		_, err = b.Commit(ctx, "orphans", repo.CommitRequest{Records: []repo.Record{{Path: fmt.Sprintf("o/%d.txt", i), SHA256: res.ID, Size: res.Size}}})
		switch {
		case err == nil:
			counts[2].Add(1)
		case errors.Is(err, repo.ErrInvalid) && strings.Contains(err.Error(), "not in the store"):
			counts[3].Add(1) // gc took it first: refused, nothing named it
		default:
			return err
		}
		return nil
	})
	loop("promote", func(i int) error {
		src := []string{"dev", "up"}[i%2]
		_, err := b.Promote(ctx, []repo.Pair{{Src: src, Dst: "stable"}}, repo.PromoteOptions{Force: true})
		counts[4].Add(1)
		time.Sleep(2 * time.Millisecond)
		return err
	})
	for w, st := range stores {
		loop(fmt.Sprintf("gc%d", w), func(int) error {
			_, err := st.GC(ctx, repo.GCOptions{Grace: -1})
			counts[5].Add(1)
			return err
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d commits, %d uploads committed, %d orphan commits made and %d refused, %d promotions, %d collections",
		counts[0].Load(), counts[1].Load(), counts[2].Load(), counts[3].Load(), counts[4].Load(), counts[5].Load())
	require.Positive(t, counts[0].Load())
	require.Positive(t, counts[1].Load())
	require.Positive(t, counts[5].Load())

	_, err := a.GC(ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	res, err := a.Fsck(ctx)
	require.NoError(t, err)
	require.Empty(t, res.Problems)
	for _, name := range []string{"dev", "up", "stable", "orphans"} {
		log, err := a.Reflog(ctx, name)
		require.NoError(t, err)
		for _, l := range log {
			if l.New.IsZero() {
				continue
			}
			recs, err := a.List(ctx, l.New.String())
			require.NoError(t, err, "%s: version %s of the reflog", name, l.New)
			for _, r := range recs {
				has, err := a.Objects().HasBlob(ctx, r.SHA256)
				require.NoError(t, err)
				require.True(t, has, "%s: version %s: %s's blob %s is gone", name, l.New, r.Path, r.SHA256)
			}
		}
	}
}
