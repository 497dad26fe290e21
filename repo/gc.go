package repo

import (
	"context"
	"fmt"
	"time"

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
	KeptYoung        int   `json:"kept_young"` // unreachable but inside the grace period
	TempFiles        int   `json:"temp_files"` // left behind by crashed writers
}

// GC deletes objects and blobs that no ref or counted reflog entry reaches
// and that are older than the grace period.
func (s *Store) GC(ctx context.Context, o GCOptions) (*GCResult, error) {
	grace := o.Grace
	if grace == 0 {
		grace = DefaultGrace
	}
	if grace < 0 {
		grace = 0
	}
	cutoff := s.now().Add(-grace)
	if !o.DryRun {
		if err := s.dropOrphanHeads(ctx); err != nil {
			return nil, fmt.Errorf("gc: %w", err)
		}
	}
	r, err := s.newReach(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.roots(ctx); err != nil {
		return nil, fmt.Errorf("gc: mark: %w (nothing was deleted; run `pkgvc fsck`)", err)
	}
	// Refs may have moved while marking; walk them again (cheap: seen
	// subtrees are skipped) so that a version made meanwhile from old
	// objects keeps them.
	if err := r.roots(ctx); err != nil {
		return nil, fmt.Errorf("gc: mark: %w (nothing was deleted)", err)
	}
	res := &GCResult{ReachableObjects: len(r.objs), ReachableBlobs: len(r.blobs)}
	sweep := func(list func(context.Context, func(objects.ID, objects.Info) error) error, marked map[objects.ID]bool,
		del func(context.Context, objects.ID, time.Time) (bool, error), count *int) error {
		var dead []objects.Info
		var ids []objects.ID
		if err := list(ctx, func(id objects.ID, info objects.Info) error {
			if marked[id] {
				return nil
			}
			if !info.ModTime.Before(cutoff) {
				res.KeptYoung++
				return nil
			}
			dead, ids = append(dead, info), append(ids, id)
			return nil
		}); err != nil {
			return err
		}
		for i, id := range ids {
			if o.DryRun {
				*count++
				res.FreedBytes += dead[i].Size
				continue
			}
			ok, err := del(ctx, id, cutoff)
			if err != nil {
				return err
			}
			if ok {
				*count++
				res.FreedBytes += dead[i].Size
			}
		}
		return nil
	}
	if err := sweep(s.objects.ListObjects, r.objs, s.objects.DeleteObject, &res.DeletedObjects); err != nil {
		return res, fmt.Errorf("gc: sweep objects: %w", err)
	}
	if err := sweep(s.objects.ListBlobs, r.blobs, s.objects.DeleteBlob, &res.DeletedBlobs); err != nil {
		return res, fmt.Errorf("gc: sweep blobs: %w", err)
	}
	if !o.DryRun {
		n, err := s.objects.CleanTemp(ctx, cutoff)
		if err != nil {
			return res, fmt.Errorf("gc: %w", err)
		}
		res.TempFiles = n
	}
	return res, nil
}
