package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/internal/parallel"
	"github.com/pkgvc/pkgvc/kinds/container"
	ociformat "github.com/pkgvc/pkgvc/kinds/container/format"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// Cache-Control of responses: a tag follows pushes, a digest never changes.
const (
	cacheTag            = "no-cache"
	cacheDigest         = "public, max-age=31536000, immutable"
	cachePrivateTag     = "private, no-cache"
	cachePrivateDigest  = "private, max-age=31536000, immutable"
	octetStream         = "application/octet-stream"
	maxReferrersResults = 1 << 12
)

func (q *request) cacheControl(byDigest bool) string {
	switch {
	case byDigest && q.t.Dist.Private:
		return cachePrivateDigest
	case byDigest:
		return cacheDigest
	case q.t.Dist.Private:
		return cachePrivateTag
	}
	return cacheTag
}

// reference is a parsed manifest reference.
type reference struct {
	tag string
	d   digestRef // when no tag
}

func (ref reference) path() string {
	if ref.tag != "" {
		return container.TagPath(ref.tag)
	}
	return ref.d.manifestPath()
}

// name is what pull-through asks the remote for.
func (ref reference) name() string {
	if ref.tag != "" {
		return ref.tag
	}
	return ref.d.String()
}

// parseReference answers 400 for a reference that is no tag or digest.
func parseReference(w http.ResponseWriter, s string) (reference, bool) {
	if ociformat.IsDigest(s) {
		d, err := parseDigestRef(s)
		if err != nil {
			writeError(w, http.StatusBadRequest, codeDigestInvalid, err.Error(), nil)
			return reference{}, false
		}
		return reference{d: d}, true
	}
	if err := ociformat.CheckTag(s); err != nil {
		writeError(w, http.StatusBadRequest, codeTagInvalid, err.Error(), nil)
		return reference{}, false
	}
	return reference{tag: s}, true
}

// refresh resolves the distribution again, after a pull.
func (q *request) refresh(ctx context.Context) error {
	t, err := q.g.s.Target(ctx, q.name)
	if err != nil {
		return err
	}
	if t == nil {
		return fmt.Errorf("distribution at %s: %w", q.name, repo.ErrNotFound)
	}
	q.t = t
	return nil
}

// getManifest serves a manifest by tag or digest.
func (q *request) getManifest(w http.ResponseWriter, r *http.Request, refStr string) {
	if !q.authorize(w, r, false) {
		return
	}
	ref, ok := parseReference(w, refStr)
	if !ok {
		return
	}
	ctx := r.Context()
	rec, found, err := q.t.Lookup(ctx, ref.path())
	if err != nil {
		q.g.internal(w, r, "look up "+ref.path(), err)
		return
	}
	if d := q.t.Dist; d.Remote != "" {
		switch {
		case !found:
			err := q.g.s.Pull(ctx, d, ref.name(), 0)
			switch {
			case errors.Is(err, content.ErrNoPullThrough), errors.Is(err, content.ErrNotOnRemote):
			case errors.As(err, new(*parallel.PanicError)): // a bug, not the upstream
				q.g.internal(w, r, "pull "+ref.name()+" from remote "+d.Remote, err)
				return
			case q.rateLimited(w, err, ref):
				return
			case err != nil:
				q.g.s.Logger().Warn("pull-through", "dist", d.Name, "remote", d.Remote, "reference", ref.name(), "err", err)
				writeError(w, http.StatusBadGateway, codeUnavailable, fmt.Sprintf("%s is not in %s, and pulling it from remote %s failed: %s", ref.name(), q.name, d.Remote, oneLine(err.Error())), nil)
				return
			default:
				if rec, found, err = q.relookup(ctx, ref.path()); err != nil {
					q.g.internal(w, r, "look up "+ref.path(), err)
					return
				}
			}
		case ref.tag != "":
			ttl := d.PullThroughTTL
			if ttl <= 0 {
				ttl = content.DefaultPullThroughTTL
			}
			err := q.g.s.Pull(ctx, d, ref.name(), ttl)
			switch {
			case errors.Is(err, content.ErrNoPullThrough), errors.Is(err, content.ErrNotOnRemote):
			case err != nil:
				// The upstream is down: serve what the repository has.
				q.g.s.Logger().Warn("pull-through", "dist", d.Name, "remote", d.Remote, "reference", ref.name(), "err", err, parallel.LogStack(err))
			default:
				if rec2, found2, err := q.relookup(ctx, ref.path()); err == nil && found2 {
					rec = rec2
				}
			}
		}
	}
	if !found {
		writeError(w, http.StatusNotFound, codeManifestUnknown, fmt.Sprintf("manifest %s is not in %s", ref.name(), q.name), map[string]string{"reference": ref.name()})
		return
	}
	q.recordPull(ctx, ref)
	h := w.Header()
	mt := rec.Metadata[container.MetaMediaType]
	if mt == "" {
		mt = octetStream
	}
	h.Set("Content-Type", mt)
	h.Set("Docker-Content-Digest", servedDigest(ref, rec))
	h.Set("Cache-Control", q.cacheControl(ref.tag == ""))
	q.g.s.ServeRecordWith(w, r, &rec, serveOptions)
}

// relookup resolves the distribution again and looks p up.
func (q *request) relookup(ctx context.Context, p string) (repo.Record, bool, error) {
	if err := q.refresh(ctx); err != nil {
		return repo.Record{}, false, err
	}
	return q.t.Lookup(ctx, p)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// writable answers 405 for a distribution that cannot take pushes.
func (q *request) writable(w http.ResponseWriter) bool {
	if !namespaceWritable(w, q.t.Dist) {
		return false
	}
	if q.t.Dist.Repo == "" {
		writeError(w, http.StatusMethodNotAllowed, codeUnsupported, fmt.Sprintf("distribution %s is pinned to version %s: push to a distribution that follows a repository", q.t.Dist.Name, q.t.Dist.Version), nil)
		return false
	}
	return true
}

// commitCtx carries the pusher's identity to the reflog.
func (q *request) commitCtx(ctx context.Context) context.Context {
	if q.who == "" {
		return ctx
	}
	return repo.WithWhoContext(ctx, q.who)
}

// putManifest validates a pushed manifest and commits it with its tag and
// the records of the blobs it references, as one new version.
func (q *request) putManifest(w http.ResponseWriter, r *http.Request, refStr string) {
	if !q.authorize(w, r, true) || !q.writable(w) {
		return
	}
	ref, ok := parseReference(w, refStr)
	if !ok {
		return
	}
	if r.ContentLength > ociformat.MaxManifestSize {
		writeError(w, http.StatusRequestEntityTooLarge, codeManifestInvalid, fmt.Sprintf("manifest of %d bytes: the limit is %d", r.ContentLength, ociformat.MaxManifestSize), nil)
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, ociformat.MaxManifestSize+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, codeManifestInvalid, "reading the manifest: "+oneLine(err.Error()), nil)
		return
	}
	if len(data) > ociformat.MaxManifestSize {
		writeError(w, http.StatusRequestEntityTooLarge, codeManifestInvalid, fmt.Sprintf("manifest over %d bytes", ociformat.MaxManifestSize), nil)
		return
	}
	m, err := ociformat.Parse(r.Header.Get("Content-Type"), data)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeManifestInvalid, err.Error(), nil)
		return
	}
	digest := ociformat.Digest(data)
	id := objects.Sum(data)
	mpath := container.ManifestPath(id.String())
	if ref.tag == "" {
		if got := ref.d.digestOf(data); got != ref.d.String() {
			writeError(w, http.StatusBadRequest, codeDigestInvalid, fmt.Sprintf("the manifest's digest is %s, not %s", got, refStr), nil)
			return
		}
		// Pushed by a sha512 digest: stored and served by it.
		digest, mpath = ref.d.String(), ref.d.manifestPath()
	}
	// From the manifest's write to the version naming it: see
	// repo.Store.GC.
	ctx, release, err := q.g.st.Objects().Lease(r.Context())
	if err != nil {
		q.g.internal(w, r, "store the manifest", err)
		return
	}
	defer release()
	records, ref2, err := q.manifestRecords(ctx, m)
	if err != nil {
		q.g.internal(w, r, "look up what the manifest references", err)
		return
	}
	if ref2 != nil {
		writeError(w, http.StatusBadRequest, ref2.code, ref2.msg, map[string]string{"digest": ref2.digest})
		return
	}
	// The manifest's bytes go into the store before the records naming them.
	b := q.g.st.Objects().NewBatch()
	if _, err := b.PutBlob(ctx, bytes.NewReader(data)); err != nil {
		b.Abort()
		q.g.internal(w, r, "store the manifest", err)
		return
	}
	if err := b.Flush(ctx); err != nil {
		q.g.internal(w, r, "store the manifest", err)
		return
	}
	size := int64(len(data))
	records = append(records, repo.Record{Path: mpath, SHA256: id, Size: size, Metadata: container.ManifestMetadata(m.MediaType, m.EffectiveArtifactType(), m.SubjectDigest())})
	target := q.name + "@" + digest
	if ref.tag != "" {
		records = append(records, repo.Record{Path: container.TagPath(ref.tag), SHA256: id, Size: size, Metadata: container.TagMetadata(m.MediaType, digest)})
		target = q.name + ":" + ref.tag + " " + digest
	}
	_, err = q.g.st.Commit(q.commitCtx(ctx), q.t.Dist.Repo, repo.CommitRequest{Records: records, Message: "push " + target})
	switch {
	case errors.Is(err, repo.ErrInvalid):
		writeError(w, http.StatusBadRequest, codeManifestInvalid, oneLine(err.Error()), nil)
		return
	case errors.Is(err, repo.ErrNotFound):
		writeError(w, http.StatusNotFound, codeNameUnknown, oneLine(err.Error()), nil)
		return
	case err != nil:
		q.g.internal(w, r, "commit "+target, err)
		return
	}
	// Committed: the marks go even if the client has gone meanwhile.
	q.g.namedByManifest(context.WithoutCancel(ctx), q.t.Dist.Repo, blobIDs(records))
	h := w.Header()
	h.Set("Location", "/v2/"+q.name+"/manifests/"+digest)
	h.Set("Docker-Content-Digest", digest)
	if m.Subject != nil {
		h.Set("OCI-Subject", m.Subject.Digest)
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// refusal is why a pushed manifest is refused.
type refusal struct{ code, msg, digest string }

// manifestRecords checks that everything m references is there and returns
// the records of its blobs, or why m is refused.
func (q *request) manifestRecords(ctx context.Context, m *ociformat.Manifest) ([]repo.Record, *refusal, error) {
	for _, d := range m.Manifests {
		dr, _ := parseDigestRef(d.Digest) // Parse checked it
		_, found, err := q.t.Lookup(ctx, dr.manifestPath())
		if err != nil {
			return nil, nil, fmt.Errorf("look up %s: %w", d.Digest, err)
		}
		if !found {
			return nil, &refusal{codeManifestBlobUnknown, fmt.Sprintf("the index references manifest %s, which is not in %s: push it first", d.Digest, q.name), d.Digest}, nil
		}
	}
	var out []repo.Record
	seen := map[string]bool{}
	for _, d := range m.Blobs() {
		dr, _ := parseDigestRef(d.Digest)
		p := dr.blobPath()
		if seen[p] {
			continue
		}
		seen[p] = true
		id, size, ok, err := q.blobSizeDigest(ctx, dr)
		if err != nil {
			return nil, nil, fmt.Errorf("look up blob %s: %w", d.Digest, err)
		}
		if !ok && ociformat.IsNonDistributable(d.MediaType) {
			continue // fetched from its urls: the registry need not hold it
		}
		if !ok {
			return nil, &refusal{codeManifestBlobUnknown, fmt.Sprintf("the manifest references blob %s, which is not in %s: upload it first", d.Digest, q.name), d.Digest}, nil
		}
		if size != d.Size {
			return nil, &refusal{codeManifestInvalid, fmt.Sprintf("blob %s has %d bytes; the manifest says %d", d.Digest, size, d.Size), d.Digest}, nil
		}
		meta, err := q.provenance(ctx, p, id)
		if err != nil {
			return nil, nil, fmt.Errorf("look up blob %s: %w", d.Digest, err)
		}
		meta[container.MetaMediaType] = d.MediaType
		out = append(out, repo.Record{Path: p, SHA256: id, Size: size, Metadata: meta})
	}
	return out, nil, nil
}

// provenance returns the on-demand provenance (repo.MetaRemote,
// repo.MetaURL) of the version's record of blob id at p, if it holds it
// so: the record a manifest's version gets must still say where the
// bytes come from.
func (q *request) provenance(ctx context.Context, p string, id objects.ID) (map[string]string, error) {
	meta := map[string]string{}
	rec, found, err := q.t.Lookup(ctx, p)
	if err != nil || !found || rec.SHA256 != id || !repo.IsOnDemand(rec) {
		return meta, err
	}
	for _, k := range []string{repo.MetaRemote, repo.MetaURL} {
		if v, ok := rec.Metadata[k]; ok {
			meta[k] = v
		}
	}
	return meta, nil
}

// blobIDs returns the blobs of a manifest's blob records.
func blobIDs(records []repo.Record) []objects.ID {
	var out []objects.ID
	for _, rec := range records {
		if strings.HasPrefix(rec.Path, container.BlobsDir) {
			out = append(out, rec.SHA256)
		}
	}
	return out
}

// blobSize returns the size of blob id if the distribution's version
// holds it or it was uploaded into the repository, and is in the store.
func (q *request) blobSize(ctx context.Context, id objects.ID) (int64, bool, error) {
	rec, found, err := q.t.Lookup(ctx, container.BlobPath(id.String()))
	if err != nil {
		return 0, false, err
	}
	if !found {
		pushed, err := q.g.wasPushed(ctx, q.t.Dist.Repo, id)
		if err != nil {
			return 0, false, err
		}
		if !pushed {
			// A manifest naming it may have ended its mark after this
			// request resolved its version (namedByManifest): look again.
			if rec, found, err = q.relookup(ctx, container.BlobPath(id.String())); err != nil || !found {
				return 0, false, err
			}
		}
	}
	if found && repo.IsOnDemand(rec) {
		return rec.Size, true, nil
	}
	st, err := q.g.st.Objects().StatBlob(ctx, id)
	if errors.Is(err, objects.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return st.Size, true, nil
}

// deleteManifest removes a tag, or a manifest with its tags and the blob
// records no other manifest references, as a new version.
func (q *request) deleteManifest(w http.ResponseWriter, r *http.Request, refStr string) {
	if !q.authorize(w, r, true) || !q.writable(w) {
		return
	}
	ref, ok := parseReference(w, refStr)
	if !ok {
		return
	}
	ctx := r.Context()
	_, found, err := q.t.Lookup(ctx, ref.path())
	if err != nil {
		q.g.internal(w, r, "look up "+ref.path(), err)
		return
	}
	if !found {
		writeError(w, http.StatusNotFound, codeManifestUnknown, fmt.Sprintf("%s is not in %s", ref.name(), q.name), nil)
		return
	}
	removes := []string{ref.path()}
	if ref.tag == "" {
		if removes, err = q.g.manifestRemovals(ctx, q.t, ref.d); err != nil {
			q.g.internal(w, r, "delete "+ref.name(), err)
			return
		}
	}
	beforeDeleteCommit()
	err = q.commitDeletion(ctx, ref, removes)
	switch {
	case errors.Is(err, repo.ErrPathNotFound): // deleted meanwhile
		writeError(w, http.StatusNotFound, codeManifestUnknown, fmt.Sprintf("%s is not in %s", ref.name(), q.name), nil)
		return
	case err != nil:
		q.g.internal(w, r, "commit the deletion of "+ref.name(), err)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}

// maxDeletionRounds bounds how often a manifest DELETE lists its
// removals again because manifests came or went meanwhile.
const maxDeletionRounds = 8

// staleRemovals is a manifest DELETE's commit refused because the head
// it builds on asks for other removals (latest).
type staleRemovals struct{ latest []string }

func (e *staleRemovals) Error() string { return "the head changed what the deletion removes" }

// commitDeletion commits the removals of ref's deletion, listed from the
// distribution's version. A manifest DELETE commits them only if the
// head it builds on asks for the same (a manifest pushed meanwhile may
// reference a blob listed), else again with the head's list.
func (q *request) commitDeletion(ctx context.Context, ref reference, removes []string) error {
	var checked objects.ID
	if q.t.Version != nil {
		checked = q.t.Version.ID
	}
	for round := 0; ; round++ {
		req := repo.CommitRequest{Removes: removes, Message: "delete " + q.name + ":" + ref.name()}
		if ref.tag == "" {
			req.Precondition = func(ctx context.Context, head repo.HeadView) error {
				if head.ID() == checked {
					return nil
				}
				latest, err := q.g.manifestRemovals(ctx, head, ref.d)
				if err != nil {
					return err
				}
				if !slices.Equal(latest, removes) {
					return &staleRemovals{latest}
				}
				return nil
			}
		}
		_, err := q.g.st.Commit(q.commitCtx(ctx), q.t.Dist.Repo, req)
		var stale *staleRemovals
		if !errors.As(err, &stale) || round+1 >= maxDeletionRounds {
			return err
		}
		// The head's list holds for the head it was read from only:
		// checked again against whatever head the next attempt meets.
		removes, checked = stale.latest, objects.ID{}
	}
}

// versionReader reads a version: a distribution's (content.Target) or a
// commit's head (repo.HeadView).
type versionReader interface {
	prefixer
	Lookup(ctx context.Context, p string) (repo.Record, bool, error)
}

// manifestRemovals lists what deleting manifest d from version v
// removes: it, the tags naming it, and its blobs that no other manifest
// references. A manifest v lacks is repo.ErrPathNotFound.
func (g *registry) manifestRemovals(ctx context.Context, v versionReader, d digestRef) ([]string, error) {
	gone := d.manifestPath()
	if _, found, err := v.Lookup(ctx, gone); err != nil {
		return nil, err
	} else if !found {
		return nil, fmt.Errorf("%s: %w", gone, repo.ErrPathNotFound)
	}
	digest := d.String()
	out := []string{gone}
	err := v.Prefix(ctx, container.TagsDir, func(rec repo.Record) error {
		if rec.Metadata[container.MetaDigest] == digest {
			out = append(out, rec.Path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var own []string
	kept := map[string]bool{}
	err = eachManifestOf(ctx, v, func(rec repo.Record) error {
		m, err := g.readManifest(ctx, rec)
		if err != nil {
			return fmt.Errorf("%s: %w", rec.Path, err)
		}
		for _, bd := range m.Blobs() {
			dr, _ := parseDigestRef(bd.Digest)
			if rec.Path == gone {
				own = append(own, dr.blobPath())
			} else {
				kept[dr.blobPath()] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, p := range own {
		if kept[p] || seen[p] {
			continue
		}
		seen[p] = true
		if _, found, err := v.Lookup(ctx, p); err != nil {
			return nil, err
		} else if found {
			out = append(out, p)
		}
	}
	return out, nil
}

// readManifest reads and parses a manifest record's content.
func (g *registry) readManifest(ctx context.Context, rec repo.Record) (*ociformat.Manifest, error) {
	return container.LoadManifest(ctx, g.st, rec)
}

// listTags answers tags/list, sorted, paged with n and last.
func (q *request) listTags(w http.ResponseWriter, r *http.Request) {
	if !q.authorize(w, r, false) {
		return
	}
	qs := r.URL.Query()
	limit := -1
	if s := qs.Get("n"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, codeUnsupported, "n must be a number of tags, 0 or more", nil)
			return
		}
		limit = n
	}
	last := qs.Get("last")
	recs, err := q.t.Records(r.Context())
	if err != nil {
		q.g.internal(w, r, "list tags", err)
		return
	}
	start := container.TagsDir
	if last != "" {
		start = container.TagPath(last) + "\x00"
	}
	tags := []string{}
	more := false
	for i := sort.Search(len(recs), func(i int) bool { return recs[i].Path >= start }); i < len(recs); i++ {
		tag, ok := strings.CutPrefix(recs[i].Path, container.TagsDir)
		if !ok {
			break
		}
		if limit >= 0 && len(tags) == limit {
			more = true
			break
		}
		tags = append(tags, tag)
	}
	if more && len(tags) > 0 {
		v := url.Values{"n": {strconv.Itoa(limit)}, "last": {tags[len(tags)-1]}}
		w.Header().Set("Link", "</v2/"+q.name+"/tags/list?"+v.Encode()+`>; rel="next"`)
	}
	writeJSON(w, r, "application/json", struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{q.name, tags})
}

func writeJSON(w http.ResponseWriter, r *http.Request, ctype string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, codeUnknown, "encode the answer", nil)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// errEnough ends a read that has all it may return.
var errEnough = errors.New("enough")

// referrers answers the OCI 1.1 referrers API: an index of the manifests
// whose subject is the digest, optionally of one artifactType.
func (q *request) referrers(w http.ResponseWriter, r *http.Request, digest string) {
	if !q.authorize(w, r, false) {
		return
	}
	if _, err := parseDigestRef(digest); err != nil {
		writeError(w, http.StatusBadRequest, codeDigestInvalid, err.Error(), nil)
		return
	}
	ctx := r.Context()
	filter := r.URL.Query().Get("artifactType")
	out := []ociformat.Descriptor{}
	// The manifests are read by prefix: the tags and blobs are not listed.
	err := q.eachManifest(ctx, func(rec repo.Record) error {
		if len(out) >= maxReferrersResults {
			return errEnough
		}
		if rec.Metadata[container.MetaSubject] != digest {
			return nil
		}
		at := rec.Metadata[container.MetaArtifactType]
		if filter != "" && at != filter {
			return nil
		}
		d := ociformat.Descriptor{MediaType: rec.Metadata[container.MetaMediaType], Digest: container.ManifestRef(rec.Path), Size: rec.Size, ArtifactType: at}
		if m, err := q.g.readManifest(ctx, rec); err == nil {
			d.Annotations = m.Annotations
		}
		out = append(out, d)
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		q.g.internal(w, r, "referrers", err)
		return
	}
	if filter != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	writeJSON(w, r, ociformat.MediaTypeImageIndex, struct {
		SchemaVersion int                    `json:"schemaVersion"`
		MediaType     string                 `json:"mediaType"`
		Manifests     []ociformat.Descriptor `json:"manifests"`
	}{2, ociformat.MediaTypeImageIndex, out})
}
