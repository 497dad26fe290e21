package remote

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"strings"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// IndexStreamer is implemented by Syncers that can list an upstream a
// package at a time, in path order, so that a sync of any size holds a
// bounded part of its index: the engine merges the stream with the head's
// ordered records as it comes. A Syncer without it is read whole with
// Index and sorted.
type IndexStreamer interface {
	// IndexSeq calls yield for every package Index would return, in
	// strictly increasing path order (byte-wise, as tree paths sort). An
	// error from yield ends the listing and is returned. As with Index,
	// an index that cannot be read completely is an error, and a sync
	// then acts on none of what was yielded.
	IndexSeq(ctx context.Context, up Upstream, yield func(Package) error) error
}

// streamIndex calls yield for the upstream's packages in path order.
func streamIndex(ctx context.Context, s Syncer, up Upstream, yield func(Package) error) error {
	if st, ok := s.(IndexStreamer); ok {
		return st.IndexSeq(ctx, up, yield)
	}
	pkgs, err := s.Index(ctx, up)
	if err != nil {
		return err
	}
	slices.SortStableFunc(pkgs, func(a, b Package) int { return strings.Compare(a.Path, b.Path) })
	for i := range pkgs {
		if err := yield(pkgs[i]); err != nil {
			return err
		}
		pkgs[i] = Package{} // done with: let it go
	}
	return nil
}

// planStream reads the upstream's index as a stream, merges it with the
// head's records in path order, and writes the changes to make into sp:
// records to set, and with mirror the selected head paths the upstream
// no longer lists. It returns the downloads the changes need and counts
// everything into res.
func (m *Manager) planStream(ctx context.Context, syncer Syncer, up Upstream, info *repo.RepoInfo, mirror bool, sp *spill, res *SyncResult) ([]*job, error) {
	r := &up.Remote
	pl := newPlanner(m, r, res)
	var root objects.ID
	if info.Head != nil {
		root = info.Head.Tree
	}
	head := newHeadCursor(ctx, m.st.Objects(), root)
	defer head.stop()
	gone := func(e tree.Entry) error {
		if !mirror || !pl.match.Match(e.Path) {
			return nil
		}
		res.Removed++
		return sp.add(tree.Change{Path: e.Path})
	}
	var prev string
	first := true
	var planErr error // an error of the plan, not of reading the upstream
	err := streamIndex(ctx, syncer, up, func(p Package) error {
		if err := checkPackage(p); err != nil {
			planErr = fmt.Errorf("sync %s: upstream index %s: %w", r.Name, r.URL, err)
			return planErr
		}
		if !first && p.Path <= prev {
			what := "is listed twice"
			if p.Path < prev {
				what = fmt.Sprintf("is listed after %q, out of path order", prev)
			}
			planErr = fmt.Errorf("sync %s: upstream index %s: %w: path %q %s", r.Name, r.URL, repo.ErrInvalid, p.Path, what)
			return planErr
		}
		first, prev = false, p.Path
		if !pl.match.Match(p.Path) {
			res.Filtered++
			return nil
		}
		cur, ok, err := head.seek(p.Path, gone)
		if err == nil {
			var rec *repo.Record
			if rec, err = pl.decide(ctx, p, cur, ok); err == nil && rec != nil {
				err = sp.add(tree.Change{Path: rec.Path, Entry: rec})
			}
		}
		if err != nil {
			planErr = err
		}
		return err
	})
	if planErr != nil {
		return nil, planErr
	}
	if err != nil {
		if u := unreachable(r, err); u != nil {
			return nil, u
		}
		return nil, fmt.Errorf("sync %s: read upstream index %s: %w", r.Name, r.URL, err)
	}
	if _, _, err := head.seek("", gone); err != nil {
		return nil, err
	}
	if err := sp.finish(); err != nil {
		return nil, fmt.Errorf("sync %s: %w", r.Name, err)
	}
	return pl.jobs, nil
}

// headCursor reads the head's records in path order, on demand.
type headCursor struct {
	next func() (tree.Entry, error, bool)
	stop func()
	cur  *tree.Entry // read, not yet passed
}

var errStopWalk = errors.New("walk stopped")

func newHeadCursor(ctx context.Context, g tree.Getter, root objects.ID) *headCursor {
	if root.IsZero() {
		return &headCursor{next: func() (tree.Entry, error, bool) { return tree.Entry{}, nil, false }, stop: func() {}}
	}
	next, stop := iter.Pull2(func(yield func(tree.Entry, error) bool) {
		err := tree.Walk(ctx, g, root, func(e tree.Entry) error {
			if !yield(e, nil) {
				return errStopWalk
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStopWalk) {
			yield(tree.Entry{}, err)
		}
	})
	return &headCursor{next: next, stop: stop}
}

// seek passes the records before path to gone, and returns the record at
// path, if any. An empty path passes every record left.
func (h *headCursor) seek(path string, gone func(tree.Entry) error) (tree.Entry, bool, error) {
	for {
		if h.cur == nil {
			e, err, ok := h.next()
			if err != nil {
				return tree.Entry{}, false, err
			}
			if !ok {
				return tree.Entry{}, false, nil
			}
			h.cur = &e
		}
		e := *h.cur
		switch {
		case path != "" && e.Path == path:
			h.cur = nil
			return e, true, nil
		case path != "" && e.Path > path:
			return tree.Entry{}, false, nil
		}
		h.cur = nil
		if err := gone(e); err != nil {
			return tree.Entry{}, false, err
		}
	}
}

// spill keeps a sync's planned changes in an unnamed temporary file
// between the plan and the commit, which reads them back, in order, as
// often as it needs.
type spill struct {
	f             *os.File
	w             *bufio.Writer
	enc           *gob.Encoder
	sets, removes int
}

// spilled is one change as written.
type spilled struct {
	Remove bool
	E      tree.Entry
}

func newSpill(dir string) (*spill, error) {
	f, err := os.CreateTemp(dir, "pkgvc-sync-*")
	if err != nil {
		return nil, fmt.Errorf("plan file: %w", err)
	}
	// Unnamed from now on: the space goes back whatever ends the process.
	_ = os.Remove(f.Name())
	w := bufio.NewWriterSize(f, 256<<10)
	return &spill{f: f, w: w, enc: gob.NewEncoder(w)}, nil
}

func (s *spill) add(c tree.Change) error {
	v := spilled{Remove: c.Entry == nil, E: tree.Entry{Path: c.Path}}
	if c.Entry != nil {
		v.E = *c.Entry
		s.sets++
	} else {
		s.removes++
	}
	if err := s.enc.Encode(&v); err != nil {
		return fmt.Errorf("plan file: %w", err)
	}
	return nil
}

func (s *spill) finish() error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("plan file: %w", err)
	}
	return nil
}

// changes yields the spilled changes in the order they were added.
func (s *spill) changes(yield func(tree.Change) error) error {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("plan file: %w", err)
	}
	dec := gob.NewDecoder(bufio.NewReaderSize(s.f, 256<<10))
	for range s.sets + s.removes {
		var v spilled // a fresh one: gob merges into maps it finds
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("plan file: %w", err)
		}
		c := tree.Change{Path: v.E.Path}
		if !v.Remove {
			c.Entry = &v.E
		}
		if err := yield(c); err != nil {
			return err
		}
	}
	return nil
}

func (s *spill) close() { _ = s.f.Close() }
