package oci

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/internal/auth"
	ociformat "github.com/pkgvc/pkgvc/internal/format/oci"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/kinds/container"
)

// uploadPrefix names the temporary files of upload sessions.
const uploadPrefix = "oci-upload-"

// upload is one blob upload session; mu orders its requests.
type upload struct {
	mu      sync.Mutex
	id      string
	name    string // the repository name it was started for
	repo    string
	path    string // temporary file
	size    int64
	touched time.Time // guarded by registry.mu
	done    bool      // removed; guarded by mu
}

// getBlob serves a blob the version holds (a layer, a config, or a
// manifest asked for as a blob), one uploaded by a pusher who asks, or one
// pulled through the remote.
func (q *request) getBlob(w http.ResponseWriter, r *http.Request, digest string) {
	if !q.authorize(w, r, false) {
		return
	}
	hex, err := ociformat.ParseDigest(digest)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeDigestInvalid, err.Error(), nil)
		return
	}
	ctx := r.Context()
	rec, found, err := q.findBlob(ctx, r, hex)
	if err == nil && !found && q.t.Dist.Remote != "" {
		perr := q.g.s.Pull(ctx, q.t.Dist, digest, 0)
		switch {
		case perr == nil:
			if err = q.refresh(ctx); err == nil {
				rec, found, err = q.findBlob(ctx, r, hex)
			}
		case errors.Is(perr, content.ErrNoPullThrough), errors.Is(perr, content.ErrNotOnRemote):
		default:
			q.g.s.Logger().Warn("pull-through", "dist", q.t.Dist.Name, "remote", q.t.Dist.Remote, "blob", digest, "err", perr)
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
	q.g.s.ServeRecord(w, r, &rec)
}

// findBlob looks blob hex up: in the version as a blob or a manifest, then
// among the blobs uploaded into the repository, for a requester who may
// push there.
func (q *request) findBlob(ctx context.Context, r *http.Request, hex string) (repo.Record, bool, error) {
	for _, p := range []string{container.BlobPath(hex), container.ManifestPath(hex)} {
		rec, found, err := q.t.Lookup(ctx, p)
		if err != nil || found {
			return rec, found, err
		}
	}
	id, _ := objects.ParseID(hex)
	if q.t.Dist.Repo == "" || !q.g.wasPushed(q.t.Dist.Repo, id) || !q.canWrite(r) {
		return repo.Record{}, false, nil
	}
	st, err := q.g.st.Objects().StatBlob(ctx, id)
	if errors.Is(err, objects.ErrNotFound) {
		return repo.Record{}, false, nil
	}
	if err != nil {
		return repo.Record{}, false, err
	}
	return repo.Record{Path: container.BlobPath(hex), SHA256: id, Size: st.Size}, true, nil
}

// wasPushed reports whether blob id was uploaded into repository rp
// lately (and not yet committed in a version, perhaps).
func (g *registry) wasPushed(rp string, id objects.ID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	at, ok := g.pushed[pushedKey{rp, id}]
	return ok && g.cfg.now().Sub(at) < pushedTTL
}

func (g *registry) markPushed(rp string, id objects.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pushed[pushedKey{rp, id}] = g.cfg.now()
}

// serveUpload routes the blob upload endpoints.
func (q *request) serveUpload(w http.ResponseWriter, r *http.Request, id string) {
	if !q.authorize(w, r, true) || !q.writable(w) {
		return
	}
	q.g.sweep()
	if id == "" {
		if r.Method != http.MethodPost {
			notAllowed(w, "POST")
			return
		}
		q.startUpload(w, r)
		return
	}
	u := q.g.session(id, q.name)
	if u == nil {
		writeError(w, http.StatusNotFound, codeBlobUploadUnknown, "no upload session "+id+" for "+q.name+" (finished, canceled or timed out)", nil)
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		writeError(w, http.StatusNotFound, codeBlobUploadUnknown, "upload session "+id+" is over", nil)
		return
	}
	defer q.g.touch(u)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		q.uploadStatus(w, u, http.StatusNoContent)
	case http.MethodPatch:
		if !q.appendChunk(w, r, u, true) {
			return
		}
		q.uploadStatus(w, u, http.StatusAccepted)
	case http.MethodPut:
		q.finishUpload(w, r, u)
	case http.MethodDelete:
		q.g.drop(u)
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusNoContent)
	default:
		notAllowed(w, "GET, HEAD, PATCH, PUT, DELETE")
	}
}

// startUpload answers POST .../blobs/uploads/: a mount, a monolithic
// upload with ?digest=, or a new session.
func (q *request) startUpload(w http.ResponseWriter, r *http.Request) {
	qs := r.URL.Query()
	if mount, from := qs.Get("mount"), qs.Get("from"); mount != "" && from != "" && q.mount(w, r, mount, from) {
		return
	}
	if d := qs.Get("digest"); d != "" {
		hex, err := ociformat.ParseDigest(d)
		if err != nil {
			writeError(w, http.StatusBadRequest, codeDigestInvalid, err.Error(), nil)
			return
		}
		q.storeBlob(w, r, http.MaxBytesReader(w, r.Body, q.g.s.MaxBodyBytes()), hex)
		return
	}
	if q.g.openUploads(q.t.Dist.Repo) >= maxUploadsPerRepo {
		writeError(w, http.StatusTooManyRequests, codeTooManyRequests,
			fmt.Sprintf("%d uploads to %s are open: finish or cancel some first", maxUploadsPerRepo, q.name), nil)
		return
	}
	if err := os.MkdirAll(q.g.tempDir, 0o700); err != nil {
		q.g.internal(w, r, "start an upload", err)
		return
	}
	f, err := os.CreateTemp(q.g.tempDir, uploadPrefix+"*")
	if err != nil {
		q.g.internal(w, r, "start an upload", err)
		return
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(f.Name())
		q.g.internal(w, r, "start an upload", err)
		return
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	u := &upload{id: hex.EncodeToString(b[:]), name: q.name, repo: q.t.Dist.Repo, path: f.Name()}
	q.g.mu.Lock()
	u.touched = q.g.cfg.now()
	q.g.uploads[u.id] = u
	q.g.mu.Unlock()
	q.uploadStatus(w, u, http.StatusAccepted)
}

// uploadStatus answers with a session's location and progress.
func (q *request) uploadStatus(w http.ResponseWriter, u *upload, status int) {
	h := w.Header()
	h.Set("Location", "/v2/"+q.name+"/blobs/uploads/"+u.id)
	h.Set("Docker-Upload-UUID", u.id)
	h.Set("Range", fmt.Sprintf("0-%d", max(u.size-1, 0)))
	h.Set("Content-Length", "0")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
}

// appendChunk streams r's body to the end of the session's file. A
// Content-Range must start where the session ends; a failed chunk leaves
// the session as it was. It reports whether it succeeded; otherwise it
// answered.
func (q *request) appendChunk(w http.ResponseWriter, r *http.Request, u *upload, needBody bool) bool {
	start, end, hasRange, ok := parseContentRange(r.Header.Get("Content-Range"))
	if !ok {
		writeError(w, http.StatusBadRequest, codeBlobUploadInvalid, "Content-Range must be <start>-<end>", nil)
		return false
	}
	if hasRange && start != u.size {
		w.Header().Set("Location", "/v2/"+q.name+"/blobs/uploads/"+u.id)
		w.Header().Set("Range", fmt.Sprintf("0-%d", max(u.size-1, 0)))
		writeError(w, http.StatusRequestedRangeNotSatisfiable, codeBlobUploadInvalid, fmt.Sprintf("chunk starts at %d, the upload has %d bytes: send chunks in order", start, u.size), nil)
		return false
	}
	if !needBody && r.ContentLength == 0 {
		return true
	}
	room := q.g.s.MaxBodyBytes() - u.size
	if room <= 0 || (hasRange && end-start+1 > room) || r.ContentLength > room {
		writeError(w, http.StatusRequestEntityTooLarge, codeSizeInvalid, fmt.Sprintf("a blob may have at most %d bytes", q.g.s.MaxBodyBytes()), nil)
		return false
	}
	f, err := os.OpenFile(u.path, os.O_WRONLY, 0)
	if err != nil {
		q.g.internal(w, r, "open the upload", err)
		return false
	}
	n, err := writeAt(f, u.size, http.MaxBytesReader(w, r.Body, room))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && hasRange && n != end-start+1 {
		err = fmt.Errorf("%w: Content-Range says %d bytes, the body has %d", errBadChunk, end-start+1, n)
	}
	if err == nil && r.ContentLength >= 0 && n != r.ContentLength {
		err = fmt.Errorf("%w: Content-Length says %d bytes, the body has %d", errBadChunk, r.ContentLength, n)
	}
	if err != nil {
		_ = os.Truncate(u.path, u.size) // keep what earlier chunks sent
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, codeSizeInvalid, fmt.Sprintf("a blob may have at most %d bytes", q.g.s.MaxBodyBytes()), nil)
			return false
		}
		if errors.Is(err, errBadChunk) {
			writeError(w, http.StatusBadRequest, codeSizeInvalid, err.Error(), nil)
		} else {
			writeError(w, http.StatusBadRequest, codeBlobUploadInvalid, "reading the chunk: "+oneLine(err.Error()), nil)
		}
		return false
	}
	u.size += n
	return true
}

var errBadChunk = errors.New("chunk size mismatch")

// maxUploadsPerRepo bounds the open upload sessions of one repository, so
// that abandoned sessions cannot fill the disk before they expire.
const maxUploadsPerRepo = 256

// openUploads counts the open upload sessions to repository rp.
func (g *registry) openUploads(rp string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, u := range g.uploads {
		if u.repo == rp {
			n++
		}
	}
	return n
}

// writeAt copies r to f from offset off, dropping anything beyond it first.
func writeAt(f *os.File, off int64, r io.Reader) (int64, error) {
	if err := f.Truncate(off); err != nil {
		return 0, err
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	return io.Copy(f, r)
}

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
// content as blob ?digest=; a wrong digest keeps nothing.
func (q *request) finishUpload(w http.ResponseWriter, r *http.Request, u *upload) {
	hex, err := ociformat.ParseDigest(r.URL.Query().Get("digest"))
	if err != nil {
		writeError(w, http.StatusBadRequest, codeDigestInvalid, err.Error(), nil)
		return
	}
	if !q.appendChunk(w, r, u, false) {
		return
	}
	f, err := os.Open(u.path)
	if err != nil {
		q.g.internal(w, r, "open the upload", err)
		return
	}
	defer f.Close()
	q.storeBlob(w, r, io.LimitReader(f, u.size), hex)
	q.g.drop(u) // done, or refused: the spec has the client start again
}

// storeBlob stores content as blob hex if that is its digest, marks it
// pushed to the repository and pins it for as long (pushedTTL), so that
// gc keeps it for the manifest that is to name it.
func (q *request) storeBlob(w http.ResponseWriter, r *http.Request, content io.Reader, hex string) {
	// From the write to the pin: see repo.Store.GC.
	ctx, release, err := q.g.st.Objects().LongLease(r.Context()) // content may come from the network
	if err != nil {
		q.g.internal(w, r, "store the blob", err)
		return
	}
	defer release()
	b := q.g.st.Objects().NewBatch()
	res, err := b.PutBlob(ctx, content)
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
	if res.ID.String() != hex {
		b.Abort()
		writeError(w, http.StatusBadRequest, codeDigestInvalid, fmt.Sprintf("the uploaded content has digest sha256:%s, not sha256:%s; nothing was kept", res.ID, hex), nil)
		return
	}
	if err := b.Flush(ctx); err != nil {
		q.g.internal(w, r, "store the blob", err)
		return
	}
	if _, err := q.g.st.Pin(ctx, res.ID, "oci push "+q.name, pushedTTL); err != nil {
		q.g.internal(w, r, "pin the blob", err)
		return
	}
	if res.New {
		// Hashed just now: a pull right after the push needs no hashing.
		q.g.s.BlobWritten(res.ID)
	}
	q.g.markPushed(q.t.Dist.Repo, res.ID)
	q.blobCreated(w, "sha256:"+hex)
}

func (q *request) blobCreated(w http.ResponseWriter, digest string) {
	h := w.Header()
	h.Set("Location", "/v2/"+q.name+"/blobs/"+digest)
	h.Set("Docker-Content-Digest", digest)
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// mount makes blob digest of container distribution from available to
// this repository if the requester may read from and from holds it. It
// reports whether it answered; otherwise the caller starts an upload.
func (q *request) mount(w http.ResponseWriter, r *http.Request, digest, from string) bool {
	hex, err := ociformat.ParseDigest(digest)
	if err != nil || !ociformat.ValidName(from) {
		return false
	}
	ctx := r.Context()
	src, err := q.g.s.Target(ctx, from)
	if err != nil || src == nil || src.Dist.Kind != Kind {
		return false
	}
	if src.Dist.Private {
		tok, ok := auth.Credentials(r)
		if !ok {
			return false
		}
		if _, err := q.g.s.CanRead(r, tok, src.Dist); err != nil {
			return false
		}
	}
	rec, found, err := src.Lookup(ctx, container.BlobPath(hex))
	if err != nil || !found {
		return false
	}
	// Pinned as an upload is: the version holding it may drop it before
	// the manifest naming it comes. A blob not stored (an on-demand
	// record) is uploaded instead.
	if _, err := q.g.st.Pin(ctx, rec.SHA256, "oci mount "+q.name, pushedTTL); err != nil {
		return false
	}
	q.g.markPushed(q.t.Dist.Repo, rec.SHA256)
	q.blobCreated(w, digest)
	return true
}

// session returns the live upload id of repository name.
func (g *registry) session(id, name string) *upload {
	g.mu.Lock()
	defer g.mu.Unlock()
	u := g.uploads[id]
	if u == nil || u.name != name {
		return nil
	}
	return u
}

func (g *registry) touch(u *upload) {
	g.mu.Lock()
	u.touched = g.cfg.now()
	g.mu.Unlock()
}

// drop ends a session whose mu is held.
func (g *registry) drop(u *upload) {
	u.done = true
	_ = os.Remove(u.path) // gone already is fine
	g.mu.Lock()
	delete(g.uploads, u.id)
	g.mu.Unlock()
}

// sweep removes sessions idle for longer than the upload timeout (at most
// once per sweepEvery), and forgets old pushed blobs.
func (g *registry) sweep() {
	now := g.cfg.now()
	g.mu.Lock()
	if now.Sub(g.lastSweep) < sweepEvery {
		g.mu.Unlock()
		return
	}
	first := g.lastSweep.IsZero()
	g.lastSweep = now
	var idle []*upload
	for _, u := range g.uploads {
		if now.Sub(u.touched) > g.cfg.uploadTimeout {
			idle = append(idle, u)
		}
	}
	for k, at := range g.pushed {
		if now.Sub(at) >= pushedTTL {
			delete(g.pushed, k)
		}
	}
	g.mu.Unlock()
	for _, u := range idle {
		if u.mu.TryLock() { // a busy session is not idle
			g.drop(u)
			u.mu.Unlock()
		}
	}
	if first {
		removeStale(g.tempDir, now.Add(-g.cfg.uploadTimeout))
	}
}
