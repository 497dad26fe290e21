package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/pkgvc/pkgvc/api/wire"
	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// stdErrors are the error statuses documented for every operation.
var stdErrors = []int{http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity}

func op(method, path, id, summary, tag string) huma.Operation {
	return huma.Operation{OperationID: id, Method: method, Path: wire.Prefix + path, Summary: summary, Tags: []string{tag}, Errors: stdErrors}
}

// Inputs and outputs of the operations.
type (
	nameInput struct {
		Name string `path:"name"`
	}
	emptyOutput       struct{}
	pageOutput[T any] struct {
		Link string `header:"Link" doc:"The next page, rel=\"next\"."`
		Body wire.Page[T]
	}
	bodyOutput[T any] struct {
		Body T
	}
)

func page[T any](path string, p PageParams, items []T, key func(T) string, sorted bool, extra url.Values) (*pageOutput[T], error) {
	pg, err := paginate(items, p, key, sorted)
	if err != nil {
		return nil, err
	}
	return &pageOutput[T]{Body: pg, Link: nextLink(wire.Prefix+path, p, pg.Next, extra)}, nil
}

func body[T any](v T, err error) (*bodyOutput[T], error) {
	if err != nil {
		return nil, apiError(err)
	}
	return &bodyOutput[T]{Body: v}, nil
}

func (s *Server) routes() {
	s.repoRoutes()
	s.versionRoutes()
	s.distRoutes()
	s.replicationRoutes()
	s.remoteRoutes()
	s.tokenRoutes()
	s.keyRoutes()
	s.taskRoutes()
	s.scheduleRoutes()
	s.reflogRoutes()
	s.uploadRoutes()
}

func (s *Server) repoRoutes() {
	a := s.api
	huma.Register(a, op(http.MethodGet, "/repositories", "list-repositories", "List the repositories the token may read", "repositories"),
		func(ctx context.Context, in *struct{ PageParams }) (*pageOutput[repo.RepoInfo], error) {
			all, err := s.svc.ListRepos(ctx)
			if err != nil {
				return nil, apiError(err)
			}
			name := func(r repo.RepoInfo) string { return r.Name }
			return page("/repositories", in.PageParams, readable(ctx, auth.KindRepo, all, name), name, true, nil)
		})

	create := op(http.MethodPost, "/repositories", "create-repository", "Create a repository (repo:NAME:admin)", "repositories")
	create.DefaultStatus = http.StatusCreated
	huma.Register(a, create, func(ctx context.Context, in *struct{ Body wire.CreateRepoBody }) (*bodyOutput[*repo.Config], error) {
		if err := need(ctx, auth.KindRepo, in.Body.Name, auth.Admin); err != nil {
			return nil, err
		}
		return body(s.svc.CreateRepo(ctx, in.Body.Name, repo.CreateOptions{Kind: in.Body.Kind, Retain: in.Body.Retain}))
	})

	huma.Register(a, op(http.MethodGet, "/repositories/{name}", "get-repository", "Show a repository (repo:NAME:read)", "repositories"),
		func(ctx context.Context, in *nameInput) (*bodyOutput[*repo.RepoInfo], error) {
			if err := need(ctx, auth.KindRepo, in.Name, auth.Read); err != nil {
				return nil, err
			}
			return body(s.svc.ShowRepo(ctx, in.Name))
		})

	huma.Register(a, op(http.MethodDelete, "/repositories/{name}", "delete-repository", "Delete a repository (repo:NAME:admin)", "repositories"),
		func(ctx context.Context, in *struct {
			Name  string `path:"name"`
			Force bool   `query:"force" doc:"Delete even while distributions follow it."`
		}) (*emptyOutput, error) {
			if err := need(ctx, auth.KindRepo, in.Name, auth.Admin); err != nil {
				return nil, err
			}
			return nil, apiError(s.svc.DeleteRepo(ctx, in.Name, in.Force))
		})

	huma.Register(a, op(http.MethodGet, "/repositories/{name}/versions", "list-versions", "The repository's history, newest first (repo:NAME:read)", "versions"),
		func(ctx context.Context, in *struct {
			Name string `path:"name"`
			PageParams
		}) (*pageOutput[repo.LogEntry], error) {
			if err := need(ctx, auth.KindRepo, in.Name, auth.Read); err != nil {
				return nil, err
			}
			return s.logPage(ctx, in.Name, "/repositories/"+url.PathEscape(in.Name)+"/versions", in.PageParams)
		})

	huma.Register(a, op(http.MethodGet, "/repositories/{name}/reflog", "get-reflog", "Moves of the repository's head, newest first (repo:NAME:read)", "versions"),
		func(ctx context.Context, in *struct {
			Name string `path:"name"`
			PageParams
		}) (*pageOutput[repo.ReflogEntry], error) {
			if err := need(ctx, auth.KindRepo, in.Name, auth.Read); err != nil {
				return nil, err
			}
			es, err := s.svc.Reflog(ctx, in.Name)
			if err != nil {
				return nil, apiError(err)
			}
			return page("/repositories/"+url.PathEscape(in.Name)+"/reflog", in.PageParams, es, nil, false, nil)
		})

	commit := op(http.MethodPost, "/repositories/{name}/commits", "commit", "Make a version from blobs this token uploaded or the repository holds, and removals (repo:NAME:write)", "versions")
	commit.DefaultStatus = http.StatusCreated
	huma.Register(a, commit, func(ctx context.Context, in *struct {
		Name   string     `path:"name"`
		Commit bodyStream // a CommitBody, decoded as it arrives
	}) (*bodyOutput[*repo.CommitResult], error) {
		if err := need(ctx, auth.KindRepo, in.Name, auth.Write); err != nil {
			return nil, err
		}
		req, err := decodeCommit(in.Commit.r, MaxBigBody)
		if err != nil {
			return nil, err
		}
		if err := s.needBlobs(ctx, in.Name, req.Records); err != nil {
			return nil, err
		}
		return body(s.svc.Commit(ctx, in.Name, req))
	})
	streamedBody(a, &commit, wire.CommitBody{})

	rollback := op(http.MethodPost, "/repositories/{name}/rollback", "rollback", "Make a version with a revision's content (repo:NAME:write, read on the revision)", "versions")
	rollback.DefaultStatus = http.StatusCreated
	huma.Register(a, rollback, func(ctx context.Context, in *struct {
		Name string `path:"name"`
		Body wire.RollbackBody
	}) (*bodyOutput[*repo.CommitResult], error) {
		if err := need(ctx, auth.KindRepo, in.Name, auth.Write); err != nil {
			return nil, err
		}
		if err := s.needRev(ctx, in.Body.Rev); err != nil {
			return nil, err
		}
		return body(s.svc.Rollback(ctx, in.Name, in.Body.Rev))
	})

	// A content kind's own operations, such as the python kind's yank
	// (POST /repositories/NAME/python/yank, body {"file", "reason",
	// "unyank"}): the kind reads the body.
	action := op(http.MethodPost, "/repositories/{name}/{kind}/{action}", "repo-action",
		"Run an action of a content kind on a repository, in at most one new version (repo:NAME:write): python's yank marks a package yanked (PEP 592) or clears the mark (body: file, reason, unyank)", "versions")
	huma.Register(a, action, func(ctx context.Context, in *struct {
		Name   string `path:"name"`
		Kind   string `path:"kind"`
		Action string `path:"action"`
		Body   map[string]any
	}) (*bodyOutput[*repo.CommitResult], error) {
		if err := need(ctx, auth.KindRepo, in.Name, auth.Write); err != nil {
			return nil, err
		}
		req, err := json.Marshal(in.Body)
		if err != nil {
			return nil, errorf(repo.ErrInvalid, "invalid request: %v", err)
		}
		return body(s.svc.RepoAction(ctx, in.Name, in.Kind, in.Action, req))
	})

	promote := op(http.MethodPost, "/promote", "promote", "Move each destination to its source, all or none (write on each destination, admin with force; read on each source)", "versions")
	bigBody(&promote, MaxPromoteBody)
	huma.Register(a, promote,
		func(ctx context.Context, in *struct{ Body wire.PromoteBody }) (*bodyOutput[[]repo.PromoteResult], error) {
			if len(in.Body.Pairs) == 0 {
				return nil, errorf(repo.ErrInvalid, "invalid promotion: give at least one pair")
			}
			pairs := make([]repo.Pair, len(in.Body.Pairs))
			level := auth.Write
			if in.Body.Force {
				level = auth.Admin // a reset drops versions
			}
			for i, p := range in.Body.Pairs {
				if p.Src == "" || p.Dst == "" {
					return nil, errorf(repo.ErrInvalid, "invalid promotion: a pair needs src and dst")
				}
				if err := s.needRev(ctx, p.Src); err != nil {
					return nil, err
				}
				if err := need(ctx, auth.KindRepo, p.Dst, level); err != nil {
					return nil, err
				}
				pairs[i] = repo.Pair{Src: p.Src, Dst: p.Dst}
			}
			return body(s.svc.Promote(ctx, pairs, repo.PromoteOptions{Force: in.Body.Force, Only: in.Body.Only}))
		})
}

// MaxBigBody bounds the body of a commit, read record by record as it
// arrives (see decodeCommit): 10^6 records are some 200 MiB of JSON.
const MaxBigBody = 256 << 20

// MaxPromoteBody bounds the body of a promotion, which huma reads whole:
// pairs of names and globs.
const MaxPromoteBody = 16 << 20

// bigBody lets an operation take a larger JSON body. huma decodes it once
// into the input, without the generic decode its schema validation needs
// (a copy several times the body's size); the handler checks what the
// schema would.
func bigBody(o *huma.Operation, limit int64) {
	o.MaxBodyBytes = limit
	o.SkipValidateBody = true
}

// needBlobs checks that the token may commit the blobs records name: a
// blob the repository's head holds already, or one this token finished
// uploading. Any other blob in the store may belong to a repository the
// token cannot read. Tokens with *:*:admin may name any blob.
func (s *Server) needBlobs(ctx context.Context, repoName string, recs []repo.Record) error {
	tok := tokenFrom(ctx)
	if tok == nil || len(recs) == 0 || allowsAll(tok, auth.KindAny, auth.Admin) {
		return nil
	}
	var held map[objects.ID]bool
	// A few blobs are looked up one by one; many, in one read of the
	// token's finished uploads.
	by := uploadedBy(tok.Name)
	up := func(id objects.ID) (bool, error) { return s.uploads.eng.Uploaded(ctx, by, id) }
	switch {
	case s.uploads.eng == nil:
		up = func(objects.ID) (bool, error) { return false, nil } // a server without uploads knows none
	case len(recs) > 16:
		set, err := s.uploads.eng.UploadedSet(ctx, by)
		if err != nil {
			return apiError(err)
		}
		up = func(id objects.ID) (bool, error) { return set[id], nil }
	}
	for _, r := range recs {
		ok, err := up(r.SHA256)
		if err != nil {
			return apiError(err)
		}
		if ok {
			continue
		}
		if held == nil {
			held = map[objects.ID]bool{}
			head, err := s.svc.List(ctx, repoName)
			if err != nil && !errors.Is(err, repo.ErrVersionNotFound) {
				return apiError(err)
			}
			for _, h := range head {
				held[h.SHA256] = true
			}
		}
		if !held[r.SHA256] {
			return errorf(auth.ErrForbidden, "forbidden: %s: blob sha256:%s was not uploaded by this token (%s) and is not in %s; upload it first", r.Path, r.SHA256, tok.Name, repoName)
		}
	}
	return nil
}

func (s *Server) versionRoutes() {
	a := s.api
	huma.Register(a, op(http.MethodGet, "/revisions/{rev}/log", "log", "First-parent history of a revision, newest first", "versions"),
		func(ctx context.Context, in *struct {
			Rev string `path:"rev" doc:"A revision: NAME, NAME@N, NAME@{K}, NAME~K or an id prefix."`
			PageParams
		}) (*pageOutput[repo.LogEntry], error) {
			if err := s.needRev(ctx, in.Rev); err != nil {
				return nil, err
			}
			return s.logPage(ctx, in.Rev, "/revisions/"+url.PathEscape(in.Rev)+"/log", in.PageParams)
		})

	huma.Register(a, op(http.MethodGet, "/revisions/{rev}/packages", "list-packages", "The package records of a revision, by path", "versions"),
		func(ctx context.Context, in *struct {
			Rev    string `path:"rev" doc:"A revision: NAME, NAME@N, NAME@{K}, NAME~K or an id prefix."`
			Prefix string `query:"prefix" doc:"Only the packages whose path starts with this string (\"d7/\" is the directory d7; \"d7\" also matches d70/x)."`
			PageParams
		}) (*pageOutput[repo.Record], error) {
			if err := s.needRev(ctx, in.Rev); err != nil {
				return nil, err
			}
			return s.packagesPage(ctx, in.Rev, in.Prefix, in.PageParams)
		})

	cat := op(http.MethodGet, "/revisions/{rev}/content", "get-content", "Stream a package's bytes; the digest is verified while streaming", "versions")
	cat.Responses = packageResponse
	huma.Register(a, cat, func(ctx context.Context, in *struct {
		Rev  string `path:"rev" doc:"A revision: NAME, NAME@N, NAME@{K}, NAME~K or an id prefix."`
		Path string `query:"path" required:"true" doc:"The package path."`
	}) (*huma.StreamResponse, error) {
		if err := s.needRev(ctx, in.Rev); err != nil {
			return nil, err
		}
		rc, rec, err := s.svc.Cat(ctx, in.Rev, in.Path)
		if err != nil {
			return nil, apiError(err)
		}
		return s.streamPackage(rc, rec, "rev", in.Rev), nil
	})

	huma.Register(a, op(http.MethodGet, "/diff", "diff", "Paths that differ between two revisions (read on both)", "versions"),
		func(ctx context.Context, in *struct {
			From string `query:"from" required:"true"`
			To   string `query:"to" required:"true"`
		}) (*bodyOutput[*repo.DiffResult], error) {
			if err := s.needRev(ctx, in.From); err != nil {
				return nil, err
			}
			if err := s.needRev(ctx, in.To); err != nil {
				return nil, err
			}
			return body(s.svc.Diff(ctx, in.From, in.To))
		})
	huma.Register(a, op(http.MethodGet, "/diff/packages", "diff-packages", "Packages that differ between two revisions: python projects, container tags, else paths (read on both)", "versions"),
		func(ctx context.Context, in *struct {
			From string `query:"from" required:"true"`
			To   string `query:"to" required:"true"`
		}) (*bodyOutput[*repo.PackageDiff], error) {
			if err := s.needRev(ctx, in.From); err != nil {
				return nil, err
			}
			if err := s.needRev(ctx, in.To); err != nil {
				return nil, err
			}
			return body(s.svc.DiffPackages(ctx, in.From, in.To))
		})
}

// packagesPage pages a revision's records from the path its cursor names:
// each page reads the part of the version it shows, not all of it.
func (s *Server) packagesPage(ctx context.Context, rev, prefix string, p PageParams) (*pageOutput[repo.Record], error) {
	o := repo.ListOptions{Prefix: prefix, Limit: p.Limit}
	if o.Limit <= 0 {
		o.Limit = wire.DefaultLimit
	}
	if p.Cursor != "" {
		after, err := uncursor(p.Cursor)
		if err != nil {
			return nil, err
		}
		o.After = after
	}
	rs, next, err := s.svc.ListPage(ctx, rev, o)
	if err != nil {
		return nil, apiError(err)
	}
	pg := wire.Page[repo.Record]{Items: rs}
	if pg.Items == nil {
		pg.Items = []repo.Record{}
	}
	for i := range pg.Items {
		if pg.Items[i].Metadata == nil {
			pg.Items[i].Metadata = map[string]string{} // the schema has an object there
		}
	}
	if next != "" {
		pg.Next = wire.EncodeCursor(next)
	}
	var extra url.Values
	if prefix != "" {
		extra = url.Values{"prefix": {prefix}}
	}
	return &pageOutput[repo.Record]{Body: pg, Link: nextLink(wire.Prefix+"/revisions/"+url.PathEscape(rev)+"/packages", p, pg.Next, extra)}, nil
}

// logPage pages a history. The first page reads only as much history as it
// shows; later ones find their cursor's version in the whole history.
func (s *Server) logPage(ctx context.Context, rev, path string, p PageParams) (*pageOutput[repo.LogEntry], error) {
	limit := p.Limit
	if limit <= 0 {
		limit = wire.DefaultLimit
	}
	n := 0
	if p.Cursor == "" {
		n = limit + 1
	}
	es, err := s.svc.Log(ctx, rev, n)
	if err != nil {
		return nil, apiError(err)
	}
	return page(path, p, es, func(e repo.LogEntry) string { return e.ID.String() }, false, nil)
}

// packageResponse documents a package's bytes as streamPackage sends them.
var packageResponse = map[string]*huma.Response{"200": {
	Description: "The package's bytes.",
	Content:     map[string]*huma.MediaType{"application/octet-stream": {}}, // the 3.0 document says a binary string
	Headers: map[string]*huma.Param{
		wire.HeaderSHA256:   {Schema: &huma.Schema{Type: "string"}, Description: "The package's sha256."},
		wire.HeaderMetadata: {Schema: &huma.Schema{Type: "string"}, Description: "The record's metadata as a URL query string."},
		"Content-Length":    {Schema: &huma.Schema{Type: "integer"}},
	},
}}

// packageHeaders sets the headers the content server sends with the
// package file at path p, so that its bytes cannot run script on the
// API's origin either.
func packageHeaders(hc huma.Context, p string) {
	h := make(http.Header, 3)
	content.PackageHeaders(h, p)
	for k, v := range h {
		hc.SetHeader(k, v[0])
	}
}

// streamPackage sends the bytes of record rec, read from rc; where names
// the request in the log.
func (s *Server) streamPackage(rc io.ReadCloser, rec repo.Record, where ...any) *huma.StreamResponse {
	return &huma.StreamResponse{Body: func(hc huma.Context) {
		defer rc.Close()
		hc.SetHeader("Content-Type", "application/octet-stream")
		packageHeaders(hc, rec.Path)
		hc.SetHeader("Content-Length", strconv.FormatInt(rec.Size, 10))
		hc.SetHeader("ETag", `"`+rec.SHA256.String()+`"`)
		hc.SetHeader(wire.HeaderSHA256, rec.SHA256.String())
		if len(rec.Metadata) > 0 {
			hc.SetHeader(wire.HeaderMetadata, wire.EncodeMetadata(rec.Metadata))
		}
		hc.SetStatus(http.StatusOK)
		if _, err := io.Copy(hc.BodyWriter(), rc); err != nil {
			// Headers are gone: a short body tells the client.
			s.log.Warn("api: package content", append(where, "path", rec.Path, "err", err)...)
		}
	}}
}
