package upstream

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"io"
	"sync"

	"github.com/pkgvc/pkgvc/kinds/container"
	ocifmt "github.com/pkgvc/pkgvc/kinds/container/format"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/remote"
)

// Content an upstream names by a sha512 digest is recorded at its alias
// path (manifests/sha512/<hex>, blobs/sha512/<hex>), whose content is the
// blob of its SHA-256, so that it is served by the digest upstream
// gives. The sync engine fetches and verifies by SHA-256: the walker
// learns it from bytes it checked against the sha512 digest. A manifest
// is read while indexing anyway; a blob is read once more for it (a
// sha512 digest names its bytes for good, so the session remembers what
// it learned, and a re-sync by the same process reads it no more).

// maxAliases bounds the sha512 → sha256 mappings a session remembers.
const maxAliases = 1 << 16

// aliasCache maps sha512 digests to their content's SHA-256 and size.
type aliasCache struct {
	mu sync.Mutex
	m  map[string]aliasOf
}

type aliasOf struct {
	id   objects.ID
	size int64
}

func (c *aliasCache) get(d string) (aliasOf, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.m[d]
	return a, ok
}

func (c *aliasCache) put(d string, a aliasOf) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxAliases {
		c.m = make(map[string]aliasOf)
	}
	c.m[d] = a
}

// isSHA512 reports whether d is a sha512 digest (the parser checked its
// form), and returns its hex.
func isSHA512(d string) (string, bool) {
	alg, hx, err := ocifmt.ParseDigestAlg(d)
	return hx, err == nil && alg == ocifmt.SHA512
}

// claimAlias reports whether manifest d is not walked yet, and marks it.
func (w *walker) claimAlias(d string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.claimedAlias[d] {
		return false
	}
	w.claimedAlias[d] = true
	return true
}

// manifest512 resolves a manifest by its sha512 digest d: the registry's
// answer is checked against it, recorded at its alias path and walked.
func (w *walker) manifest512(ctx context.Context, d, hx string) error {
	if !w.claimAlias(d) {
		return nil
	}
	got, err := w.sess.puller.Get(ctx, w.o.repo.Digest(d))
	if err != nil {
		return fmt.Errorf("manifest %s: %w", d, notFound(err))
	}
	data := got.Manifest
	if len(data) > MaxManifestSize {
		return fmt.Errorf("manifest %s of %d bytes: more than %d", d, len(data), MaxManifestSize)
	}
	if sum := sha512.Sum512(data); hex.EncodeToString(sum[:]) != hx {
		return fmt.Errorf("manifest %s: %w: upstream sent sha512:%x", d, remote.ErrDigestMismatch, sum)
	}
	m, err := parseManifest(data)
	if err != nil {
		return fmt.Errorf("manifest %s: %w", d, err)
	}
	id := objects.ID(sha256.Sum256(data))
	return w.walkAt(ctx, container.Manifests512Dir+hx, w.manifestURLOf(d), id, data, m)
}

// blob512 returns the record of a blob upstream names by sha512: its
// SHA-256 and size, remembered or learned by reading it once, checked
// against the digest and the descriptor's size.
func (w *walker) blob512(ctx context.Context, b ocifmt.Descriptor, hx string) (remote.Package, error) {
	p := remote.Package{Path: container.Blobs512Dir + hx, URL: w.blobURLOf(b.Digest), Size: b.Size,
		Metadata: map[string]string{MetaMediaType: b.MediaType}}
	if a, ok := w.sess.aliases.get(b.Digest); ok && a.size == b.Size {
		p.SHA256 = a.id
		return p, nil
	}
	c, err := w.sess.blobClient(ctx)
	if err != nil {
		return remote.Package{}, err
	}
	rc, err := c.Open(ctx, p.URL, b.Size)
	if err != nil {
		return remote.Package{}, fmt.Errorf("blob %s: %w", b.Digest, notFound(err))
	}
	defer rc.Close()
	h256, h512 := sha256.New(), sha512.New()
	n, err := io.Copy(io.MultiWriter(h256, h512), io.LimitReader(rc, b.Size+1))
	if err != nil {
		return remote.Package{}, fmt.Errorf("blob %s: %w", b.Digest, err)
	}
	if n != b.Size || hex.EncodeToString(h512.Sum(nil)) != hx {
		return remote.Package{}, fmt.Errorf("blob %s: %w: upstream sent %d bytes of sha512:%x", b.Digest, remote.ErrDigestMismatch, n, h512.Sum(nil))
	}
	p.SHA256 = objects.ID(h256.Sum(nil))
	w.sess.aliases.put(b.Digest, aliasOf{p.SHA256, b.Size})
	return p, nil
}

func (w *walker) blobURLOf(d string) string {
	return w.o.base + "/v2/" + w.o.repo.RepositoryStr() + "/blobs/" + d
}

func (w *walker) manifestURLOf(d string) string {
	return w.o.base + "/v2/" + w.o.repo.RepositoryStr() + "/manifests/" + d
}
