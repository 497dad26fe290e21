package uploads

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/objects"
)

// A protocol may name content by a digest of another algorithm than the
// store's SHA-256. Finish then hashes the bytes with it too, in the same
// pass (FinishOptions.Hash), and records the name as an alias of the
// blob for as long as the upload's own record (MarkAlias), so that the
// blob is found by that name before a version names it.

// aliasPrefix keys alias/<by hash>/<name hash>.
const aliasPrefix = "uploads/alias/"

// HashError is finished content whose FinishOptions.Hash sum is not the
// one wanted; nothing was kept.
type HashError struct {
	ID        string
	Got, Want []byte
}

func (e *HashError) Error() string {
	return fmt.Sprintf("upload %s: digest %x, not %x: upload dropped", e.ID, e.Got, e.Want)
}

// Unwrap makes a *HashError match ErrDigest.
func (e *HashError) Unwrap() error { return ErrDigest }

// aliasDoc records a blob known to by under name.
type aliasDoc struct {
	By      string     `json:"by"`
	Name    string     `json:"name"`
	Blob    objects.ID `json:"blob"`
	Expires time.Time  `json:"expires"`
}

func aliasKey(by, name string) string {
	hb := sha256.Sum256([]byte(by))
	hn := sha256.Sum256([]byte(name))
	return aliasPrefix + hex.EncodeToString(hb[:16]) + "/" + hex.EncodeToString(hn[:])
}

// MarkAlias records that by holds blob under name (another digest of its
// bytes, which the caller verified), for the engine's TTL.
func (e *Engine) MarkAlias(ctx context.Context, by, name string, blob objects.ID) error {
	key := aliasKey(by, name)
	doc := aliasDoc{By: by, Name: name, Blob: blob, Expires: e.now().Add(e.ttl).UTC()}
	if err := e.overwrite(ctx, key, doc); err != nil {
		return fmt.Errorf("record alias %s of %s: %w", name, blob, err)
	}
	return nil
}

// Alias returns the blob by holds under name, recorded within the TTL.
func (e *Engine) Alias(ctx context.Context, by, name string) (objects.ID, bool, error) {
	var d aliasDoc
	_, err := meta.GetJSON(ctx, e.m, aliasKey(by, name), &d)
	if errors.Is(err, meta.ErrNotFound) {
		return objects.ID{}, false, nil
	}
	if err != nil {
		return objects.ID{}, false, err
	}
	if d.By != by || d.Name != name || !e.now().Before(d.Expires) {
		return objects.ID{}, false, nil
	}
	return d.Blob, true, nil
}
