package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/pkgvc/pkgvc/kinds/container"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// deleteBlob answers DELETE of a blob. A blob pushed into the repository
// and named by no manifest yet loses its mark and pins there; a blob
// record of the version that no manifest references goes as a new
// version. A blob a manifest references goes with the manifest (405),
// and a manifest through the manifests API (405). The bytes stay for gc
// to judge: other repositories, versions and uploads may hold them.
func (q *request) deleteBlob(w http.ResponseWriter, r *http.Request, digest string) {
	if !q.authorize(w, r, true) || !q.writable(w) {
		return
	}
	dr, err := parseDigestRef(digest)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeDigestInvalid, err.Error(), nil)
		return
	}
	ctx := r.Context()
	_, isManifest, err := q.t.Lookup(ctx, dr.manifestPath())
	if err != nil {
		q.g.internal(w, r, "look up "+digest, err)
		return
	}
	if isManifest {
		writeError(w, http.StatusMethodNotAllowed, codeUnsupported, fmt.Sprintf("%s is a manifest of %s: delete it with DELETE /v2/%s/manifests/%s", digest, q.name, q.name, digest), nil)
		return
	}
	p := dr.blobPath()
	rec, inVersion, err := q.t.Lookup(ctx, p)
	if err != nil {
		q.g.internal(w, r, "look up "+digest, err)
		return
	}
	if !inVersion {
		var pushed bool
		if rec.SHA256, pushed, err = q.pushedDigest(ctx, dr); err != nil {
			q.g.internal(w, r, "look up "+digest, err)
			return
		}
		if !pushed {
			q.blobUnknown(w, digest)
			return
		}
	} else if !q.deleteBlobRecord(w, r, dr, p) {
		return
	}
	if _, err := q.g.unpush(ctx, q.t.Dist.Repo, rec.SHA256); err != nil {
		q.g.internal(w, r, "drop pushed blob "+digest, err)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}

// deleteBlobRecord commits the removal of blob record p of the version
// unless a manifest references it; it reports whether it did, or else
// answered.
func (q *request) deleteBlobRecord(w http.ResponseWriter, r *http.Request, dr digestRef, p string) bool {
	ctx := r.Context()
	digest := dr.String()
	by, err := q.g.referencedBy(ctx, q.t, dr)
	if err != nil {
		q.g.internal(w, r, "find the manifests referencing "+digest, err)
		return false
	}
	if by != "" {
		q.blobReferenced(w, digest, by)
		return false
	}
	beforeDeleteCommit()
	_, err = q.g.st.Commit(q.commitCtx(ctx), q.t.Dist.Repo, repo.CommitRequest{
		Removes: []string{p}, Message: "delete blob " + q.name + "@" + digest,
		Precondition: q.stillUnreferenced(dr),
	})
	var ref *referencedError
	switch {
	case errors.As(err, &ref):
		q.blobReferenced(w, digest, ref.by)
		return false
	case errors.Is(err, repo.ErrPathNotFound): // deleted meanwhile
		q.blobUnknown(w, digest)
		return false
	case err != nil:
		q.g.internal(w, r, "commit the deletion of blob "+digest, err)
		return false
	}
	return true
}

// blobReferenced answers 405 for a DELETE of blob digest, which manifest
// by references.
func (q *request) blobReferenced(w http.ResponseWriter, digest, by string) {
	writeError(w, http.StatusMethodNotAllowed, codeUnsupported, fmt.Sprintf("blob %s is referenced by manifest %s of %s: delete the manifest, which deletes the blobs only it references", digest, by, q.name), nil)
}

// blobUnknown answers 404 for a DELETE of a blob the repository lacks.
func (q *request) blobUnknown(w http.ResponseWriter, digest string) {
	writeError(w, http.StatusNotFound, codeBlobUnknown, fmt.Sprintf("blob %s is not in %s", digest, q.name), map[string]string{"digest": digest})
}

// beforeDeleteCommit runs before a blob or manifest DELETE commits; the tests
// make a writer act there.
var beforeDeleteCommit = func() {}

// pushedDigest returns the blob pushed into the repository as d (by its
// sha512 alias, or its SHA-256) and whether it still is.
func (q *request) pushedDigest(ctx context.Context, d digestRef) (objects.ID, bool, error) {
	id := d.id()
	if d.isAlias() {
		var ok bool
		var err error
		if id, ok, err = q.g.uploadedAlias(ctx, q.t.Dist.Repo, d); err != nil || !ok {
			return id, false, err
		}
	}
	pushed, err := q.g.wasPushed(ctx, q.t.Dist.Repo, id)
	return id, pushed, err
}

// referencedError is a blob DELETE's commit refused because a manifest
// of the head references the blob.
type referencedError struct{ by string }

func (e *referencedError) Error() string { return "the blob is referenced by manifest " + e.by }

// stillUnreferenced is the precondition of a blob DELETE's commit: a
// manifest referencing blob d may have come since the distribution's
// version was checked, and the head the commit builds on must not have
// one either.
func (q *request) stillUnreferenced(d digestRef) func(context.Context, repo.HeadView) error {
	checked := q.t.Version
	return func(ctx context.Context, head repo.HeadView) error {
		if checked != nil && head.ID() == checked.ID {
			return nil
		}
		by, err := q.g.referencedBy(ctx, head, d)
		if err != nil {
			return fmt.Errorf("find the manifests referencing %s: %w", d, err)
		}
		if by != "" {
			return &referencedError{by}
		}
		return nil
	}
}

// referencedBy returns the digest of a manifest of version v that
// references blob d as its config or a layer, "" if none does.
func (g *registry) referencedBy(ctx context.Context, v prefixer, d digestRef) (string, error) {
	var by string
	want := d.String()
	err := eachManifestOf(ctx, v, func(rec repo.Record) error {
		m, err := g.readManifest(ctx, rec)
		if err != nil {
			return fmt.Errorf("%s: %w", rec.Path, err)
		}
		for _, b := range m.Blobs() {
			if b.Digest == want {
				by = container.ManifestRef(rec.Path)
				return errEnough
			}
		}
		return nil
	})
	if errors.Is(err, errEnough) {
		err = nil
	}
	return by, err
}
