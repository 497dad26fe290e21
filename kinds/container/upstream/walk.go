package upstream

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/pkgvc/pkgvc/kinds/container"
	ocifmt "github.com/pkgvc/pkgvc/kinds/container/format"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/remote"
)

// parseManifest reads a manifest or index with the shared parser, so its
// media type and metadata are what a push of the same bytes gives. The
// type is taken from the bytes alone (their mediaType, else their
// shape): the same whether they came from the registry or the store.
func parseManifest(data []byte) (*ocifmt.Manifest, error) {
	var v struct {
		SchemaVersion int `json:"schemaVersion"`
	}
	if json.Unmarshal(data, &v) == nil && v.SchemaVersion == 1 {
		return nil, fmt.Errorf("%w: Docker schema 1 (convert the image upstream, or leave the tag out with --exclude-tag)", ErrUnsupported)
	}
	return ocifmt.Parse("", data)
}

// walker collects the packages of the tags and manifests it is given,
// each path once. It is safe for concurrent use.
type walker struct {
	sess *session
	up   remote.Upstream
	o    *options

	mu           sync.Mutex
	pkgs         map[string]remote.Package // by path
	claimed      map[objects.ID]bool       // manifests walked or being walked
	claimedAlias map[string]bool           // the same, by sha512 digest
}

func newWalker(sess *session, up remote.Upstream, o *options) *walker {
	return &walker{sess: sess, up: up, o: o, pkgs: make(map[string]remote.Package), claimed: make(map[objects.ID]bool), claimedAlias: make(map[string]bool)}
}

// packages returns what was collected, sorted by path.
func (w *walker) packages() []remote.Package {
	out := make([]remote.Package, 0, len(w.pkgs))
	for _, p := range w.pkgs {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// add records p. A blob two manifests name with different media types
// (Docker and OCI names of one layer) keeps the smaller one, so the
// record does not depend on the order tags were read in.
func (w *walker) add(p remote.Package) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if cur, ok := w.pkgs[p.Path]; ok && cur.Metadata[MetaMediaType] <= p.Metadata[MetaMediaType] {
		return
	}
	w.pkgs[p.Path] = p
}

// claim reports whether id is not walked yet, and marks it.
func (w *walker) claim(id objects.ID) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.claimed[id] {
		return false
	}
	w.claimed[id] = true
	return true
}

// stored returns the manifest id from the store, or nil if the store
// does not hold it (or cannot read it: then it is fetched again).
func (w *walker) stored(ctx context.Context, id objects.ID) []byte {
	if w.up.KnownSize == nil || w.up.OpenStored == nil {
		return nil
	}
	if n, ok := w.up.KnownSize(ctx, id); !ok || n > MaxManifestSize {
		return nil
	}
	rc, err := w.up.OpenStored(ctx, id)
	if err != nil {
		return nil
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, MaxManifestSize+1))
	if err != nil || len(b) > MaxManifestSize {
		return nil
	}
	return b
}

// tag resolves a tag: its digest by HEAD, the manifest from the store
// when it holds it, else by GET.
func (w *walker) tag(ctx context.Context, tag string) error {
	ref := w.o.repo.Tag(tag)
	var data []byte
	desc, err := w.sess.puller.Head(ctx, ref)
	if err != nil {
		if e := notFound(err); errors.Is(e, remote.ErrRefNotFound) {
			return fmt.Errorf("tag %s: %w", tag, e)
		}
		// Some registries answer HEAD badly: GET decides.
	} else if desc.Digest.Algorithm == "sha256" {
		if id, perr := objects.ParseID(desc.Digest.Hex); perr == nil {
			data = w.stored(ctx, id)
		}
	}
	if data == nil {
		d, err := w.sess.puller.Get(ctx, ref)
		if err != nil {
			return fmt.Errorf("tag %s: %w", tag, notFound(err))
		}
		data = d.Manifest
	}
	if len(data) > MaxManifestSize {
		return fmt.Errorf("tag %s: manifest of %d bytes: more than %d", tag, len(data), MaxManifestSize)
	}
	id := objects.ID(sha256.Sum256(data))
	m, err := parseManifest(data)
	if err != nil {
		return fmt.Errorf("tag %s: %w", tag, err)
	}
	if desc != nil && desc.Digest.Algorithm == ocifmt.SHA512 && ocifmt.DigestOf(ocifmt.SHA512, data) == desc.Digest.String() {
		// Served by the digest upstream gives, and the manifest is
		// recorded by it: a client fetches it by the tag's digest.
		d := desc.Digest.String()
		w.add(remote.Package{
			Path: TagsDir + tag, URL: w.manifestURLOf(d), SHA256: id, Size: int64(len(data)), Data: data,
			Metadata: container.TagMetadata(m.MediaType, d),
		})
		if !w.claimAlias(d) {
			return nil
		}
		return w.walkAt(ctx, container.Manifests512Dir+desc.Digest.Hex, w.manifestURLOf(d), id, data, m)
	}
	w.add(remote.Package{
		Path: TagsDir + tag, URL: w.manifestURL(id), SHA256: id, Size: int64(len(data)), Data: data,
		Metadata: container.TagMetadata(m.MediaType, "sha256:"+id.String()),
	})
	if !w.claim(id) {
		return nil
	}
	return w.walk(ctx, id, data, m)
}

// manifest resolves a manifest by digest, from the store when it holds
// it; the registry's answer is checked against the digest.
func (w *walker) manifest(ctx context.Context, id objects.ID) error {
	if !w.claim(id) {
		return nil
	}
	data := w.stored(ctx, id)
	if data == nil {
		d, err := w.sess.puller.Get(ctx, w.o.repo.Digest("sha256:"+id.String()))
		if err != nil {
			return fmt.Errorf("manifest sha256:%s: %w", id, notFound(err))
		}
		data = d.Manifest
	}
	if got := objects.ID(sha256.Sum256(data)); got != id {
		return fmt.Errorf("manifest sha256:%s: %w: upstream sent sha256:%s", id, remote.ErrDigestMismatch, got)
	}
	if len(data) > MaxManifestSize {
		return fmt.Errorf("manifest sha256:%s of %d bytes: more than %d", id, len(data), MaxManifestSize)
	}
	m, err := parseManifest(data)
	if err != nil {
		return fmt.Errorf("manifest sha256:%s: %w", id, err)
	}
	return w.walk(ctx, id, data, m)
}

// walk records manifest id and what it refers to: an index's children
// (those of the wanted platforms), a manifest's config and layers.
func (w *walker) walk(ctx context.Context, id objects.ID, data []byte, m *ocifmt.Manifest) error {
	return w.walkAt(ctx, ManifestsDir+id.String(), w.manifestURL(id), id, data, m)
}

// walkAt is walk for a manifest recorded at path (its sha256 or sha512
// one) and fetched from url.
func (w *walker) walkAt(ctx context.Context, path, url string, id objects.ID, data []byte, m *ocifmt.Manifest) error {
	w.add(remote.Package{
		Path: path, URL: url, SHA256: id, Size: int64(len(data)), Data: data,
		Metadata: container.ManifestMetadata(m.MediaType, m.EffectiveArtifactType(), m.SubjectDigest()),
	})
	if m.IsIndex() {
		for _, c := range m.Manifests {
			if !ocifmt.IsIndexType(c.MediaType) {
				p := c.Platform
				if p == nil && !w.o.keepPlatform("", "", "", false) || p != nil && !w.o.keepPlatform(p.OS, p.Architecture, p.Variant, true) {
					continue
				}
			}
			if hx, ok := isSHA512(c.Digest); ok {
				if err := w.manifest512(ctx, c.Digest, hx); err != nil {
					return err
				}
				continue
			}
			cid, err := descID(c)
			if err != nil {
				return fmt.Errorf("index sha256:%s: %w", id, err)
			}
			if err := w.manifest(ctx, cid); err != nil {
				return err
			}
		}
		return nil
	}
	for _, b := range m.Blobs() {
		if ocifmt.IsNonDistributable(b.MediaType) {
			continue // a foreign layer: fetched from its URLs, not the registry
		}
		if hx, ok := isSHA512(b.Digest); ok {
			p, err := w.blob512(ctx, b, hx)
			if err != nil {
				return err
			}
			w.add(p)
			continue
		}
		bid, err := descID(b)
		if err != nil {
			return fmt.Errorf("manifest sha256:%s: %w", id, err)
		}
		w.add(remote.Package{
			Path: BlobsDir + bid.String(), URL: w.blobURL(bid), SHA256: bid, Size: b.Size,
			Metadata: map[string]string{MetaMediaType: b.MediaType},
		})
	}
	return nil
}

// descID returns a descriptor's sha256 (the parser checked its form).
func descID(d ocifmt.Descriptor) (objects.ID, error) {
	h, err := ocifmt.ParseDigest(d.Digest)
	if err != nil {
		return objects.ID{}, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	return objects.ParseID(h)
}

// parseDigest parses "sha256:<hex>".
func parseDigest(s string) (objects.ID, error) {
	h, ok := strings.CutPrefix(s, "sha256:")
	id, err := objects.ParseID(h)
	if !ok || err != nil {
		return objects.ID{}, fmt.Errorf("digest %q: want sha256:<64 hex digits>: %w", s, remote.ErrRefNotFound)
	}
	return id, nil
}

func (w *walker) blobURL(id objects.ID) string {
	return w.o.base + "/v2/" + w.o.repo.RepositoryStr() + "/blobs/sha256:" + id.String()
}

func (w *walker) manifestURL(id objects.ID) string {
	return w.o.base + "/v2/" + w.o.repo.RepositoryStr() + "/manifests/sha256:" + id.String()
}
