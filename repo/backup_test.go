package repo_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/repo"
)

// The backup the README documents: with commits going on, cp -a of meta/
// first, then refs/log, then the rest of refs/, then data/ (not
// data/tmp), gives a store that verifies, each ref at a version it had.
// Objects are immutable and written before any document or ref names
// them, and the ref log only grows or is replaced by one holding every
// ref, so data copied after them holds everything they name (gc, the only
// deleter, must not run meanwhile).
func TestBackupWhileCommitting(t *testing.T) {
	if _, err := exec.LookPath("cp"); err != nil {
		t.Skip("no cp")
	}
	e := newFSEnv(t)
	e.create("dev", repo.CreateOptions{})
	e.create("prod", repo.CreateOptions{})
	ctx, stop := context.WithCancel(e.ctx)
	var wg sync.WaitGroup
	var commits atomic.Int64
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				f := filepath.Join(e.src, fmt.Sprintf("w%d-%d.bin", w, i))
				if err := os.WriteFile(f, []byte(randomText(uint64(w*100000+i), 2000+i)), 0o644); err != nil {
					t.Error(err)
					return
				}
				_, err := e.s.Commit(e.ctx, "dev", repo.CommitRequest{Adds: []repo.Add{{Path: fmt.Sprintf("p/%d/%d.bin", w, i%50), File: f}}})
				if err != nil {
					t.Error(err)
					return
				}
				if i%5 == 0 {
					if _, err := e.s.Promote(e.ctx, []repo.Pair{{Src: "dev", Dst: "prod"}}, repo.PromoteOptions{Force: true}); err != nil {
						t.Error(err)
						return
					}
				}
				commits.Add(1)
			}
		}()
	}
	defer func() { stop(); wg.Wait() }()

	for round := range 3 {
		for commits.Load() < int64(20*(round+1)) && !t.Failed() {
			// let some commits land between copies
			time.Sleep(10 * time.Millisecond)
		}
		dst := filepath.Join(t.TempDir(), "copy")
		require.NoError(t, os.MkdirAll(filepath.Join(dst, "data"), 0o755))
		cp := func(args ...string) {
			out, err := exec.Command("cp", append([]string{"-a"}, args...)...).CombinedOutput()
			require.NoError(t, err, "%s", out)
		}
		cp(filepath.Join(e.dir, "pkgvc-store.json"), filepath.Join(e.dir, "meta"), dst)
		require.NoError(t, os.MkdirAll(filepath.Join(dst, "refs"), 0o755))
		cp(filepath.Join(e.dir, "refs", "log"), filepath.Join(dst, "refs"))
		cp(filepath.Join(e.dir, "refs", "reflog"), filepath.Join(e.dir, "refs", "lock"), filepath.Join(dst, "refs"))
		var parts []string
		for _, d := range []string{"blobs", "objects", "damaged"} {
			if _, err := os.Stat(filepath.Join(e.dir, "data", d)); err == nil {
				parts = append(parts, filepath.Join(e.dir, "data", d))
			}
		}
		cp(append(parts, filepath.Join(dst, "data"))...)

		c, err := fsstore.OpenDir(e.ctx, dst, all.Kinds())
		require.NoError(t, err)
		res, err := c.Fsck(e.ctx)
		require.NoError(t, err, "round %d", round)
		require.Empty(t, res.Problems)
		for _, name := range []string{"dev", "prod"} {
			info, err := c.ShowRepo(e.ctx, name)
			require.NoError(t, err)
			if info.Head != nil {
				_, err = c.List(e.ctx, name)
				require.NoError(t, err)
			}
			// Its reflog is one chain of moves, newest first.
			log, err := c.Reflog(e.ctx, name)
			require.NoError(t, err)
			for i := 1; i < len(log); i++ {
				require.Equal(t, log[i].New, log[i-1].Old, "%s@{%d}", name, i)
			}
		}
		// The copy is a working store: it takes commits of its own.
		f := filepath.Join(e.src, fmt.Sprintf("copy-%d.txt", round))
		require.NoError(t, os.WriteFile(f, []byte("after restore"), 0o644))
		_, err = c.Commit(e.ctx, "dev", repo.CommitRequest{Adds: []repo.Add{{Path: "restored.txt", File: f}}})
		require.NoError(t, err)
	}
}
