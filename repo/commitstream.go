package repo

import (
	"context"
	"errors"
	"fmt"

	"github.com/pkgvc/pkgvc/internal/parallel"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// streamChunk is how many streamed records are checked at once.
const streamChunk = 256

// commitStream is Commit of req.Changes (see CommitRequest.Changes).
func (s *Store) commitStream(ctx context.Context, repoName string, req CommitRequest) (*CommitResult, error) {
	if len(req.Adds)+len(req.Records)+len(req.Removes)+len(req.Updates)+len(req.Options) > 0 || req.NoReplace || req.InspectRecords || req.Precondition != nil {
		return nil, fmt.Errorf("%w: streamed changes take no adds, records, removals, updates or options, nor NoReplace, InspectRecords or Precondition", ErrInvalid)
	}
	ctx, release, err := s.objects.Lease(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	st, err := s.loadRepo(ctx, repoName)
	if err != nil {
		return nil, err
	}
	kind, err := s.kinds.Lookup(st.config.Kind)
	if err != nil {
		return nil, err
	}
	if _, ok := kind.(FileKeyer); ok && !req.FromUpstream {
		return nil, fmt.Errorf("%w: streamed changes to a %s repository must come from an upstream", ErrInvalid, st.config.Kind)
	}
	return s.retryCommit(ctx, repoName, st, req.Author, func(st *repoState, author string) (*CommitResult, error) {
		return s.commitStreamOnce(ctx, st, kind, req, author)
	})
}

// commitStreamOnce applies the streamed changes to the head as read in st
// and moves the head.
func (s *Store) commitStreamOnce(ctx context.Context, st *repoState, kind Kind, req CommitRequest, author string) (*CommitResult, error) {
	b := s.objects.NewBatch()
	defer b.Abort()
	v, err := s.nextVersion(ctx, st)
	if err != nil {
		return nil, err
	}
	var sets, removes int
	var pending []tree.Change
	changes := func(yield func(tree.Change) error) error {
		sets, removes, pending = 0, 0, pending[:0]
		flush := func() error {
			if err := s.prepareRecords(ctx, kind, pending, req.FillMetadata); err != nil {
				return err
			}
			for _, c := range pending {
				if err := yield(c); err != nil {
					return err
				}
			}
			clear(pending)
			pending = pending[:0]
			return nil
		}
		err := req.Changes(func(c tree.Change) error {
			if err := tree.ValidatePath(c.Path); err != nil {
				return fmt.Errorf("%w: %w", ErrInvalid, err)
			}
			if c.Entry == nil {
				removes++
			} else {
				sets++
				e := *c.Entry // filled below: the caller's record stays as it is
				c.Entry = &e
			}
			pending = append(pending, c)
			if len(pending) < streamChunk {
				return nil
			}
			return flush()
		})
		if err != nil {
			return err
		}
		return flush()
	}
	root, err := tree.ApplySorted(ctx, storeWriter{s.objects, b}, v.base, changes)
	if errors.Is(err, tree.ErrPathConflict) {
		return nil, fmt.Errorf("%w: %s: %w (remove one first)", ErrInvalid, st.name, err)
	}
	if err != nil {
		return nil, err
	}
	v.root = root
	return s.writeVersion(ctx, st, b, v, req, author, sets > 0, func() string { return summarize(sets, removes) })
}

// prepareRecords checks the records of cs as Commit checks records given
// by digest, references their blobs, and fills their metadata when fill
// is set, several at once.
func (s *Store) prepareRecords(ctx context.Context, kind Kind, cs []tree.Change, fill bool) error {
	return parallel.Do(ctx, len(cs), s.workers, func(ctx context.Context, i int) error {
		r := cs[i].Entry
		if r == nil {
			return nil
		}
		if err := checkPath(kind, r.Path); err != nil {
			return err
		}
		err := s.objects.Reference(ctx, r.SHA256)
		if errors.Is(err, objects.ErrNotFound) && IsOnDemand(*r) {
			// Fetched from its remote when first needed: nothing to
			// check the size of or fill from.
			return wrapInvalid(checkDigest(kind, r.Path, r.SHA256, r.Metadata))
		}
		if errors.Is(err, objects.ErrNotFound) {
			return fmt.Errorf("%w: %s: blob %s is not in the store; upload it first", ErrInvalid, r.Path, r.SHA256)
		}
		if err != nil {
			return err
		}
		if err := wrapInvalid(checkDigest(kind, r.Path, r.SHA256, r.Metadata)); err != nil {
			return err
		}
		st, err := s.objects.StatBlob(ctx, r.SHA256)
		if err != nil {
			return err
		}
		if st.Size != r.Size {
			return fmt.Errorf("%w: %s: blob %s has %d bytes, the record says %d", ErrInvalid, r.Path, r.SHA256, st.Size, r.Size)
		}
		if fill {
			return s.fillRecord(ctx, kind, r)
		}
		return nil
	})
}

func wrapInvalid(err error) error {
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}
