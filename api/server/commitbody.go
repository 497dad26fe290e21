package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"

	"github.com/danielgtaylor/huma/v2"

	"github.com/pkgvc/pkgvc/api/wire"
	"github.com/pkgvc/pkgvc/repo"
)

// bodyStream is an input field that leaves the request body unread for
// the handler: huma would read a Body field whole into a buffer (which
// grows to twice its size) before decoding it.
type bodyStream struct{ r io.Reader }

// Resolve keeps the body's reader.
func (b *bodyStream) Resolve(ctx huma.Context) []error {
	b.r = ctx.BodyReader()
	return nil
}

// streamedBody documents the JSON request body of the registered POST
// operation o as body's type, for an input that reads it through a
// bodyStream. (Given before registering, it would make huma read the
// body itself.)
func streamedBody(a huma.API, o *huma.Operation, body any) {
	t := reflect.TypeOf(body)
	rb := &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
		"application/json": {Schema: a.OpenAPI().Components.Schemas.Schema(t, true, t.Name())},
	}}
	pi := a.OpenAPI().Paths[o.Path]
	if pi == nil || pi.Post == nil || pi.Post.OperationID != o.OperationID {
		panic("streamedBody: register POST " + o.Path + " first")
	}
	pi.Post.RequestBody = rb
}

// errBodyTooLarge ends a body read past its limit.
var errBodyTooLarge = errors.New("request body too large")

// limitedBody reads r, failing with errBodyTooLarge once r proves to
// hold more than n bytes.
type limitedBody struct {
	r io.Reader
	n int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	if l.n -= int64(n); l.n < 0 {
		return 0, errBodyTooLarge
	}
	return n, err
}

// errNoBody is an empty request body.
var errNoBody = errors.New("request body is required")

// decodeCommit reads a CommitBody from r as it arrives, record by record,
// into the commit request it makes: neither the body nor a second copy of
// its records is held.
func decodeCommit(r io.Reader, limit int64) (repo.CommitRequest, error) {
	req := repo.CommitRequest{InspectRecords: true}
	if r == nil {
		return req, errorf(repo.ErrInvalid, "invalid commit: request body is required")
	}
	dec := json.NewDecoder(&limitedBody{r: r, n: limit})
	err := decodeObject(dec, func(key string) error {
		switch key {
		case "records":
			req.Records = nil
			return decodeArray(dec, func(rb wire.RecordBody) error {
				if rb.Path == "" || rb.Size < 0 {
					return errorf(repo.ErrInvalid, "invalid record %q: give a path and a size >= 0", rb.Path)
				}
				req.Records = append(req.Records, rb.Record())
				return nil
			})
		case "removes":
			req.Removes = nil
			return decodeArray(dec, func(p string) error {
				req.Removes = append(req.Removes, p)
				return nil
			})
		case "message":
			return dec.Decode(&req.Message)
		case "author":
			return dec.Decode(&req.Author)
		case "allow_empty":
			return dec.Decode(&req.AllowEmpty)
		case "no_replace":
			return dec.Decode(&req.NoReplace)
		case "options":
			return dec.Decode(&req.Options)
		default:
			var skip json.RawMessage
			return dec.Decode(&skip)
		}
	})
	var apiErr *wire.Error
	switch {
	case err == nil:
		return req, nil
	case errors.As(err, &apiErr):
		return req, err
	case errors.Is(err, errBodyTooLarge):
		return req, errorf(wire.ErrTooLarge, "request body too large: a commit may have at most %d bytes", limit)
	case errors.Is(err, errNoBody):
		return req, errorf(repo.ErrInvalid, "invalid commit: request body is required")
	default:
		return req, errorf(repo.ErrInvalid, "invalid commit body: %s", err.Error())
	}
}

// decodeObject reads a JSON object, calling field for each key with the
// decoder at its value, which field must read.
func decodeObject(dec *json.Decoder, field func(key string) error) (err error) {
	defer func() {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // the object was cut
		}
	}()
	if err := delim(dec, '{'); errors.Is(err, io.EOF) {
		return errNoBody
	} else if err != nil {
		return err
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		if err := field(key); err != nil {
			return err
		}
	}
	if err := delim(dec, '}'); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the object")
	}
	return nil
}

// decodeArray reads a JSON array (or null) one element at a time.
func decodeArray[T any](dec *json.Decoder, each func(T) error) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t == nil {
		return nil // null
	}
	if d, ok := t.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("want an array, got %v", t)
	}
	for dec.More() {
		var v T
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if err := each(v); err != nil {
			return err
		}
	}
	return delim(dec, ']')
}

// delim reads the delimiter d.
func delim(dec *json.Decoder, d json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if got, ok := t.(json.Delim); !ok || got != d {
		return fmt.Errorf("want %q, got %v", rune(d), t)
	}
	return nil
}
