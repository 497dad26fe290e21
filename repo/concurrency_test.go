package repo_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
	"github.com/pkgvc/pkgvc/repo"
)

// TestConcurrentCommits has 8 writers commit 20 files each, one file per
// commit, into one repository. Commit retries internally when the head
// moves, so no work is lost and every commit makes one version.
func TestConcurrentCommits(t *testing.T) {
	const writers, perWriter = 8, 20
	for _, env := range []struct {
		name  string
		make  func(*testing.T, ...repo.Option) *rtEnv
		batch int // files per commit
	}{
		{"mem one file per commit", newMemEnv, 1},
		{"fs one file per commit", newFSEnv, 1},
		{"mem all files in one commit", newMemEnv, perWriter},
		{"fs all files in one commit", newFSEnv, perWriter},
	} {
		t.Run(env.name, func(t *testing.T) {
			e := env.make(t)
			e.create("dev", repo.CreateOptions{})
			// Prepare the files first: the writers only commit.
			files := make([][]string, writers)
			for w := range writers {
				for i := range perWriter {
					files[w] = append(files[w], e.file(fmt.Sprintf("writer %d file %d", w, i)))
				}
			}
			var wg sync.WaitGroup
			errs := make([][]error, writers)
			versions := make([][]int, writers)
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < perWriter; i += env.batch {
						var adds []repo.Add
						for j := i; j < i+env.batch; j++ {
							adds = append(adds, repo.Add{Path: fmt.Sprintf("w%d/f%02d.txt", w, j), File: files[w][j]})
						}
						res, err := e.s.Commit(e.ctx, "dev", repo.CommitRequest{
							Adds:    adds,
							Message: fmt.Sprintf("writer %d commit %d", w, i),
						})
						if err != nil {
							errs[w] = append(errs[w], err)
							continue
						}
						if !res.Changed {
							errs[w] = append(errs[w], fmt.Errorf("commit %d/%d changed nothing", w, i))
							continue
						}
						versions[w] = append(versions[w], res.Version)
					}
				}()
			}
			wg.Wait()

			ok := 0
			var failed []error
			seen := map[int]bool{}
			for w := range writers {
				failed = append(failed, errs[w]...)
				ok += len(versions[w])
				for _, v := range versions[w] {
					require.False(t, seen[v], "version %d made twice", v)
					seen[v] = true
				}
			}
			require.Empty(t, failed)
			require.Equal(t, writers*perWriter/env.batch, ok)

			head := e.resolve("dev")
			require.Equal(t, ok, head.Number, "head version number = successful commits")
			log := mustLog(t, e, "dev")
			require.Len(t, log, ok)
			for i, l := range log {
				require.Equal(t, ok-i, l.Number, "version numbers are consecutive")
			}
			require.Len(t, mustReflog(t, e, "dev"), ok)
			contents := e.contents("dev")
			require.Len(t, contents, writers*perWriter)
			for w := range writers {
				for i := range perWriter {
					require.Equal(t, fmt.Sprintf("writer %d file %d", w, i), contents[fmt.Sprintf("w%d/f%02d.txt", w, i)])
				}
			}
			e.fsckClean()
		})
	}
}

// TestConcurrentPromotes promotes two unrelated sources into one
// destination at once: the compare-and-swap lets at most one win.
func TestConcurrentPromotes(t *testing.T) {
	for _, env := range []struct {
		name string
		make func(*testing.T, ...repo.Option) *rtEnv
	}{
		{"mem", newMemEnv},
		{"fs", newFSEnv},
	} {
		t.Run(env.name, func(t *testing.T) {
			e := env.make(t)
			e.create("a", repo.CreateOptions{})
			e.create("b", repo.CreateOptions{})
			e.commit("a", map[string]string{"a.txt": "a"})
			e.commit("b", map[string]string{"b.txt": "b"})
			heads := map[string]objects.ID{"a": e.head("a"), "b": e.head("b")}
			wins := map[string]int{}
			for round := range 20 {
				dst := fmt.Sprintf("dst%d", round)
				e.create(dst, repo.CreateOptions{})
				var wg sync.WaitGroup
				errs := map[string]error{}
				var mu sync.Mutex
				start := make(chan struct{})
				for _, src := range []string{"a", "b"} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						_, err := e.s.Promote(e.ctx, []repo.Pair{{Src: src, Dst: dst}}, repo.PromoteOptions{})
						mu.Lock()
						errs[src] = err
						mu.Unlock()
					}()
				}
				close(start)
				wg.Wait()

				head := e.head(dst)
				var winners []string
				for src, err := range errs {
					if err == nil {
						winners = append(winners, src)
						continue
					}
					require.True(t, errors.Is(err, refs.ErrConflict) || errors.Is(err, repo.ErrNotFastForward),
						"promote %s -> %s: %v", src, dst, err)
				}
				require.Len(t, winners, 1, "exactly one promotion wins: %v", errs)
				require.Equal(t, heads[winners[0]], head)
				wins[winners[0]]++
				require.Len(t, mustReflog(t, e, dst), 1)
			}
			t.Logf("wins: %v", wins)
		})
	}
}

func TestConcurrentCreateRepo(t *testing.T) {
	e := newFSEnv(t)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.s.CreateRepo(e.ctx, "dev", repo.CreateOptions{Retain: i})
		}()
	}
	wg.Wait()
	created := 0
	for _, err := range errs {
		if err == nil {
			created++
			continue
		}
		require.ErrorIs(t, err, repo.ErrExists)
	}
	require.Equal(t, 1, created)
	repos, err := e.s.ListRepos(e.ctx)
	require.NoError(t, err)
	require.Len(t, repos, 1)
}
