package repo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// reach walks everything the refs keep alive, once each: versions, tree
// objects, blobs. gc marks with it; fsck verifies with it.
type reach struct {
	s       *Store
	objs    map[objects.ID]bool
	blobs   map[objects.ID]bool
	global  map[objects.ID]bool
	onBlob  func(ctx context.Context, e tree.Entry)
	problem func(what string, err error) error
	// onVersion, if set, is called for each version a repository's
	// history keeps (st is that repository) and each version another ref
	// names (st nil); a kind it returns has the version's records checked
	// against it (see checkRecord), and the problems reported.
	onVersion func(ctx context.Context, st *repoState, v *Version) (Kind, error)
	// checked holds the tree objects whose records were checked, per kind.
	checked map[kindTree]bool
	// skipTrees walks versions only.
	skipTrees bool
}

type kindTree struct {
	kind string
	id   objects.ID
}

func (s *Store) newReach(ctx context.Context) (*reach, error) {
	global, err := s.shallowMarkers(ctx)
	if err != nil {
		return nil, err
	}
	return &reach{s: s, objs: map[objects.ID]bool{}, blobs: map[objects.ID]bool{}, global: global, checked: map[kindTree]bool{},
		problem: func(_ string, err error) error { return err }}, nil
}

// roots walks from every repository, every pin, every other ref, and from
// the reflog entries that still count.
func (r *reach) roots(ctx context.Context) error {
	var repos []string
	if err := r.s.meta.List(ctx, repoPrefix, func(key string, _ []byte, _ meta.Rev) error {
		repos = append(repos, strings.TrimPrefix(key, repoPrefix))
		return nil
	}); err != nil {
		return err
	}
	for _, name := range repos {
		if err := r.repo(ctx, name); err != nil {
			return err
		}
	}
	pins, err := r.s.pinned(ctx)
	if err != nil {
		return err
	}
	for key, ids := range pins {
		for _, id := range ids {
			if err := r.pin(ctx, key, id); err != nil {
				return err
			}
		}
	}
	type ref struct {
		name string
		id   objects.ID
	}
	var all []ref
	if err := r.s.refs.List(ctx, "", func(name string, id objects.ID) error {
		all = append(all, ref{name, id})
		return nil
	}); err != nil {
		return err
	}
	for _, rf := range all {
		var err error
		switch {
		case strings.HasPrefix(rf.name, shallowPrefix):
			continue // a marker, it keeps nothing alive
		case strings.HasPrefix(rf.name, "config/"):
			// A document of a store not yet upgraded (fsck reads those).
			r.objs[rf.id] = true
			if _, gerr := r.s.objects.GetObject(ctx, rf.id); gerr != nil {
				err = r.problem(rf.name, gerr)
			}
		case strings.HasPrefix(rf.name, "repos/"):
			continue // walked with its configuration, if it has one
		case strings.HasPrefix(rf.name, PublicationRefPrefix):
			err = r.tree(ctx, rf.id) // generated files: blobs
		default:
			err = r.object(ctx, rf.id, r.s.walkHistory(r.global))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// repo walks one repository: configuration, head, and reflog entries newer
// than its last retention prune.
func (r *reach) repo(ctx context.Context, name string) error {
	st, err := r.s.loadRepo(ctx, name)
	if errors.Is(err, ErrRepoNotFound) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return r.problem("repository "+name, err)
	}
	h := r.s.walkHistory(r.global)
	for _, id := range st.config.Shallow {
		h.own[id] = true
	}
	if !st.head.IsZero() {
		if err := r.commit(ctx, st.head, h, st); err != nil {
			return err
		}
	}
	log, err := r.s.reflog(ctx, headRef(name))
	if err != nil {
		return err
	}
	for _, e := range log {
		if e.Time.Before(st.config.PrunedAt) {
			break // newest first: the rest is older still
		}
		if isRepoDeletion(e) {
			break // the rest is of a repository of this name deleted since
		}
		for _, id := range []objects.ID{e.New, e.Old} {
			if id.IsZero() || h.expanded[id] {
				continue
			}
			if ok, err := r.s.objects.HasObject(ctx, id); err != nil || !ok {
				continue // collected by an earlier gc
			}
			if err := r.commit(ctx, id, h, st); err != nil {
				return err
			}
		}
	}
	return nil
}

// pin walks a version a pin names, with its whole history.
func (r *reach) pin(ctx context.Context, key string, id objects.ID) error {
	if _, err := r.s.objects.GetObject(ctx, id); err != nil {
		return r.problem(key, fmt.Errorf("version %s: %w", id, err))
	}
	return r.object(ctx, id, r.s.walkHistory(r.global))
}

// object walks a ref's target: a version, or any other small object.
func (r *reach) object(ctx context.Context, id objects.ID, h *history) error {
	data, err := r.s.objects.GetObject(ctx, id)
	if err != nil {
		return r.problem("object "+id.String(), err)
	}
	if isCommit(data) {
		return r.commit(ctx, id, h, nil)
	}
	r.objs[id] = true
	return nil
}

// commit walks a version and its ancestry, stopping at versions this
// history has walked and at its retention boundaries. Each history keeps its
// own record of walked versions: a version one repository keeps only as its
// retention boundary may be full history for another. Trees and blobs are
// shared, so walking a version twice costs one small read. st is the
// repository whose history h is, nil for another ref.
func (r *reach) commit(ctx context.Context, start objects.ID, h *history, st *repoState) error {
	stack := []objects.ID{start}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if h.expanded[id] {
			continue
		}
		first := !r.objs[id]
		r.objs[id] = true
		v, err := r.s.version(ctx, id)
		if err != nil {
			if first {
				if err := r.problem("version "+id.String(), err); err != nil {
					return err
				}
			}
			continue
		}
		var kind Kind
		if r.onVersion != nil {
			if kind, err = r.onVersion(ctx, st, v); err != nil {
				return err
			}
		}
		switch {
		case r.skipTrees:
		case kind != nil:
			if err := r.kindTree(ctx, v, kind, v.Tree); err != nil {
				return err
			}
		case first:
			if err := r.tree(ctx, v.Tree); err != nil {
				return err
			}
		}
		stop, err := h.stopsAt(ctx, v)
		if err != nil {
			return err
		}
		if !stop {
			h.expanded[id] = true
			stack = append(stack, v.Parents...)
		}
	}
	return nil
}

func (r *reach) tree(ctx context.Context, id objects.ID) error {
	if r.objs[id] {
		return nil
	}
	r.objs[id] = true
	leaf, children, err := tree.ReadNode(ctx, r.s.objects, id)
	if err != nil {
		return r.problem("tree "+id.String(), err)
	}
	for _, e := range leaf {
		if r.blobs[e.SHA256] {
			continue
		}
		r.blobs[e.SHA256] = true
		if r.onBlob != nil {
			r.onBlob(ctx, e)
		}
	}
	for _, c := range children {
		if err := r.tree(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// kindTree walks a tree object as tree does, and also checks its records
// against kind once per kind, reporting each refused record as a problem of
// version v (the first version found holding it).
func (r *reach) kindTree(ctx context.Context, v *Version, kind Kind, id objects.ID) error {
	key := kindTree{kind.Name(), id}
	if r.checked[key] {
		return nil
	}
	r.checked[key] = true
	seen := r.objs[id]
	r.objs[id] = true
	leaf, children, err := tree.ReadNode(ctx, r.s.objects, id)
	if err != nil {
		if seen {
			return nil // reported when first read
		}
		return r.problem("tree "+id.String(), err)
	}
	for _, e := range leaf {
		if err := checkRecord(kind, e); err != nil {
			if err := r.problem(fmt.Sprintf("version %s (kind %s)", v, kind.Name()), err); err != nil {
				return err
			}
		}
		if err := r.s.checkContent(ctx, kind, e); err != nil {
			if err := r.problem(fmt.Sprintf("version %s (kind %s)", v, kind.Name()), err); err != nil {
				return err
			}
		}
		if r.blobs[e.SHA256] {
			continue
		}
		r.blobs[e.SHA256] = true
		if r.onBlob != nil {
			r.onBlob(ctx, e)
		}
	}
	for _, c := range children {
		if err := r.kindTree(ctx, v, kind, c); err != nil {
			return err
		}
	}
	return nil
}

func describe(what string, err error) string { return fmt.Sprintf("%s: %v", what, err) }
