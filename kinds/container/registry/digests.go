package registry

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/kinds/container"
	ociformat "github.com/pkgvc/pkgvc/kinds/container/format"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/uploads"
)

// digestRef is a blob or manifest digest a client uses: sha256, the
// store's own, or sha512, an alias of the SHA-256 blob (see
// container's alias.go). Responses carry the digest the client used.
type digestRef struct{ alg, hex string }

func parseDigestRef(s string) (digestRef, error) {
	alg, hx, err := ociformat.ParseDigestAlg(s)
	return digestRef{alg, hx}, err
}

func (d digestRef) String() string { return d.alg + ":" + d.hex }

// isAlias reports whether d is no SHA-256, so names its blob by alias.
func (d digestRef) isAlias() bool { return d.alg != ociformat.SHA256 }

func (d digestRef) blobPath() string     { return container.BlobPathOf(d.alg, d.hex) }
func (d digestRef) manifestPath() string { return container.ManifestPathOf(d.alg, d.hex) }

// id is the blob id of a sha256 digest.
func (d digestRef) id() objects.ID {
	if d.isAlias() {
		return objects.ID{}
	}
	id, _ := objects.ParseID(d.hex)
	return id
}

// hasher returns a fresh hash of d's algorithm (sha512: the only alias
// one) and the sum d names.
func (d digestRef) hasher() (hash.Hash, []byte) {
	want, _ := hex.DecodeString(d.hex)
	return sha512.New(), want
}

// digestOf is data's digest in the algorithm of d.
func (d digestRef) digestOf(data []byte) string { return ociformat.DigestOf(d.alg, data) }

// finishOptions asks the upload engine to check an alias digest while it
// stores the bytes, and to record the alias for the repository.
func (d digestRef) finishOptions(o uploads.FinishOptions) uploads.FinishOptions {
	if d.isAlias() {
		o.Hash, o.HashWant = d.hasher()
		o.Alias = d.String()
	}
	return o
}

// findBlobDigest looks blob d up in the distribution (holdsDigest).
func (q *request) findBlobDigest(ctx context.Context, d digestRef) (repo.Record, bool, error) {
	return q.g.holdsDigest(ctx, q.t, d)
}

// uploadedAlias returns the blob uploaded (or mounted) into repository rp
// under alias d lately.
func (g *registry) uploadedAlias(ctx context.Context, rp string, d digestRef) (objects.ID, bool, error) {
	if g.up == nil || rp == "" || !d.isAlias() {
		return objects.ID{}, false, nil
	}
	return g.up.Alias(ctx, pushedBy(rp), d.String())
}

// markAlias records alias d of blob id as pushed into the repository.
func (q *request) markAlias(ctx context.Context, d digestRef, id objects.ID) error {
	if !d.isAlias() {
		return nil
	}
	return q.g.up.MarkAlias(ctx, pushedBy(q.t.Dist.Repo), d.String(), id)
}

// aliasReader hashes what it reads in d's algorithm, for a monolithic
// upload; check tells whether the bytes had digest d.
type aliasReader struct {
	io.Reader
	h    hash.Hash
	want []byte
}

func newAliasReader(r io.Reader, d digestRef) *aliasReader {
	if !d.isAlias() {
		return &aliasReader{Reader: r}
	}
	h, want := d.hasher()
	return &aliasReader{Reader: io.TeeReader(r, h), h: h, want: want}
}

func (a *aliasReader) check(id objects.ID, d digestRef) bool {
	if a.h == nil {
		return id.String() == d.hex
	}
	return bytes.Equal(a.h.Sum(nil), a.want)
}

// holdsDigest looks blob d up in distribution t as holds does: a sha512
// d by its alias records in the version, else by the alias uploaded into t's repository, then as
// its SHA-256 is, so that one rule decides what a GET or a mount finds.
func (g *registry) holdsDigest(ctx context.Context, t *content.Target, d digestRef) (repo.Record, bool, error) {
	if !d.isAlias() {
		return g.holds(ctx, t, d.hex)
	}
	for _, p := range []string{d.blobPath(), d.manifestPath()} {
		rec, found, err := t.Lookup(ctx, p)
		if err != nil || found {
			return rec, found, err
		}
	}
	id, ok, err := g.uploadedAlias(ctx, t.Dist.Repo, d)
	if err != nil || !ok {
		return repo.Record{}, false, err
	}
	return g.holds(ctx, t, id.String())
}

// hashMismatch is the message of a blob whose content, of SHA-256 got,
// is not digest d.
func hashMismatch(d digestRef, got objects.ID) string {
	if !d.isAlias() {
		return fmt.Sprintf("the uploaded content has digest sha256:%s, not %s; nothing was kept", got, d)
	}
	return fmt.Sprintf("the uploaded content does not have digest %s; nothing was kept", d)
}

// servedDigest is the Docker-Content-Digest of manifest record rec found
// by ref: the digest asked for, or the one a tag records.
func servedDigest(ref reference, rec repo.Record) string {
	if ref.tag == "" {
		return ref.d.String()
	}
	if d := rec.Metadata[container.MetaDigest]; d != "" {
		return d
	}
	return "sha256:" + rec.SHA256.String()
}

// prefixer reads the records of a version under a prefix: a
// distribution's (content.Target) or a commit's head (repo.HeadView).
type prefixer interface {
	Prefix(ctx context.Context, prefix string, fn func(repo.Record) error) error
}

// eachManifest calls fn with each manifest record of the version, of
// either digest, read by prefix: the tags and blobs are not listed.
func (q *request) eachManifest(ctx context.Context, fn func(repo.Record) error) error {
	return eachManifestOf(ctx, q.t, fn)
}

// eachManifestOf is eachManifest in version v.
func eachManifestOf(ctx context.Context, v prefixer, fn func(repo.Record) error) error {
	for _, prefix := range []string{container.ManifestsDir, container.Manifests512Dir} {
		if err := v.Prefix(ctx, prefix, fn); err != nil {
			return err
		}
	}
	return nil
}

// blobSizeDigest returns the blob and size of blob d for a manifest that
// references it, as blobSize does; a sha512 d by its alias record in the
// version, else by the alias its upload recorded. The alias record the
// manifest's version gets is committed as trusted, its layer not read
// again: safe, since an alias is recorded only once its sha512 was
// checked, while the upload streamed (finishUpload, storeBlob) or when a
// version took it (a mount copies one a version holds).
func (q *request) blobSizeDigest(ctx context.Context, d digestRef) (objects.ID, int64, bool, error) {
	if !d.isAlias() {
		size, ok, err := q.blobSize(ctx, d.id())
		return d.id(), size, ok, err
	}
	rec, found, err := q.t.Lookup(ctx, d.blobPath())
	if err != nil {
		return objects.ID{}, 0, false, err
	}
	if found {
		return rec.SHA256, rec.Size, true, nil // the version holds it, as blobSize trusts
	}
	id, ok, err := q.g.uploadedAlias(ctx, q.t.Dist.Repo, d)
	if err != nil || !ok {
		return objects.ID{}, 0, false, err
	}
	size, ok, err := q.blobSize(ctx, id)
	return id, size, ok, err
}
