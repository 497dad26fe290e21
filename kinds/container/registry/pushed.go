package registry

import (
	"context"
	"errors"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/kinds/container"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// A blob pushed into a repository (uploaded or mounted) is pinned
// against gc and marked pushed there (uploads.Engine.MarkUploaded), both
// for pushedTTL. While marked it is the repository's as much as a blob
// its version holds: whoever may read a distribution of the repository
// reads it, and a manifest may name it. The manifest that names it ends
// the mark (its version holds the blob then); a blob DELETE ends mark and
// pin.

// pushedBy names what a pushed blob is marked for: its repository.
func pushedBy(rp string) string { return "oci:" + rp }

// pushReason is the reason of the pins of blobs pushed into repository
// rp, by which a blob DELETE finds them.
func pushReason(rp string) string { return "oci push into repository " + rp }

// holds looks blob hex up in distribution t: in its version as a blob or
// a manifest, then among the blobs pushed into its repository.
func (g *registry) holds(ctx context.Context, t *content.Target, hex string) (repo.Record, bool, error) {
	for _, p := range []string{container.BlobPath(hex), container.ManifestPath(hex)} {
		rec, found, err := t.Lookup(ctx, p)
		if err != nil || found {
			return rec, found, err
		}
	}
	id, err := objects.ParseID(hex)
	if err != nil || t.Dist.Repo == "" {
		return repo.Record{}, false, nil
	}
	if pushed, err := g.wasPushed(ctx, t.Dist.Repo, id); err != nil || !pushed {
		return repo.Record{}, false, err
	}
	st, err := g.st.Objects().StatBlob(ctx, id)
	if errors.Is(err, objects.ErrNotFound) {
		return repo.Record{}, false, nil
	}
	if err != nil {
		return repo.Record{}, false, err
	}
	return repo.Record{Path: container.BlobPath(hex), SHA256: id, Size: st.Size}, true, nil
}

// wasPushed reports whether blob id was pushed into repository rp lately,
// through any server of the store, and no manifest has named it since.
func (g *registry) wasPushed(ctx context.Context, rp string, id objects.ID) (bool, error) {
	if g.up == nil {
		return false, nil // a server without uploads sees none
	}
	return g.up.Uploaded(ctx, pushedBy(rp), id)
}

// namedByManifest ends the pushed marks of blobs a committed manifest
// names: the version holds them now, and deleting the manifest drops
// them. A failure only leaves a mark to expire.
func (g *registry) namedByManifest(ctx context.Context, rp string, ids []objects.ID) {
	if g.up == nil {
		return
	}
	for _, id := range ids {
		if _, err := g.up.Unmark(ctx, pushedBy(rp), id); err != nil {
			g.s.Logger().Warn("registry: drop a pushed mark", "repo", rp, "blob", id, "err", err)
			return
		}
	}
}

// unpush drops blob id from the blobs pushed into repository rp: its mark
// and the pins of its pushes there. Pins of other repositories and of
// other uploads stay. It reports whether it was marked.
func (g *registry) unpush(ctx context.Context, rp string, id objects.ID) (bool, error) {
	if g.up == nil {
		return false, nil
	}
	was, err := g.up.Unmark(ctx, pushedBy(rp), id)
	if err != nil {
		return false, err
	}
	if _, err := g.st.UnpinReason(ctx, id, pushReason(rp)); err != nil {
		return was, err
	}
	return was, nil
}
