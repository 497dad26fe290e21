package repo

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/pkgvc/pkgvc/internal/parallel"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// FsckResult reports a store check.
type FsckResult struct {
	Objects int   `json:"objects"`
	Blobs   int   `json:"blobs"`
	Bytes   int64 `json:"bytes"`
	// NotFetched counts on-demand records whose bytes no request needed yet.
	NotFetched int      `json:"not_fetched"`
	Problems   []string `json:"problems"`
	// Damaged holds a record of each damaged or missing blob, for a
	// repair to fetch again.
	Damaged []Record `json:"-"`
	// Repaired and Unrepaired, after a repair (fsck --repair), name the
	// blobs fetched again and those that could not be, with why.
	Repaired   []string `json:"repaired,omitempty"`
	Unrepaired []string `json:"unrepaired,omitempty"`
}

// Fsck reads every reachable version, tree object and blob and verifies its
// digest. It also checks that each version a repository keeps is of the
// repository's content kind, and that each version's records are ones its
// kind accepts. It returns ErrCorrupt, with the result listing each problem, if
// anything is missing or damaged.
func (s *Store) Fsck(ctx context.Context) (*FsckResult, error) {
	// Check the stored bytes, not what a long-running process has cached.
	ctx = objects.Uncached(ctx)
	r, err := s.newReach(ctx)
	if err != nil {
		return nil, err
	}
	res := &FsckResult{Problems: []string{}}
	var mu sync.Mutex
	r.problem = func(what string, err error) error {
		mu.Lock()
		defer mu.Unlock()
		res.Problems = append(res.Problems, describe(what, err))
		return nil
	}
	// Blobs are verified by a few workers while the walk goes on.
	jobs := make(chan tree.Entry, 64)
	var wg sync.WaitGroup
	for i := 0; i < max(1, s.workers); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range jobs {
				err := parallel.Safe(func() error { return s.objects.VerifyBlob(ctx, e.SHA256) })
				if errors.Is(err, objects.ErrNotFound) && IsOnDemand(e) {
					mu.Lock()
					res.NotFetched++
					mu.Unlock()
					continue
				}
				if err != nil {
					r.problem(fmt.Sprintf("blob %s (%s)", e.SHA256, e.Path), err)
					if errors.Is(err, objects.ErrCorrupt) || errors.Is(err, objects.ErrNotFound) {
						mu.Lock()
						res.Damaged = append(res.Damaged, e)
						mu.Unlock()
					}
					continue
				}
				mu.Lock()
				res.Bytes += e.Size
				mu.Unlock()
			}
		}()
	}
	r.onBlob = func(ctx context.Context, e tree.Entry) { jobs <- e }
	r.onVersion = s.fsckVersion(r)
	err = r.roots(ctx)
	close(jobs)
	wg.Wait()
	if err != nil {
		return res, err
	}
	res.Objects, res.Blobs = len(r.objs), len(r.blobs)
	if len(res.Problems) > 0 {
		return res, fmt.Errorf("%w: %d problem(s): %s", ErrCorrupt, len(res.Problems), res.Problems[0])
	}
	return res, nil
}

// fsckVersion returns the reach hook that checks a version's kind against
// the repository holding it and returns the kind its records are checked
// against: its own, or for a version made before kinds were recorded, the
// repository's.
func (s *Store) fsckVersion(r *reach) func(ctx context.Context, st *repoState, v *Version) (Kind, error) {
	type seenKey struct {
		repo string
		id   objects.ID
	}
	seen := map[seenKey]bool{}
	return func(ctx context.Context, st *repoState, v *Version) (Kind, error) {
		fallback, where := "", "version "+v.ID.String()
		if st != nil {
			fallback, where = st.config.Kind, fmt.Sprintf("version %s in repository %s", v.ID, st.name)
			key := seenKey{st.name, v.ID}
			if seen[key] {
				return nil, nil
			}
			seen[key] = true
		}
		name, err := s.kindOf(ctx, v, fallback)
		if errors.Is(err, ErrNeedsUpgrade) {
			return nil, nil // only another ref names it: nothing to check against
		}
		if err != nil {
			return nil, r.problem(where, err)
		}
		if st != nil && name != st.config.Kind {
			if err := r.problem(where, fmt.Errorf("%w: a %s version in %s repository %q", ErrKindMismatch, name, st.config.Kind, st.name)); err != nil {
				return nil, err
			}
		}
		k, err := s.kinds.Lookup(name)
		if err != nil {
			return nil, r.problem(where, err)
		}
		return k, nil
	}
}
