package repo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/objects"
)

// DefaultGrace is how young an unreachable object must be to survive gc: a
// commit or an upload in flight in another process writes its objects before
// its ref moves.
const DefaultGrace = time.Hour

// GCOptions configures a collection.
type GCOptions struct {
	Grace  time.Duration // 0 means DefaultGrace; negative means no grace
	DryRun bool
}

// GCResult reports a collection.
type GCResult struct {
	ReachableObjects int   `json:"reachable_objects"`
	ReachableBlobs   int   `json:"reachable_blobs"`
	DeletedObjects   int   `json:"deleted_objects"`
	DeletedBlobs     int   `json:"deleted_blobs"`
	FreedBytes       int64 `json:"freed_bytes"`
	KeptYoung        int   `json:"kept_young"`   // unreachable but inside the grace period
	TempFiles        int   `json:"temp_files"`   // left behind by crashed writers
	PinnedBlobs      int   `json:"pinned_blobs"` // kept by pins (uploads awaiting their commit), reachable or not
	ExpiredPins      int   `json:"expired_pins"` // deleted (dry run: would be)
}

// GC deletes objects and blobs that no ref, counted reflog entry or
// unexpired pin reaches and that are older than the grace period.
//
// It is safe beside writers in this and other processes whatever the
// grace, even none: the mark holds the object store's collector lock
// (objects.Store.Collect), which waits for the writers' leases and holds
// new ones back, and the sweep deletes only what was last modified at or
// before the mark began, so that a blob a writer references afterwards
// (objects.Store.Reference) stays. What a writer names without writing it
// (an old version promoted, rolled back to or pinned by id) is kept by a
// second, short mark with leases held back again: it walks the roots anew
// before anything is deleted. See package objects, "Writers and the
// garbage collector".
func (s *Store) GC(ctx context.Context, o GCOptions) (*GCResult, error) {
	grace := o.Grace
	if grace == 0 {
		grace = DefaultGrace
	}
	if grace < 0 {
		grace = 0
	}
	// Before the mark: dropping a head moves a ref, which takes a lease
	// the mark would hold back.
	if !o.DryRun {
		if err := s.dropOrphanHeads(ctx); err != nil {
			return nil, fmt.Errorf("gc: %w", err)
		}
		if err := s.dropStalePublications(ctx); err != nil {
			return nil, fmt.Errorf("gc: %w", err)
		}
	}
	epoch, endMark, err := s.objects.Collect(ctx)
	if err != nil {
		return nil, fmt.Errorf("gc: %w", err)
	}
	marking := true
	defer func() {
		if marking {
			endMark()
		}
	}()
	// Deleted: what was last modified at or before cutoff.
	cutoff := s.now().Add(-grace)
	if epoch.Before(cutoff) {
		cutoff = epoch
	}
	pinned, expired, err := s.pinnedBlobs(ctx)
	if err != nil {
		return nil, fmt.Errorf("gc: mark: %w (nothing was deleted)", err)
	}
	r, err := s.newReach(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.roots(ctx); err != nil {
		return nil, fmt.Errorf("gc: mark: %w (nothing was deleted; run `pkgvc fsck`)", err)
	}
	// Refs written without a lease (configuration documents) may have
	// moved while marking; walk them again (cheap: seen subtrees are
	// skipped).
	if err := r.roots(ctx); err != nil {
		return nil, fmt.Errorf("gc: mark: %w (nothing was deleted)", err)
	}
	for id := range pinned {
		r.blobs[id] = true
	}
	marking = false
	endMark()
	res := &GCResult{ReachableObjects: len(r.objs), ReachableBlobs: len(r.blobs), PinnedBlobs: len(pinned), ExpiredPins: len(expired)}
	olderThan := cutoff.Add(time.Nanosecond)
	// The candidates are listed with writers going on.
	candidates := func(list func(context.Context, func(objects.ID, objects.Info) error) error, marked map[objects.ID]bool) ([]candidate, error) {
		var out []candidate
		err := list(ctx, func(id objects.ID, info objects.Info) error {
			switch {
			case marked[id]:
			case !info.ModTime.Before(olderThan):
				res.KeptYoung++
			default:
				out = append(out, candidate{id, info.Size})
			}
			return nil
		})
		return out, err
	}
	deadObjects, err := candidates(s.objects.ListObjects, r.objs)
	if err != nil {
		return res, fmt.Errorf("gc: sweep objects: %w", err)
	}
	deadBlobs, err := candidates(s.objects.ListBlobs, r.blobs)
	if err != nil {
		return res, fmt.Errorf("gc: sweep blobs: %w", err)
	}
	if o.DryRun {
		for _, c := range deadObjects {
			res.DeletedObjects++
			res.FreedBytes += c.size
		}
		for _, c := range deadBlobs {
			res.DeletedBlobs++
			res.FreedBytes += c.size
		}
		return res, nil
	}
	// Since the mark a writer may have named a candidate: an old version
	// promoted, rolled back to or pinned by id. Writers hold a lease from
	// reading what they name until their ref or pin lands, so with leases
	// held back again the roots show every such name: walk them again
	// (seen subtrees are skipped) and delete only what is still unreached.
	// Writers wait meanwhile, so the candidates go in chunks, each with its
	// own walk: a writer waits for one chunk, not for the whole sweep.
	del := func(dead []candidate, marked map[objects.ID]bool, del func(context.Context, objects.ID, time.Time) (bool, error), count *int) error {
		for len(dead) > 0 {
			chunk := dead[:min(len(dead), sweepChunkSize)]
			dead = dead[len(chunk):]
			if err := s.sweepChunk(ctx, r, chunk, marked, olderThan, del, count, &res.FreedBytes); err != nil {
				return err
			}
		}
		return nil
	}
	if err := del(deadObjects, r.objs, s.objects.DeleteObject, &res.DeletedObjects); err != nil {
		return res, fmt.Errorf("gc: sweep objects: %w", err)
	}
	if err := del(deadBlobs, r.blobs, s.objects.DeleteBlob, &res.DeletedBlobs); err != nil {
		return res, fmt.Errorf("gc: sweep blobs: %w", err)
	}
	for _, op := range expired {
		err := meta.DeleteIf(ctx, s.meta, op.Key, op.Old)
		if errors.Is(err, meta.ErrConflict) || errors.Is(err, meta.ErrNotFound) {
			res.ExpiredPins-- // changed or removed meanwhile
			continue
		}
		if err != nil {
			return res, fmt.Errorf("gc: delete expired pin: %w", err)
		}
	}
	n, err := s.objects.CleanTemp(ctx, olderThan)
	if err != nil {
		return res, fmt.Errorf("gc: %w", err)
	}
	res.TempFiles = n
	return res, nil
}

// sweepChunkSize is how many candidates gc deletes with writers held back.
const sweepChunkSize = 2048

// candidate is an object or blob gc may delete.
type candidate struct {
	id   objects.ID
	size int64
}

// sweepChunk deletes the candidates that the roots and pins, walked again
// with writers held back, still do not reach.
func (s *Store) sweepChunk(ctx context.Context, r *reach, chunk []candidate, marked map[objects.ID]bool, olderThan time.Time,
	del func(context.Context, objects.ID, time.Time) (bool, error), count *int, freed *int64) error {
	_, end, err := s.objects.Collect(ctx)
	if err != nil {
		return err
	}
	defer end()
	if err := s.remark(ctx, r); err != nil {
		return fmt.Errorf("mark again: %w (nothing more was deleted)", err)
	}
	for _, c := range chunk {
		if marked[c.id] {
			continue
		}
		ok, err := del(ctx, c.id, olderThan)
		if errors.Is(err, objects.ErrNotFound) {
			continue // another collector took it
		}
		if err != nil {
			return err
		}
		if ok {
			*count++
			*freed += c.size
		}
	}
	return nil
}

// remark adds to r what the roots and pins reach now.
func (s *Store) remark(ctx context.Context, r *reach) error {
	pinned, _, err := s.pinnedBlobs(ctx)
	if err != nil {
		return err
	}
	for id := range pinned {
		r.blobs[id] = true
	}
	return r.roots(ctx)
}
