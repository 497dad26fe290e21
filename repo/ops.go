package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/pkgvc/pkgvc/repo/tree"
)

// List returns the package records of rev sorted by path.
func (s *Store) List(ctx context.Context, rev string) ([]Record, error) {
	recs, _, err := s.ListPage(ctx, rev, ListOptions{})
	return recs, err
}

// ListOptions selects a page of a version's records.
type ListOptions struct {
	// Prefix keeps the records whose path starts with it, as a string:
	// "d7/" is the directory d7, "d7" also matches "d70/x" and "d7.txt".
	Prefix string
	// After starts the page past this path (the next of the previous
	// page), whether or not a record is still there.
	After string
	// Limit bounds the records returned; 0 or less returns all.
	Limit int
}

// errPageFull stops a range read once a page and one more record are in.
var errPageFull = errors.New("page full")

// ListPage returns, sorted by path, the records of rev that o selects, and
// next, the path of the last one returned when more remain (pass it as
// the next page's After), else "". It reads the nodes that hold the page
// and their ancestors, not the version.
func (s *Store) ListPage(ctx context.Context, rev string, o ListOptions) ([]Record, string, error) {
	v, err := s.Resolve(ctx, rev)
	if err != nil {
		return nil, "", err
	}
	from, to := o.Prefix, ""
	if o.Prefix != "" {
		end, ok := prefixEnd(o.Prefix)
		if ok {
			to = end
		}
	}
	if o.After != "" {
		// The least path after o.After.
		if after := o.After + "\x00"; after > from {
			from = after
		}
	}
	if to != "" && from >= to {
		return []Record{}, "", nil
	}
	recs := []Record{}
	err = tree.Range(ctx, s.objects, v.Tree, from, to, func(e tree.Entry) error {
		if o.Limit > 0 && len(recs) == o.Limit {
			return errPageFull
		}
		recs = append(recs, e)
		return nil
	})
	if errors.Is(err, errPageFull) {
		return recs, recs[len(recs)-1].Path, nil
	}
	if err != nil {
		return nil, "", err
	}
	return recs, "", nil
}

// prefixEnd returns the least string greater than every string starting
// with prefix; false when there is none (prefix is all 0xff bytes).
func prefixEnd(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// Stat returns the record at path in rev.
func (s *Store) Stat(ctx context.Context, rev, path string) (Record, error) {
	v, err := s.Resolve(ctx, rev)
	if err != nil {
		return Record{}, err
	}
	e, ok, err := tree.Get(ctx, s.objects, v.Tree, path)
	if err != nil {
		return Record{}, err
	}
	if !ok {
		return Record{}, fmt.Errorf("%w: %s has no %q (see `pkgvc ls %s`)", ErrPathNotFound, v, path, rev)
	}
	return e, nil
}

// Cat opens the package at path in rev. The reader verifies the content's
// digest and fails before its end if the stored bytes are corrupt.
func (s *Store) Cat(ctx context.Context, rev, path string) (io.ReadCloser, Record, error) {
	e, err := s.Stat(ctx, rev, path)
	if err != nil {
		return nil, e, err
	}
	r, err := s.objects.OpenBlob(ctx, e.SHA256)
	if err != nil {
		return nil, e, fmt.Errorf("%s: %w", path, err)
	}
	return r, e, nil
}

// DiffResult lists the paths that differ between two versions.
type DiffResult struct {
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	Changed []string `json:"changed"`
}

// Empty reports whether the versions hold the same packages.
func (d *DiffResult) Empty() bool {
	return len(d.Added)+len(d.Removed)+len(d.Changed) == 0
}

// Diff compares two revisions; its cost follows the size of the difference.
func (s *Store) Diff(ctx context.Context, from, to string) (*DiffResult, error) {
	a, err := s.Resolve(ctx, from)
	if err != nil {
		return nil, err
	}
	b, err := s.Resolve(ctx, to)
	if err != nil {
		return nil, err
	}
	d := &DiffResult{Added: []string{}, Removed: []string{}, Changed: []string{}}
	err = tree.Diff(ctx, s.objects, a.Tree, b.Tree, func(o, n *tree.Entry) error {
		switch {
		case o == nil:
			d.Added = append(d.Added, n.Path)
		case n == nil:
			d.Removed = append(d.Removed, o.Path)
		default:
			d.Changed = append(d.Changed, n.Path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(d.Added)
	sort.Strings(d.Removed)
	sort.Strings(d.Changed)
	return d, nil
}

// Rollback makes a new version of repo whose content is rev's.
func (s *Store) Rollback(ctx context.Context, repoName, rev string) (*CommitResult, error) {
	ctx, release, err := s.objects.Lease(ctx) // see GC
	if err != nil {
		return nil, err
	}
	defer release()
	target, err := s.Resolve(ctx, rev)
	if err != nil {
		return nil, err
	}
	st, err := s.loadRepo(ctx, repoName)
	if err != nil {
		return nil, err
	}
	if err := s.checkKind(ctx, true, target, st); err != nil {
		return nil, err
	}
	res := &CommitResult{Repo: repoName}
	number := 1
	c := &Commit{Tree: target.Tree, Time: s.now(), Author: s.whoFor(ctx), Message: "rollback to " + rev, Kind: st.config.Kind}
	if !st.head.IsZero() {
		head, err := s.version(ctx, st.head)
		if err != nil {
			return nil, err
		}
		if head.Tree == target.Tree {
			res.Version, res.ID = head.Number, head.ID
			return res, nil // already has that content
		}
		number = head.Number + 1
		c.Parents = append(c.Parents, head.ID)
	}
	c.Version = number
	b := s.objects.NewBatch()
	defer b.Abort()
	id, err := s.writeCommit(ctx, b, c)
	if err != nil {
		return nil, err
	}
	if err := b.Flush(ctx); err != nil {
		return nil, err
	}
	if err := s.moveHeads(ctx, "rollback: "+repoName+" to "+rev, headMove{st: st, new: id}); err != nil {
		return nil, err
	}
	res.Version, res.ID, res.Changed = number, id, true
	res.NewObjects, res.NewBytes = b.Stats()
	return res, nil
}
