// Package container is the "container" content kind: one OCI image
// repository per pkgvc repository, laid out by digest so that a version
// is exactly what a registry serves for the image.
//
// # Layout
//
//	blobs/sha256/<hex>      a config or layer blob, raw bytes; metadata
//	                        mediaType when known
//	manifests/sha256/<hex>  a manifest or index; metadata mediaType
//	                        (required), subject ("sha256:<hex>") and
//	                        artifactType when present, for referrers
//	blobs/sha512/<hex>      an alias: the same stored blob, named by
//	manifests/sha512/<hex>  its SHA-512 (pushed or synced by a sha512
//	                        digest); metadata as above
//	tags/<tag>              the same blob as its manifest; metadata
//	                        mediaType and digest ("sha256:<hex>", or
//	                        "sha512:<hex>" for a manifest pushed so)
//
// A path's digest is that of its content. Manifests are small and hashed
// by Inspect; sha256 blobs are checked against the digest the store
// computes while storing them (repo.DigestChecker), so a layer is read
// once. Aliases are checked where their content is read: see alias.go.
package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pkgvc/pkgvc/kinds/container/format"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// Path prefixes of the layout.
const (
	BlobsDir     = "blobs/sha256/"
	ManifestsDir = "manifests/sha256/"
	TagsDir      = "tags/"
)

// Record metadata keys.
const (
	MetaMediaType    = "mediaType"
	MetaDigest       = "digest"
	MetaSubject      = "subject"
	MetaArtifactType = "artifactType"
)

// ErrLayout reports a record that does not fit the layout.
var ErrLayout = fmt.Errorf("container layout: %w", repo.ErrInvalid)

// Kind validates the container layout.
type Kind struct{}

var (
	_ repo.Kind                 = Kind{}
	_ repo.PathChecker          = Kind{}
	_ repo.DigestChecker        = Kind{}
	_ repo.SingleRecordPackager = Kind{}
)

// Name returns "container".
func (Kind) Name() string { return "container" }

// BlobPath is the path of the blob with digest hex.
func BlobPath(hex string) string { return BlobsDir + hex }

// ManifestPath is the path of the manifest with digest hex.
func ManifestPath(hex string) string { return ManifestsDir + hex }

// TagPath is the path of tag.
func TagPath(tag string) string { return TagsDir + tag }

// CheckPath accepts only the paths of the layout.
func (Kind) CheckPath(p string) error {
	switch {
	case strings.HasPrefix(p, BlobsDir):
		return checkHex(p, p[len(BlobsDir):])
	case strings.HasPrefix(p, ManifestsDir):
		return checkHex(p, p[len(ManifestsDir):])
	case IsAlias(p):
		hx, _ := aliasOf(p)
		return checkAliasPath(p, hx)
	case strings.HasPrefix(p, TagsDir):
		if err := format.CheckTag(p[len(TagsDir):]); err != nil {
			return fmt.Errorf("%w: %q: %w", ErrLayout, p, err)
		}
		return nil
	}
	return fmt.Errorf("%w: %q: a container repository holds only %s<hex>, %s<hex>, their sha512 aliases and %s<tag>", ErrLayout, p, BlobsDir, ManifestsDir, TagsDir)
}

func checkHex(p, hex string) error {
	if _, err := format.ParseDigest("sha256:" + hex); err != nil {
		return fmt.Errorf("%w: %q: %w", ErrLayout, p, err)
	}
	return nil
}

// Inspect checks a file that will sit at p. A manifest or tag is read
// (it is at most oci.MaxManifestSize), parsed and, for a manifest, hashed
// against its path; a blob is left to CheckDigest.
func (k Kind) Inspect(_ context.Context, p string, content io.ReaderAt, size int64) (map[string]string, error) {
	if err := k.CheckPath(p); err != nil {
		return nil, err
	}
	if strings.HasPrefix(p, BlobsDir) {
		return nil, nil
	}
	if hx, ok := aliasOf(p); ok {
		return k.inspectAlias(p, hx, content, size)
	}
	data, err := readManifest(p, content, size)
	if err != nil {
		return nil, err
	}
	return manifestMeta(p, data)
}

// readManifest reads a manifest or tag's content, at most
// MaxManifestSize bytes.
func readManifest(p string, content io.ReaderAt, size int64) ([]byte, error) {
	if size > format.MaxManifestSize {
		return nil, fmt.Errorf("%w: %s: %w: %d bytes, the limit is %d", ErrLayout, p, format.ErrManifestTooLarge, size, format.MaxManifestSize)
	}
	data := make([]byte, size)
	if _, err := content.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return data, nil
}

// manifestMeta parses a manifest and returns the metadata of its record
// at p.
func manifestMeta(p string, data []byte) (map[string]string, error) {
	m, err := format.Parse("", data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrLayout, p, err)
	}
	meta := ManifestMetadata(m.MediaType, m.EffectiveArtifactType(), m.SubjectDigest())
	if strings.HasPrefix(p, TagsDir) {
		meta = TagMetadata(m.MediaType, format.Digest(data))
	}
	return meta, nil
}

// ManifestMetadata returns the record metadata of a manifests/ record:
// the manifest's media type, its effective artifact type (its
// artifactType, else its config's media type) and its subject's digest,
// the last two when it has them.
func ManifestMetadata(mediaType, artifactType, subject string) map[string]string {
	meta := map[string]string{MetaMediaType: mediaType}
	if subject != "" {
		meta[MetaSubject] = subject
	}
	if artifactType != "" {
		meta[MetaArtifactType] = artifactType
	}
	return meta
}

// TagMetadata returns the record metadata of a tags/ record.
func TagMetadata(mediaType, digest string) map[string]string {
	return map[string]string{MetaMediaType: mediaType, MetaDigest: digest}
}

// CheckDigest refuses a blob or manifest whose content digest is not the
// one its path names, a manifest without a media type, and a tag whose
// digest metadata is not its content's.
func (Kind) CheckDigest(p string, id objects.ID, meta map[string]string) error {
	var want string
	switch {
	case strings.HasPrefix(p, BlobsDir):
		want = p[len(BlobsDir):]
	case strings.HasPrefix(p, ManifestsDir):
		want = p[len(ManifestsDir):]
		if !format.IsManifestType(meta[MetaMediaType]) {
			return fmt.Errorf("%w: %s: metadata %s %q is not a manifest or index media type", ErrLayout, p, MetaMediaType, meta[MetaMediaType])
		}
	case IsAlias(p):
		return checkAliasDigest(p, meta)
	case strings.HasPrefix(p, TagsDir):
		if d := meta[MetaDigest]; !validTagDigest(d, id.String()) {
			return fmt.Errorf("%w: %s: metadata %s %q is not its content's digest sha256:%s", ErrLayout, p, MetaDigest, d, id)
		}
		if !format.IsManifestType(meta[MetaMediaType]) {
			return fmt.Errorf("%w: %s: metadata %s %q is not a manifest or index media type", ErrLayout, p, MetaMediaType, meta[MetaMediaType])
		}
		return nil
	default:
		return nil // CheckPath refuses it
	}
	if id.String() != want {
		return fmt.Errorf("%w: %s: content has digest sha256:%s", ErrLayout, p, id)
	}
	return nil
}

// Package makes each tag a package whose version is its manifest digest;
// blobs and untagged manifests are no packages. Digests have no order, so
// the kind is no repo.VersionComparer: a package diff reports a tag moved
// to another manifest as its old digest removed and its new one added.
func (Kind) Package(rec repo.Record) (string, string, bool) {
	tag, ok := strings.CutPrefix(rec.Path, TagsDir)
	if !ok {
		return "", "", false
	}
	if d := rec.Metadata[MetaDigest]; d != "" {
		return tag, d, true
	}
	return tag, "sha256:" + rec.SHA256.String(), true
}

// SingleRecordPackages marks a tag as one record.
func (Kind) SingleRecordPackages() {}

// ValidateBasePath checks a container distribution's base path, which is
// its image name (dist.BasePathRule).
func (Kind) ValidateBasePath(basePath string) error {
	if !format.ValidName(basePath) {
		return errors.New("a container distribution's base path is its image name: lower-case components of letters and digits, separated by '.', '_', '__' or '-'")
	}
	return nil
}

// ClientAccess gives docker the distribution's image (content.ClientGuide).
func (Kind) ClientAccess(_, image string) (string, []string) {
	return image, []string{"docker pull " + image + ":TAG"}
}
