package repo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/objects"
)

// PendingWindow is how long a blob stored for a commit that has not come
// yet is kept: a finished API upload (and the right of its token to commit
// it) and a blob pushed to an OCI registry before its manifest. Both pin
// the blob for this long; gc keeps a pinned blob whatever its grace.
const PendingWindow = 24 * time.Hour

// pinPrefix is where blob pins live in the metadata store:
// blob-pins/<hex blob id>/<pin id>, valued a pinDoc. (Pins of versions,
// which documents hold, are under PinPrefix.)
const pinPrefix = "blob-pins/"

// pinDoc is a stored pin.
type pinDoc struct {
	Expires time.Time `json:"expires"`
	Reason  string    `json:"reason"`
}

// Pin keeps blob from gc for ttl, whatever gc's grace period, for a
// version that will name it later (an upload awaiting its commit). It
// references the blob as a version being built does (so a sweep running
// now keeps it too) and fails with an error wrapping objects.ErrNotFound if
// the blob is gone. It returns the pin's id, for Unpin.
//
// A pin simply expires: a commit that names the blob does not remove it,
// since another upload of the same content may still await its own
// commit. gc deletes expired pins.
func (s *Store) Pin(ctx context.Context, blob objects.ID, reason string, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		return "", fmt.Errorf("%w: pin for %s: ttl must be positive", ErrInvalid, ttl)
	}
	ctx, release, err := s.objects.Lease(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	if err := s.objects.Reference(ctx, blob); err != nil {
		return "", err
	}
	var raw [8]byte
	_, _ = rand.Read(raw[:]) // never fails (crypto/rand)
	id := hex.EncodeToString(raw[:])
	data, err := json.Marshal(pinDoc{Expires: s.now().Add(ttl).UTC(), Reason: reason})
	if err != nil {
		return "", err
	}
	if _, err := meta.PutIf(ctx, s.meta, pinKey(blob, id), data, ""); err != nil {
		return "", fmt.Errorf("pin blob %s: %w", blob, err)
	}
	return id, nil
}

// Unpin removes pin id of blob; a pin that is gone (expired and
// collected) is no error.
func (s *Store) Unpin(ctx context.Context, blob objects.ID, id string) error {
	key := pinKey(blob, id)
	for {
		_, rev, err := s.meta.Get(ctx, key)
		if errors.Is(err, meta.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("unpin blob %s: %w", blob, err)
		}
		err = meta.DeleteIf(ctx, s.meta, key, rev)
		if errors.Is(err, meta.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("unpin blob %s: %w", blob, err)
		}
		return nil
	}
}

// UnpinReason removes the pins of blob given for reason (Pin's reason),
// whoever gave them; other pins stay. It reports how many went.
func (s *Store) UnpinReason(ctx context.Context, blob objects.ID, reason string) (int, error) {
	var ids []string
	err := s.meta.List(ctx, pinPrefix+blob.String()+"/", func(key string, value []byte, _ meta.Rev) error {
		var p pinDoc
		if json.Unmarshal(value, &p) == nil && p.Reason == reason {
			ids = append(ids, key[strings.LastIndexByte(key, '/')+1:])
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("unpin blob %s: %w", blob, err)
	}
	for _, id := range ids {
		if err := s.Unpin(ctx, blob, id); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// Pinned reports whether blob has a pin that has not expired.
func (s *Store) Pinned(ctx context.Context, blob objects.ID) (bool, error) {
	pinned := false
	now := s.now()
	err := s.meta.List(ctx, pinPrefix+blob.String()+"/", func(_ string, value []byte, _ meta.Rev) error {
		var p pinDoc
		if json.Unmarshal(value, &p) == nil && p.Expires.After(now) {
			pinned = true
		}
		return nil
	})
	return pinned, err
}

func pinKey(blob objects.ID, id string) string { return pinPrefix + blob.String() + "/" + id }

// pinnedBlobs returns the blobs with a pin that has not expired, and the
// keys (with revisions) of the expired pins.
func (s *Store) pinnedBlobs(ctx context.Context) (map[objects.ID]bool, []meta.Op, error) {
	live := map[objects.ID]bool{}
	var expired []meta.Op
	now := s.now()
	err := s.meta.List(ctx, pinPrefix, func(key string, value []byte, rev meta.Rev) error {
		rest := strings.TrimPrefix(key, pinPrefix)
		h, _, _ := strings.Cut(rest, "/")
		id, err := objects.ParseID(h)
		if err != nil {
			return nil // not a pin this pkgvc wrote: leave it
		}
		var p pinDoc
		if err := json.Unmarshal(value, &p); err != nil {
			// Unreadable: keep the blob, as a pin would, and the key.
			live[id] = true
			return nil
		}
		if p.Expires.After(now) {
			live[id] = true
		} else {
			expired = append(expired, meta.Op{Key: key, Old: rev})
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read pins: %w", err)
	}
	return live, expired, nil
}
