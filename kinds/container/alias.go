package container

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/pkgvc/pkgvc/kinds/container/format"
	"github.com/pkgvc/pkgvc/repo"
)

// A sha512 digest names the same stored blob as its SHA-256 one: records
// at blobs/sha512/<hex> and manifests/sha512/<hex> are aliases whose
// content (their SHA256) is that blob. Being records of the version,
// they go wherever versions go: gc keeps their blobs, promote and
// replication carry them, fsck reads them.
//
// The store computes no SHA-512, so CheckDigest cannot verify an alias
// from its record. Its content is checked where it is read anyway:
// Inspect (a file committed from the CLI, a record the REST API commits
// with InspectRecords) and fsck (repo.ContentChecker). The registry
// commits alias records it verified itself while the upload streamed,
// without reading a layer twice.
const (
	Blobs512Dir     = "blobs/sha512/"
	Manifests512Dir = "manifests/sha512/"
)

var _ repo.ContentChecker = Kind{}

// BlobPathOf is the path of the blob with alg digest hex (sha256 or
// sha512).
func BlobPathOf(alg, hex string) string { return "blobs/" + alg + "/" + hex }

// ManifestPathOf is the path of the manifest with alg digest hex.
func ManifestPathOf(alg, hex string) string { return "manifests/" + alg + "/" + hex }

// ManifestRef is the digest a client pulls manifest path p by
// ("sha256:<hex>", "sha512:<hex>"): ManifestPathOf the other way.
func ManifestRef(p string) string {
	rest := strings.TrimPrefix(p, "manifests/")
	alg, hx, _ := strings.Cut(rest, "/")
	return alg + ":" + hx
}

// aliasOf returns the sha512 hex an alias path names.
func aliasOf(p string) (string, bool) {
	if h, ok := strings.CutPrefix(p, Blobs512Dir); ok {
		return h, true
	}
	return strings.CutPrefix(p, Manifests512Dir)
}

// IsAlias reports whether p is a sha512 alias path.
func IsAlias(p string) bool {
	_, ok := aliasOf(p)
	return ok
}

// checkAliasPath checks the hex of an alias path.
func checkAliasPath(p, hx string) error {
	if !format.ValidHex(format.SHA512, hx) {
		return fmt.Errorf("%w: %q: a sha512 digest has 128 lower-case hex digits", ErrLayout, p)
	}
	return nil
}

// checkSHA512 reads content and compares its SHA-512 with want (hex).
func checkSHA512(p, want string, content io.Reader) error {
	h := sha512.New()
	if _, err := io.Copy(h, content); err != nil {
		return fmt.Errorf("read %s: %w", p, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("%w: %s: content has digest sha512:%s", ErrLayout, p, got)
	}
	return nil
}

// ChecksContent asks fsck to read alias records, and tags whose digest
// is a sha512 one: their digest is not the store's.
func (Kind) ChecksContent(rec repo.Record) bool {
	if IsAlias(rec.Path) {
		return true
	}
	return strings.HasPrefix(rec.Path, TagsDir) && strings.HasPrefix(rec.Metadata[MetaDigest], format.SHA512+":")
}

// CheckContent verifies the sha512 digest a record names against its
// content.
func (Kind) CheckContent(_ context.Context, rec repo.Record, content io.Reader) error {
	if hx, ok := aliasOf(rec.Path); ok {
		return checkSHA512(rec.Path, hx, content)
	}
	hx, ok := strings.CutPrefix(rec.Metadata[MetaDigest], format.SHA512+":")
	if !ok {
		return nil
	}
	return checkSHA512(rec.Path, hx, content)
}

// inspectAlias checks an alias's content against its path: a blob is
// streamed, a manifest read whole, hashed and parsed as Inspect does.
func (k Kind) inspectAlias(p, hx string, content io.ReaderAt, size int64) (map[string]string, error) {
	if strings.HasPrefix(p, Blobs512Dir) {
		return nil, checkSHA512(p, hx, io.NewSectionReader(content, 0, size))
	}
	data, err := readManifest(p, content, size)
	if err != nil {
		return nil, err
	}
	if err := checkSHA512(p, hx, bytes.NewReader(data)); err != nil {
		return nil, err
	}
	return manifestMeta(p, data)
}

// checkAliasDigest is CheckDigest for an alias: its digest is checked
// where its content is read (see above); a manifest needs its media type.
func checkAliasDigest(p string, meta map[string]string) error {
	if strings.HasPrefix(p, Manifests512Dir) && !format.IsManifestType(meta[MetaMediaType]) {
		return fmt.Errorf("%w: %s: metadata %s %q is not a manifest or index media type", ErrLayout, p, MetaMediaType, meta[MetaMediaType])
	}
	return nil
}

// validTagDigest reports whether a tag's digest metadata names its
// content: its SHA-256, or a sha512 digest, which fsck checks.
func validTagDigest(d, sha256hex string) bool {
	if d == "sha256:"+sha256hex {
		return true
	}
	alg, _, err := format.ParseDigestAlg(d)
	return err == nil && alg == format.SHA512
}
