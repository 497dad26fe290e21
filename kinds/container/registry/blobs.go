package registry

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/pkgvc/pkgvc/content"
	ociformat "github.com/pkgvc/pkgvc/kinds/container/format"
	"github.com/pkgvc/pkgvc/uploads"
)

// getBlob serves a blob the version holds (a layer, a config, or a
// manifest asked for as a blob), one pushed into the repository and not
// yet in a version, or one pulled through the remote.
func (q *request) getBlob(w http.ResponseWriter, r *http.Request, digest string) {
	if !q.authorize(w, r, false) {
		return
	}
	dr, err := parseDigestRef(digest)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeDigestInvalid, err.Error(), nil)
		return
	}
	ctx := r.Context()
	rec, found, err := q.findBlobDigest(ctx, dr)
	if err == nil && !found && q.t.Dist.Remote != "" {
		perr := q.g.s.Pull(ctx, q.t.Dist, digest, 0)
		switch {
		case perr == nil:
			if err = q.refresh(ctx); err == nil {
				rec, found, err = q.findBlobDigest(ctx, dr)
			}
		case errors.Is(perr, content.ErrNoPullThrough), errors.Is(perr, content.ErrNotOnRemote):
		case q.rateLimited(w, perr, reference{d: dr}):
			return
		default:
			// Unknown is not the answer: the upstream may have it once
			// it is back, and a client is to retry.
			q.g.s.Logger().Warn("pull-through", "dist", q.t.Dist.Name, "remote", q.t.Dist.Remote, "blob", digest, "err", perr)
			writeError(w, http.StatusBadGateway, codeUnavailable, fmt.Sprintf("blob %s is not in %s, and pulling it from remote %s failed: %s", digest, q.name, q.t.Dist.Remote, oneLine(perr.Error())), nil)
			return
		}
	}
	if err != nil {
		q.g.internal(w, r, "look up blob "+digest, err)
		return
	}
	if !found {
		writeError(w, http.StatusNotFound, codeBlobUnknown, fmt.Sprintf("blob %s is not in %s", digest, q.name), map[string]string{"digest": digest})
		return
	}
	h := w.Header()
	h.Set("Content-Type", octetStream)
	h.Set("Docker-Content-Digest", digest)
	h.Set("Cache-Control", q.cacheControl(true))
	q.g.s.ServeRecordWith(w, r, &rec, serveOptions)
}

// sessionScope is the scope of upload sessions to repository name.
func sessionScope(name string) string { return "oci:" + name }

// serveUpload routes the blob upload endpoints. A session's state is in
// the store: its requests may reach any server of the store.
func (q *request) serveUpload(w http.ResponseWriter, r *http.Request, id string) {
	if !q.authorize(w, r, true) || !q.writable(w) {
		return
	}
	if q.g.up == nil {
		w.Header().Set("Allow", "")
		writeError(w, http.StatusMethodNotAllowed, codeUnsupported, "this registry takes no blob uploads: the server was started without an upload engine", nil)
		return
	}
	if id == "" {
		if r.Method != http.MethodPost {
			notAllowed(w, "POST")
			return
		}
		q.startUpload(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s, err := q.g.up.Get(r.Context(), id)
		if err == nil && s.Scope != sessionScope(q.name) {
			err = uploads.ErrNotFound
		}
		if err != nil {
			q.uploadError(w, r, id, err)
			return
		}
		q.uploadStatus(w, id, s.Offset, http.StatusNoContent)
	case http.MethodPatch:
		s, ok := q.appendChunk(w, r, id, true)
		if !ok {
			return
		}
		q.uploadStatus(w, id, s.Offset, http.StatusAccepted)
	case http.MethodPut:
		q.finishUpload(w, r, id)
	case http.MethodDelete:
		if err := q.g.up.Delete(r.Context(), id, "", sessionScope(q.name)); err != nil {
			q.uploadError(w, r, id, err)
			return
		}
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusNoContent)
	default:
		notAllowed(w, "GET, HEAD, PATCH, PUT, DELETE")
	}
}

// uploadError answers an error of the upload engine.
func (q *request) uploadError(w http.ResponseWriter, r *http.Request, id string, err error) {
	var oe *uploads.OffsetError
	var tl *uploads.TooLargeError
	var ce *uploads.ChunkError
	var de *uploads.DigestError
	var he *uploads.HashError
	switch {
	case errors.Is(err, uploads.ErrNotFound):
		writeError(w, http.StatusNotFound, codeBlobUploadUnknown, "no upload session "+id+" for "+q.name+" (finished, canceled or timed out)", nil)
	case errors.As(err, &oe):
		w.Header().Set("Location", "/v2/"+q.name+"/blobs/uploads/"+id)
		w.Header().Set("Range", fmt.Sprintf("0-%d", max(oe.Offset-1, 0)))
		writeError(w, http.StatusRequestedRangeNotSatisfiable, codeBlobUploadInvalid, fmt.Sprintf("chunk starts at %d, the upload has %d bytes: send chunks in order", oe.Start, oe.Offset), nil)
	case errors.As(err, &tl), errors.As(err, new(*http.MaxBytesError)):
		writeError(w, http.StatusRequestEntityTooLarge, codeSizeInvalid, fmt.Sprintf("a blob may have at most %d bytes", q.g.s.MaxBodyBytes()), nil)
	case errors.As(err, &ce) && errors.Is(err, uploads.ErrChunkSize):
		writeError(w, http.StatusBadRequest, codeSizeInvalid, oneLine(ce.Err.Error()), nil)
	case errors.As(err, &ce):
		writeError(w, http.StatusBadRequest, codeBlobUploadInvalid, "reading the chunk: "+oneLine(ce.Err.Error()), nil)
	case errors.As(err, &he):
		writeError(w, http.StatusBadRequest, codeDigestInvalid, fmt.Sprintf("the uploaded content does not have the digest given (sha%d:%x); nothing was kept", len(he.Want)*8, he.Want), nil)
	case errors.As(err, &de):
		writeError(w, http.StatusBadRequest, codeDigestInvalid, fmt.Sprintf("the uploaded content has digest sha256:%s, not sha256:%s; nothing was kept", de.Got, de.Want), nil)
	default:
		q.g.internal(w, r, "blob upload", err)
	}
}

// startUpload answers POST .../blobs/uploads/: a mount, a monolithic
// upload with ?digest=, or a new session.
func (q *request) startUpload(w http.ResponseWriter, r *http.Request) {
	qs := r.URL.Query()
	if mount := qs.Get("mount"); mount != "" && q.mount(w, r, mount, qs.Get("from")) {
		return
	}
	if d := qs.Get("digest"); d != "" {
		dr, err := parseDigestRef(d)
		if err != nil {
			writeError(w, http.StatusBadRequest, codeDigestInvalid, err.Error(), nil)
			return
		}
		q.storeBlob(w, r, http.MaxBytesReader(w, r.Body, q.g.s.MaxBodyBytes()), dr)
		return
	}
	ctx := r.Context()
	scope := sessionScope(q.name)
	n, err := q.g.up.Count(ctx, func(s *uploads.Session) bool { return s.Scope == scope })
	if err != nil {
		q.g.internal(w, r, "start an upload", err)
		return
	}
	if n >= maxUploadsPerRepo {
		writeError(w, http.StatusTooManyRequests, codeTooManyRequests,
			fmt.Sprintf("%d uploads to %s are open: finish or cancel some first", maxUploadsPerRepo, q.name), nil)
		return
	}
	s, err := q.g.up.Create(ctx, q.who, scope, q.g.cfg.uploadTimeout)
	if err != nil {
		q.g.internal(w, r, "start an upload", err)
		return
	}
	q.uploadStatus(w, s.ID, s.Offset, http.StatusAccepted)
}

// uploadStatus answers with a session's location and progress.
func (q *request) uploadStatus(w http.ResponseWriter, id string, size int64, status int) {
	h := w.Header()
	h.Set("Location", "/v2/"+q.name+"/blobs/uploads/"+id)
	h.Set("Docker-Upload-UUID", id)
	h.Set("Range", fmt.Sprintf("0-%d", max(size-1, 0)))
	h.Set("Content-Length", "0")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
}

// appendChunk streams r's body to the end of the session. A Content-Range
// must start where the session ends; a failed chunk leaves the session as
// it was. It returns the session after it, or false once it answered.
func (q *request) appendChunk(w http.ResponseWriter, r *http.Request, id string, needBody bool) (*uploads.Session, bool) {
	start, end, hasRange, ok := parseContentRange(r.Header.Get("Content-Range"))
	if !ok {
		writeError(w, http.StatusBadRequest, codeBlobUploadInvalid, "Content-Range must be <start>-<end>", nil)
		return nil, false
	}
	scope := sessionScope(q.name)
	if !needBody && r.ContentLength == 0 {
		s, err := q.g.up.Get(r.Context(), id)
		if err == nil && s.Scope != scope {
			err = uploads.ErrNotFound
		}
		if err == nil && hasRange && start != s.Offset {
			err = &uploads.OffsetError{ID: id, Offset: s.Offset, Start: start}
		}
		if err != nil {
			q.uploadError(w, r, id, err)
			return nil, false
		}
		return s, true
	}
	o := uploads.AppendOptions{Start: -1, Size: r.ContentLength, Limit: q.g.s.MaxBodyBytes(), Scope: scope}
	if hasRange {
		o.Start, o.Size = start, end-start+1
		if r.ContentLength >= 0 && r.ContentLength != o.Size {
			writeError(w, http.StatusBadRequest, codeSizeInvalid, fmt.Sprintf("Content-Range says %d bytes, Content-Length %d", o.Size, r.ContentLength), nil)
			return nil, false
		}
	}
	s, err := q.g.up.Append(r.Context(), id, r.Body, o)
	if err != nil {
		q.uploadError(w, r, id, err)
		return nil, false
	}
	return s, true
}

// maxUploadsPerRepo bounds the open upload sessions of one repository, so
// that abandoned sessions cannot fill the disk before they expire.
const maxUploadsPerRepo = 256

// parseContentRange parses "<start>-<end>" (also "bytes <start>-<end>" or
// with a "/<size>" suffix).
func parseContentRange(s string) (start, end int64, has, ok bool) {
	if s == "" {
		return 0, 0, false, true
	}
	s = strings.TrimPrefix(strings.TrimSpace(s), "bytes ")
	s, _, _ = strings.Cut(s, "/")
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return 0, 0, false, false
	}
	return start, end, true, true
}

// finishUpload appends the last chunk, if any, and stores the session's
// content as blob ?digest=; a wrong digest keeps nothing. The blob is
// pinned and recorded as pushed to the repository, for the manifest that
// is to name it, which any server of the store may take.
func (q *request) finishUpload(w http.ResponseWriter, r *http.Request, id string) {
	dr, err := parseDigestRef(r.URL.Query().Get("digest"))
	if err != nil {
		writeError(w, http.StatusBadRequest, codeDigestInvalid, err.Error(), nil)
		return
	}
	if _, ok := q.appendChunk(w, r, id, false); !ok {
		return
	}
	b, err := q.g.up.Finish(r.Context(), id, dr.id(), dr.finishOptions(uploads.FinishOptions{
		Size: -1, Scope: sessionScope(q.name), PinReason: pushReason(q.t.Dist.Repo), Mark: pushedBy(q.t.Dist.Repo),
	}))
	if err != nil {
		q.uploadError(w, r, id, err)
		return
	}
	if b.New {
		// Hashed just now: a pull right after the push needs no hashing.
		q.g.s.BlobWritten(b.ID)
	}
	q.blobCreated(w, dr.String())
}

// storeBlob stores content as blob d if that is its digest, marks it
// pushed to the repository and pins it for as long (pushedTTL), so that
// gc keeps it for the manifest that is to name it.
func (q *request) storeBlob(w http.ResponseWriter, r *http.Request, content io.Reader, d digestRef) {
	// From the write to the pin: see repo.Store.GC.
	ctx, release, err := q.g.st.Objects().LongLease(r.Context()) // content may come from the network
	if err != nil {
		q.g.internal(w, r, "store the blob", err)
		return
	}
	defer release()
	b := q.g.st.Objects().NewBatch()
	body := newAliasReader(content, d) // a sha512 is checked in the same pass
	res, err := b.PutBlob(ctx, body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		b.Abort()
		writeError(w, http.StatusRequestEntityTooLarge, codeSizeInvalid, fmt.Sprintf("a blob may have at most %d bytes", tooBig.Limit), nil)
		return
	}
	if err != nil {
		b.Abort()
		writeError(w, http.StatusBadRequest, codeBlobUploadInvalid, "reading the blob: "+oneLine(err.Error()), nil)
		return
	}
	if !body.check(res.ID, d) {
		b.Abort()
		writeError(w, http.StatusBadRequest, codeDigestInvalid, hashMismatch(d, res.ID), nil)
		return
	}
	if err := b.Flush(ctx); err != nil {
		q.g.internal(w, r, "store the blob", err)
		return
	}
	if _, err := q.g.st.Pin(ctx, res.ID, pushReason(q.t.Dist.Repo), pushedTTL); err != nil {
		q.g.internal(w, r, "pin the blob", err)
		return
	}
	if res.New {
		// Hashed just now: a pull right after the push needs no hashing.
		q.g.s.BlobWritten(res.ID)
	}
	if err := q.g.up.MarkUploaded(ctx, pushedBy(q.t.Dist.Repo), res.ID); err != nil {
		q.g.internal(w, r, "record the blob", err)
		return
	}
	if err := q.markAlias(ctx, d, res.ID); err != nil {
		q.g.internal(w, r, "record the blob", err)
		return
	}
	q.blobCreated(w, d.String())
}

func (q *request) blobCreated(w http.ResponseWriter, digest string) {
	h := w.Header()
	h.Set("Location", "/v2/"+q.name+"/blobs/"+digest)
	h.Set("Docker-Content-Digest", digest)
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// mount makes blob digest available to this repository if the requester
// may read it in container distribution from (or, without from, in any
// container distribution: see mountSource). It reports whether it
// answered; otherwise the caller starts an upload.
func (q *request) mount(w http.ResponseWriter, r *http.Request, digest, from string) bool {
	dr, err := parseDigestRef(digest)
	if err != nil || from != "" && !ociformat.ValidName(from) {
		return false
	}
	ctx := r.Context()
	rec, found := q.mountSource(ctx, r, dr, from)
	if !found {
		return false
	}
	// Pinned as an upload is: the version holding it may drop it before
	// the manifest naming it comes. A blob not stored (an on-demand
	// record) is uploaded instead.
	if _, err := q.g.st.Pin(ctx, rec.SHA256, pushReason(q.t.Dist.Repo), pushedTTL); err != nil {
		return false
	}
	if err := q.g.up.MarkUploaded(ctx, pushedBy(q.t.Dist.Repo), rec.SHA256); err != nil {
		return false
	}
	if err := q.markAlias(ctx, dr, rec.SHA256); err != nil {
		return false
	}
	q.blobCreated(w, digest)
	return true
}
