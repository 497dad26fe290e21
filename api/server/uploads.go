package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/pkgvc/pkgvc/api/wire"
	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/httpx"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/uploads"
)

// uploadCfg is how the API takes uploads: the engine (see package
// uploads) and the API's limits on top.
type uploadCfg struct {
	eng     *uploads.Engine // nil: the server takes no uploads
	ttl     time.Duration
	maxOpen int
}

// DefaultMaxOpenUploads is how many unfinished uploads a token may have.
const DefaultMaxOpenUploads = 64

// uploadScope is the scope of the API's sessions; uploadedBy names what a
// finished upload is recorded for: the token that may commit it.
const uploadScope = "api"

func uploadedBy(tokenName string) string { return "token:" + tokenName }

// uploadErr maps the engine's errors to the API's.
func uploadErr(id string, err error) error {
	var oe *uploads.OffsetError
	var de *uploads.DigestError
	var tl *uploads.TooLargeError
	var ce *uploads.ChunkError
	switch {
	case errors.As(err, &oe):
		e := errorf(wire.ErrOffsetMismatch, "upload %s holds %d bytes: send the chunk starting there, not at %d", id, oe.Offset, oe.Start)
		e.Offset = &oe.Offset
		return e
	case errors.As(err, &de):
		return errorf(wire.ErrDigestMismatch, "upload %s: sha256 %s, not %s: upload dropped", id, de.Got, de.Want)
	case errors.As(err, &tl):
		return errorf(wire.ErrTooLarge, "upload %s would pass the server's limit of %d bytes an upload", id, tl.Limit)
	case errors.As(err, &ce):
		// What arrived is kept: the client resumes at the new offset.
		return errorf(repo.ErrInvalid, "upload %s: chunk cut after %d bytes: %v", id, ce.Got, ce.Err)
	case errors.Is(err, uploads.ErrNotFound):
		return errorf(repo.ErrNotFound, "upload %s not found (finished, deleted or expired)", id)
	}
	return apiError(err)
}

func toUpload(s *uploads.Session) *wire.Upload {
	return &wire.Upload{ID: s.ID, Offset: s.Offset, Expires: s.Expires.UTC()}
}

// tokenName is the request's token's name ("" without one).
func tokenName(ctx context.Context) string {
	if tok := tokenFrom(ctx); tok != nil {
		return tok.Name
	}
	return ""
}

// parseContentRange parses "bytes START-END/TOTAL" (TOTAL may be *).
func parseContentRange(s string) (start, end int64, err error) {
	start, end, _, ok := httpx.ParseContentRange(s)
	if !ok {
		return 0, 0, errorf(repo.ErrInvalid, "invalid Content-Range %q: use bytes START-END/TOTAL or bytes START-END/*", s)
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

// noUploads is the error of every upload request to a server without an
// upload engine.
func noUploads() error {
	return errorf(wire.ErrUploadsUnavailable, "uploads unavailable: this server takes no uploads (it was started without an upload engine)")
}

// uploadOp is op for an upload operation, which a server without an
// engine answers wire.ErrUploadsUnavailable.
func uploadOp(method, path, id, summary string) huma.Operation {
	o := op(method, path, id, summary, "uploads")
	o.Errors = append(slices.Clone(o.Errors), http.StatusServiceUnavailable)
	return o
}

func (s *Server) uploadRoutes() {
	a, u := s.api, s.uploads
	create := uploadOp(http.MethodPost, "/uploads", "create-upload", "Open a chunked upload (write on some repository)")
	create.DefaultStatus = http.StatusCreated
	huma.Register(a, create, func(ctx context.Context, _ *struct{}) (*uploadOutput, error) {
		if err := needUpload(ctx); err != nil {
			return nil, err
		}
		if u.eng == nil {
			return nil, noUploads()
		}
		name := tokenName(ctx)
		if u.maxOpen > 0 {
			// Sessions take room in the store: one token may not pile them up.
			n, err := u.eng.Count(ctx, func(ss *uploads.Session) bool { return ss.Scope == uploadScope && ss.Owner == name })
			if err != nil {
				return nil, apiError(err)
			}
			if n >= u.maxOpen {
				return nil, errorf(wire.ErrTooManyUploads, "too many open uploads: token %s has %d unfinished; finish or delete some first", name, n)
			}
		}
		st, err := u.eng.Create(ctx, name, uploadScope, u.ttl)
		if err != nil {
			return nil, apiError(err)
		}
		return &uploadOutput{Offset: st.Offset, Body: *toUpload(st)}, nil
	})

	huma.Register(a, uploadOp(http.MethodGet, "/uploads/{id}", "get-upload", "An upload's offset: where the next chunk starts"),
		func(ctx context.Context, in *uploadInput) (*uploadOutput, error) {
			st, err := s.uploadState(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &uploadOutput{Offset: st.Offset, Body: *st}, nil
		})

	huma.Register(a, uploadOp(http.MethodHead, "/uploads/{id}", "head-upload", "An upload's offset, in Upload-Offset"),
		func(ctx context.Context, in *uploadInput) (*headOutput, error) {
			st, err := s.uploadState(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &headOutput{Offset: st.Offset}, nil
		})

	put := uploadOp(http.MethodPut, "/uploads/{id}", "put-upload-chunk", "Append a chunk at the upload's offset; after a dropped connection, ask the offset and go on from there")
	put.RequestBody = &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
		"application/octet-stream": {}, // the 3.0 document says a binary string
	}}
	huma.Register(a, put, func(ctx context.Context, in *chunkInput) (*uploadOutput, error) {
		if u.eng == nil {
			return nil, noUploads()
		}
		start, end, err := parseContentRange(in.ContentRange)
		if err != nil {
			return nil, err
		}
		if tokenFrom(ctx) == nil {
			return nil, uploadErr(in.ID, uploads.ErrNotFound)
		}
		if s.maxUpload > 0 && end >= s.maxUpload {
			return nil, errorf(wire.ErrTooLarge, "upload %s: %d bytes would pass the server's limit of %d bytes an upload", in.ID, end+1, s.maxUpload)
		}
		// Bytes past the range are not the chunk's: they are ignored.
		st, err := u.eng.Append(ctx, in.ID, io.LimitReader(in.body, end-start+1), uploads.AppendOptions{
			Start: start, Size: end - start + 1, Limit: s.maxUpload, KeepPartial: true,
			Owner: tokenName(ctx), Scope: uploadScope, // another token's uploads are not even there
		})
		if err != nil {
			return nil, uploadErr(in.ID, err)
		}
		return &uploadOutput{Offset: st.Offset, Body: *toUpload(st)}, nil
	})

	finish := uploadOp(http.MethodPost, "/uploads/{id}/finish", "finish-upload", "Store the uploaded bytes as a blob if their sha256 is the one given; otherwise drop them")
	finish.DefaultStatus = http.StatusCreated
	huma.Register(a, finish, func(ctx context.Context, in *struct {
		ID   string `path:"id"`
		Body wire.FinishBody
	}) (*bodyOutput[wire.Blob], error) {
		if u.eng == nil {
			return nil, noUploads()
		}
		name := tokenName(ctx)
		if name == "" {
			return nil, uploadErr(in.ID, uploads.ErrNotFound)
		}
		if in.Body.SHA256.IsZero() {
			return nil, errorf(repo.ErrInvalid, "finish upload %s: give the sha256 of its bytes", in.ID)
		}
		size := int64(-1)
		if in.Body.Size != nil {
			size = *in.Body.Size
		}
		// The token may then commit this blob (see needBlobs), through
		// any server of the store.
		b, err := u.eng.Finish(ctx, in.ID, in.Body.SHA256, uploads.FinishOptions{
			Size: size, Owner: name, Scope: uploadScope, PinReason: "upload", Mark: uploadedBy(name),
		})
		if err != nil {
			return nil, uploadErr(in.ID, err)
		}
		return &bodyOutput[wire.Blob]{Body: wire.Blob{SHA256: b.ID, Size: b.Size}}, nil
	})

	huma.Register(a, uploadOp(http.MethodDelete, "/uploads/{id}", "delete-upload", "Drop an upload"),
		func(ctx context.Context, in *uploadInput) (*emptyOutput, error) {
			if u.eng == nil {
				return nil, noUploads()
			}
			name := tokenName(ctx)
			if name == "" {
				return nil, uploadErr(in.ID, uploads.ErrNotFound)
			}
			if err := u.eng.Delete(ctx, in.ID, name, uploadScope); err != nil {
				return nil, uploadErr(in.ID, err)
			}
			return nil, nil
		})
}

func (s *Server) uploadState(ctx context.Context, id string) (*wire.Upload, error) {
	if s.uploads.eng == nil {
		return nil, noUploads()
	}
	st, err := s.uploads.eng.Get(ctx, id)
	if err == nil && (st.Scope != uploadScope || st.Owner != tokenName(ctx) || tokenName(ctx) == "") {
		err = uploads.ErrNotFound
	}
	if err != nil {
		return nil, uploadErr(id, err)
	}
	return toUpload(st), nil
}
