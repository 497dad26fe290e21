package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/pkgvc/pkgvc/api/wire"
	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// uploads keeps unfinished uploads as files: ID.part holds the bytes
// received (its size is the offset, its modification time the last
// activity), ID.owner the name of the token that opened it.
type uploads struct {
	dir     string
	ttl     time.Duration
	now     func() time.Time
	maxOpen int
	done    *uploaded

	mu        sync.Mutex
	busy      map[string]*uploadLock
	lastSweep time.Time
}

type uploadLock struct {
	ch   chan struct{} // holds a value while locked
	refs int
}

var uploadIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// DefaultMaxOpenUploads is how many unfinished uploads a token may have.
const DefaultMaxOpenUploads = 64

// openBy counts the unfinished uploads of token name.
func (u *uploads) openBy(name string) (int, error) {
	ents, err := os.ReadDir(u.dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".owner")
		if !ok || !uploadIDRE.MatchString(id) {
			continue
		}
		if owner, err := os.ReadFile(u.owner(id)); err == nil && string(owner) == name {
			n++
		}
	}
	return n, nil
}

func (u *uploads) part(id string) string  { return filepath.Join(u.dir, id+".part") }
func (u *uploads) owner(id string) string { return filepath.Join(u.dir, id+".owner") }

// lock serializes the requests on one upload: a resume waits until the
// request whose connection dropped has written what it received.
func (u *uploads) lock(ctx context.Context, id string) (func(), error) {
	u.mu.Lock()
	l := u.busy[id]
	if l == nil {
		l = &uploadLock{ch: make(chan struct{}, 1)}
		u.busy[id] = l
	}
	l.refs++
	u.mu.Unlock()
	release := func() {
		u.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(u.busy, id)
		}
		u.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

// open checks that upload id exists and belongs to the request's token,
// and returns its state.
func (u *uploads) open(ctx context.Context, id string) (*wire.Upload, error) {
	notFound := errorf(repo.ErrNotFound, "upload %s not found (finished, deleted or expired)", id)
	if !uploadIDRE.MatchString(id) {
		return nil, notFound
	}
	owner, err := os.ReadFile(u.owner(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	if tok := tokenFrom(ctx); tok == nil || string(owner) != tok.Name {
		return nil, notFound // another token's uploads are not even there
	}
	fi, err := os.Stat(u.part(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	return &wire.Upload{ID: id, Offset: fi.Size(), Expires: fi.ModTime().Add(u.ttl).UTC()}, nil
}

func (u *uploads) remove(id string) {
	_ = os.Remove(u.part(id))
	_ = os.Remove(u.owner(id))
}

// sweep removes uploads idle for longer than the TTL, at most once per
// tenth of it.
func (u *uploads) sweep() {
	now := u.now()
	u.mu.Lock()
	if now.Sub(u.lastSweep) < u.ttl/10 {
		u.mu.Unlock()
		return
	}
	u.lastSweep = now
	u.mu.Unlock()
	ents, err := os.ReadDir(u.dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".owner")
		if !ok || !uploadIDRE.MatchString(id) {
			continue
		}
		last := time.Time{}
		if fi, err := os.Stat(u.part(id)); err == nil {
			last = fi.ModTime()
		}
		if now.Sub(last) < u.ttl {
			continue
		}
		u.mu.Lock()
		inUse := u.busy[id] != nil
		u.mu.Unlock()
		if !inUse {
			u.remove(id)
		}
	}
}

// parseContentRange parses "bytes START-END/TOTAL" (TOTAL may be *).
func parseContentRange(s string) (start, end int64, err error) {
	bad := errorf(repo.ErrInvalid, "invalid Content-Range %q: use bytes START-END/TOTAL or bytes START-END/*", s)
	rest, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, 0, bad
	}
	rng, total, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, bad
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, bad
	}
	if start, err = strconv.ParseInt(a, 10, 64); err != nil || start < 0 {
		return 0, 0, bad
	}
	if end, err = strconv.ParseInt(b, 10, 64); err != nil || end < start {
		return 0, 0, bad
	}
	if total != "*" {
		t, err := strconv.ParseInt(total, 10, 64)
		if err != nil || end >= t {
			return 0, 0, bad
		}
	}
	return start, end, nil
}

type (
	uploadInput struct {
		ID string `path:"id"`
	}
	uploadOutput struct {
		Offset int64 `header:"Upload-Offset" doc:"Bytes the server holds."`
		Body   wire.Upload
	}
	chunkInput struct {
		ID           string `path:"id"`
		ContentRange string `header:"Content-Range" required:"true" doc:"bytes START-END/TOTAL (or /*); START must be the upload's offset."`
		body         io.Reader
	}
	headOutput struct {
		Offset int64 `header:"Upload-Offset" doc:"Bytes the server holds."`
	}
)

// Resolve takes the request body as a stream: huma reads no body for an
// operation whose request is raw bytes without a RawBody field.
func (c *chunkInput) Resolve(ctx huma.Context) []error {
	c.body = ctx.BodyReader()
	return nil
}

// needUpload checks that the token may commit somewhere: uploads only
// serve commits.
func needUpload(ctx context.Context) error {
	tok := tokenFrom(ctx)
	if tok == nil {
		return errorf(auth.ErrUnauthorized, "unauthorized: no token")
	}
	if !allowsAny(tok, auth.KindRepo, auth.Write) {
		return errorf(auth.ErrForbidden, "forbidden: permission denied: uploading needs a repo:...:write scope, token %s has none", tok.Name)
	}
	return nil
}

func (s *Server) uploadRoutes() {
	a, u := s.api, s.uploads
	create := op(http.MethodPost, "/uploads", "create-upload", "Open a chunked upload (write on some repository)", "uploads")
	create.DefaultStatus = http.StatusCreated
	huma.Register(a, create, func(ctx context.Context, _ *struct{}) (*uploadOutput, error) {
		if err := needUpload(ctx); err != nil {
			return nil, err
		}
		u.sweep()
		if u.maxOpen > 0 {
			// Sessions are files on the server: one token may not pile them up.
			name := tokenFrom(ctx).Name
			u.mu.Lock()
			n, err := u.openBy(name)
			u.mu.Unlock()
			if err != nil {
				return nil, apiError(err)
			}
			if n >= u.maxOpen {
				return nil, errorf(wire.ErrTooManyUploads, "too many open uploads: token %s has %d unfinished; finish or delete some first", name, n)
			}
		}
		var raw [16]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, apiError(err)
		}
		id := hex.EncodeToString(raw[:])
		if err := os.WriteFile(u.part(id), nil, 0o600); err != nil {
			return nil, apiError(err)
		}
		if err := os.WriteFile(u.owner(id), []byte(tokenFrom(ctx).Name), 0o600); err != nil {
			u.remove(id)
			return nil, apiError(err)
		}
		st, err := u.open(ctx, id)
		if err != nil {
			return nil, apiError(err)
		}
		return &uploadOutput{Offset: st.Offset, Body: *st}, nil
	})

	huma.Register(a, op(http.MethodGet, "/uploads/{id}", "get-upload", "An upload's offset: where the next chunk starts", "uploads"),
		func(ctx context.Context, in *uploadInput) (*uploadOutput, error) {
			st, err := s.uploadState(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &uploadOutput{Offset: st.Offset, Body: *st}, nil
		})

	huma.Register(a, op(http.MethodHead, "/uploads/{id}", "head-upload", "An upload's offset, in Upload-Offset", "uploads"),
		func(ctx context.Context, in *uploadInput) (*headOutput, error) {
			st, err := s.uploadState(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &headOutput{Offset: st.Offset}, nil
		})

	put := op(http.MethodPut, "/uploads/{id}", "put-upload-chunk", "Append a chunk at the upload's offset; after a dropped connection, ask the offset and go on from there", "uploads")
	put.RequestBody = &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
		"application/octet-stream": {}, // the 3.0 document says a binary string
	}}
	huma.Register(a, put, func(ctx context.Context, in *chunkInput) (*uploadOutput, error) {
		start, end, err := parseContentRange(in.ContentRange)
		if err != nil {
			return nil, err
		}
		unlock, err := u.lock(ctx, in.ID)
		if err != nil {
			return nil, apiError(err)
		}
		defer unlock()
		st, err := u.open(ctx, in.ID)
		if err != nil {
			return nil, apiError(err)
		}
		if start != st.Offset {
			e := errorf(wire.ErrOffsetMismatch, "upload %s holds %d bytes: send the chunk starting there, not at %d", in.ID, st.Offset, start)
			e.Offset = &st.Offset
			return nil, e
		}
		if s.maxUpload > 0 && end >= s.maxUpload {
			return nil, errorf(wire.ErrTooLarge, "upload %s: %d bytes would pass the server's limit of %d bytes an upload", in.ID, end+1, s.maxUpload)
		}
		f, err := os.OpenFile(u.part(in.ID), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return nil, apiError(err)
		}
		want := end - start + 1
		body := in.body
		if s.maxUpload > 0 {
			body = http.MaxBytesReader(nil, io.NopCloser(body), s.maxUpload-start)
		}
		n, copyErr := io.CopyN(f, body, want)
		if err := f.Close(); err != nil && copyErr == nil {
			copyErr = err
		}
		if copyErr != nil {
			// What arrived is kept: the client resumes at the new offset.
			return nil, errorf(repo.ErrInvalid, "upload %s: chunk cut after %d of %d bytes: %v", in.ID, n, want, copyErr)
		}
		st.Offset += n
		st.Expires = u.now().Add(u.ttl).UTC()
		return &uploadOutput{Offset: st.Offset, Body: *st}, nil
	})

	finish := op(http.MethodPost, "/uploads/{id}/finish", "finish-upload", "Store the uploaded bytes as a blob if their sha256 is the one given; otherwise drop them", "uploads")
	finish.DefaultStatus = http.StatusCreated
	huma.Register(a, finish, func(ctx context.Context, in *struct {
		ID   string `path:"id"`
		Body wire.FinishBody
	}) (*bodyOutput[wire.Blob], error) {
		unlock, err := u.lock(ctx, in.ID)
		if err != nil {
			return nil, apiError(err)
		}
		defer unlock()
		st, err := u.open(ctx, in.ID)
		if err != nil {
			return nil, apiError(err)
		}
		if in.Body.Size != nil && *in.Body.Size != st.Offset {
			return nil, errorf(repo.ErrInvalid, "upload %s holds %d bytes, not %d: send the rest first", in.ID, st.Offset, *in.Body.Size)
		}
		blob, err := s.storeUpload(ctx, in.ID, st.Offset, in.Body.SHA256)
		if err != nil {
			return nil, apiError(err)
		}
		return &bodyOutput[wire.Blob]{Body: blob}, nil
	})

	huma.Register(a, op(http.MethodDelete, "/uploads/{id}", "delete-upload", "Drop an upload", "uploads"),
		func(ctx context.Context, in *uploadInput) (*emptyOutput, error) {
			unlock, err := u.lock(ctx, in.ID)
			if err != nil {
				return nil, apiError(err)
			}
			defer unlock()
			if _, err := u.open(ctx, in.ID); err != nil {
				return nil, apiError(err)
			}
			u.remove(in.ID)
			return nil, nil
		})
}

func (s *Server) uploadState(ctx context.Context, id string) (*wire.Upload, error) {
	unlock, err := s.uploads.lock(ctx, id)
	if err != nil {
		return nil, apiError(err)
	}
	defer unlock()
	st, err := s.uploads.open(ctx, id)
	return st, apiError(err)
}

// storeUpload streams upload id into the store. Its digest is computed on
// the way, so that a mismatch is told apart from other failures; a
// mismatched upload is dropped.
func (s *Server) storeUpload(ctx context.Context, id string, size int64, want objects.ID) (wire.Blob, error) {
	if want.IsZero() {
		return wire.Blob{}, errorf(repo.ErrInvalid, "finish upload %s: give the sha256 of its bytes", id)
	}
	f, err := os.Open(s.uploads.part(id))
	if err != nil {
		return wire.Blob{}, err
	}
	defer f.Close()
	h := sha256.New()
	cr := &countReader{r: io.TeeReader(f, h)}
	got, err := s.svc.PutBlob(ctx, cr, size, want)
	if cr.n == size {
		var sum objects.ID
		copy(sum[:], h.Sum(nil))
		if sum != want {
			s.uploads.remove(id)
			return wire.Blob{}, errorf(wire.ErrDigestMismatch, "upload %s: sha256 %s, not %s: upload dropped", id, sum, want)
		}
	}
	if err != nil {
		return wire.Blob{}, err
	}
	if got != want {
		return wire.Blob{}, fmt.Errorf("upload %s: stored as %s, not %s", id, got, want)
	}
	s.uploads.remove(id)
	// The token may now commit this blob (see needBlobs).
	s.uploads.done.Add(tokenFrom(ctx).Name, got)
	return wire.Blob{SHA256: got, Size: size}, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
