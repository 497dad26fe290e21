package format

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Media types of manifests and indexes.
const (
	MediaTypeImageManifest  = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeImageIndex     = "application/vnd.oci.image.index.v1+json"
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	// MediaTypeEmpty is the empty JSON descriptor's media type (OCI 1.1).
	MediaTypeEmpty = "application/vnd.oci.empty.v1+json"
)

// MaxManifestSize is the largest manifest or index accepted.
const MaxManifestSize = 4 << 20

// Errors. Each wraps ErrInvalid, so callers may match either.
var (
	ErrInvalid           = errors.New("invalid")
	ErrInvalidName       = fmt.Errorf("repository name %w", ErrInvalid)
	ErrInvalidTag        = fmt.Errorf("tag %w", ErrInvalid)
	ErrInvalidDigest     = fmt.Errorf("digest %w", ErrInvalid)
	ErrUnsupportedDigest = fmt.Errorf("digest algorithm unsupported, %w", ErrInvalid)
	ErrInvalidManifest   = fmt.Errorf("manifest %w", ErrInvalid)
	ErrManifestTooLarge  = fmt.Errorf("manifest too large, %w", ErrInvalid)
)

// The Distribution Spec's grammar.
var (
	nameRE = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)
	tagRE  = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	// digestRE is the image spec's digest grammar: algorithm ":" encoded.
	digestRE = regexp.MustCompile(`^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`)
)

// MaxNameLen bounds a repository name (with a registry host, 255 is the
// common limit of a whole reference).
const MaxNameLen = 255

// ValidName reports whether name is a repository name, as in "library/alpine".
func ValidName(name string) bool { return len(name) <= MaxNameLen && nameRE.MatchString(name) }

// CheckName returns ErrInvalidName unless name is a repository name.
func CheckName(name string) error {
	if !ValidName(name) {
		return fmt.Errorf("%w: %q: use lower-case path components of letters and digits separated by '.', '_', '__' or '-'", ErrInvalidName, name)
	}
	return nil
}

// ValidTag reports whether tag matches [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.
func ValidTag(tag string) bool { return tagRE.MatchString(tag) }

// CheckTag returns ErrInvalidTag unless tag is valid.
func CheckTag(tag string) error {
	if !ValidTag(tag) {
		return fmt.Errorf("%w: %q: up to 128 characters of letters, digits, '_', '.' and '-', not starting with '.' or '-'", ErrInvalidTag, tag)
	}
	return nil
}

// IsDigest reports whether ref looks like a digest (has an algorithm
// prefix) rather than a tag, which can never contain ':'.
func IsDigest(ref string) bool { return strings.Contains(ref, ":") }

// ParseDigest checks a "sha256:<64 lower-case hex>" digest and returns its
// hex part. Another well-formed algorithm gives ErrUnsupportedDigest.
func ParseDigest(d string) (string, error) {
	if !digestRE.MatchString(d) {
		return "", fmt.Errorf("%w: %q: use sha256:<64 hex digits>", ErrInvalidDigest, d)
	}
	alg, enc, _ := strings.Cut(d, ":")
	if alg != "sha256" {
		return "", fmt.Errorf("%w: %q: only sha256 digests are supported", ErrUnsupportedDigest, d)
	}
	if len(enc) != 64 || strings.ToLower(enc) != enc {
		return "", fmt.Errorf("%w: %q: a sha256 digest has 64 lower-case hex digits", ErrInvalidDigest, d)
	}
	if _, err := hex.DecodeString(enc); err != nil {
		return "", fmt.Errorf("%w: %q: not hex", ErrInvalidDigest, d)
	}
	return enc, nil
}

// Digest returns the sha256 digest of data, as "sha256:<hex>".
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// IsManifestType reports whether mt is a manifest or index media type
// this package parses.
func IsManifestType(mt string) bool {
	switch mt {
	case MediaTypeImageManifest, MediaTypeImageIndex, MediaTypeDockerManifest, MediaTypeDockerList:
		return true
	}
	return false
}

// IsIndexType reports whether mt is an index (or Docker manifest list).
func IsIndexType(mt string) bool { return mt == MediaTypeImageIndex || mt == MediaTypeDockerList }

// Descriptor references content by digest.
type Descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Platform     *Platform         `json:"platform,omitempty"`
}

// Platform is an index entry's platform.
type Platform struct {
	Architecture string   `json:"architecture"`
	OS           string   `json:"os"`
	OSVersion    string   `json:"os.version,omitempty"`
	OSFeatures   []string `json:"os.features,omitempty"`
	Variant      string   `json:"variant,omitempty"`
}

// Manifest is a parsed image manifest or index: an image manifest has
// Config and Layers, an index Manifests.
type Manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType,omitempty"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        *Descriptor       `json:"config,omitempty"`
	Layers        []Descriptor      `json:"layers,omitempty"`
	Manifests     []Descriptor      `json:"manifests,omitempty"`
	Subject       *Descriptor       `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// IsIndex reports whether m is an index.
func (m *Manifest) IsIndex() bool { return IsIndexType(m.MediaType) }

// Blobs returns the config and layer descriptors of an image manifest.
func (m *Manifest) Blobs() []Descriptor {
	var out []Descriptor
	if m.Config != nil {
		out = append(out, *m.Config)
	}
	return append(out, m.Layers...)
}

// EffectiveArtifactType is the manifest's artifactType, else its config's
// media type, as the referrers API reports it.
func (m *Manifest) EffectiveArtifactType() string {
	if m.ArtifactType != "" || m.IsIndex() || m.Config == nil {
		return m.ArtifactType
	}
	return m.Config.MediaType
}

// SubjectDigest is the digest of the manifest's subject, "" without one.
func (m *Manifest) SubjectDigest() string {
	if m.Subject == nil {
		return ""
	}
	return m.Subject.Digest
}

// Parse reads a manifest or index. contentType is the media type the
// client declared (the Content-Type of a push, a record's mediaType), or ""
// to go by the document alone. A document's own mediaType must agree with
// contentType; without one, an OCI document is told apart by its fields.
// Every descriptor must have a media type, a supported digest and a size.
func Parse(contentType string, data []byte) (*Manifest, error) {
	if len(data) > MaxManifestSize {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrManifestTooLarge, len(data), MaxManifestSize)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: not JSON: %w", ErrInvalidManifest, err)
	}
	if m.SchemaVersion != 2 {
		return nil, fmt.Errorf("%w: schemaVersion %d, want 2", ErrInvalidManifest, m.SchemaVersion)
	}
	ct := strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0])
	switch {
	case m.MediaType != "" && ct != "" && ct != m.MediaType:
		return nil, fmt.Errorf("%w: its mediaType %q differs from the declared %q", ErrInvalidManifest, m.MediaType, ct)
	case m.MediaType == "" && ct != "":
		m.MediaType = ct
	case m.MediaType == "" && m.Config != nil:
		m.MediaType = MediaTypeImageManifest
	case m.MediaType == "" && m.Manifests != nil:
		m.MediaType = MediaTypeImageIndex
	}
	if !IsManifestType(m.MediaType) {
		return nil, fmt.Errorf("%w: media type %q: use an OCI image manifest or index, or a Docker v2 schema 2 manifest or list", ErrInvalidManifest, m.MediaType)
	}
	if m.IsIndex() {
		if m.Config != nil || m.Layers != nil {
			return nil, fmt.Errorf("%w: an index has no config or layers", ErrInvalidManifest)
		}
	} else {
		if m.Config == nil {
			return nil, fmt.Errorf("%w: an image manifest needs a config", ErrInvalidManifest)
		}
		if m.Manifests != nil {
			return nil, fmt.Errorf("%w: an image manifest has no manifests list", ErrInvalidManifest)
		}
	}
	check := func(what string, d *Descriptor) error {
		if d.MediaType == "" {
			return fmt.Errorf("%w: %s has no mediaType", ErrInvalidManifest, what)
		}
		if d.Size < 0 {
			return fmt.Errorf("%w: %s has a negative size", ErrInvalidManifest, what)
		}
		if _, _, err := ParseDigestAlg(d.Digest); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalidManifest, what, err)
		}
		return nil
	}
	if m.Config != nil {
		if err := check("config", m.Config); err != nil {
			return nil, err
		}
	}
	for i := range m.Layers {
		if err := check(fmt.Sprintf("layer %d", i), &m.Layers[i]); err != nil {
			return nil, err
		}
	}
	for i := range m.Manifests {
		if err := check(fmt.Sprintf("manifest %d", i), &m.Manifests[i]); err != nil {
			return nil, err
		}
		if m.Manifests[i].Size > MaxManifestSize {
			return nil, fmt.Errorf("%w: manifest %d is over %d bytes", ErrInvalidManifest, i, MaxManifestSize)
		}
	}
	if m.Subject != nil {
		if err := check("subject", m.Subject); err != nil {
			return nil, err
		}
	}
	return &m, nil
}
