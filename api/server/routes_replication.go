package server

import (
	"context"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// replicationRoutes let a client copy what a distribution serves (a
// checkout through the server): the served version, its tree objects and
// its packages, with the distribution's read scope.
func (s *Server) replicationRoutes() {
	a := s.api
	huma.Register(a, op(http.MethodGet, "/distributions/{name}/served", "get-served", "The version a distribution serves now (dist:NAME:read, or repo:REPO:read on its repository)", "distributions"),
		func(ctx context.Context, in *nameInput) (*bodyOutput[*api.Served], error) {
			if err := s.needDistRead(ctx, in.Name); err != nil {
				return nil, err
			}
			return body(s.svc.Served(ctx, in.Name))
		})

	parse := func(id string) (objects.ID, error) {
		v, err := objects.ParseID(id)
		if err != nil {
			return v, errorf(repo.ErrInvalid, "invalid id %q: %v", id, err)
		}
		return v, nil
	}
	// reader checks the token may read distribution name and parses the
	// version it names.
	reader := func(ctx context.Context, name, version string) (objects.ID, error) {
		if err := s.needDistRead(ctx, name); err != nil {
			return objects.ID{}, err
		}
		return parse(version)
	}

	obj := op(http.MethodGet, "/distributions/{name}/objects/{id}", "get-served-object", "A tree object of the version a distribution serves (dist:NAME:read, or repo:REPO:read on its repository)", "distributions")
	obj.Responses = map[string]*huma.Response{"200": {
		Description: "The object's bytes; their sha256 is the id.",
		Content:     map[string]*huma.MediaType{"application/octet-stream": {}},
	}}
	huma.Register(a, obj, func(ctx context.Context, in *struct {
		Name    string `path:"name"`
		ID      string `path:"id" doc:"The object's id (sha256, hex)."`
		Version string `query:"version" required:"true" doc:"The id of the version the distribution serves; another answers 409 dist_moved."`
	}) (*huma.StreamResponse, error) {
		version, err := reader(ctx, in.Name, in.Version)
		if err != nil {
			return nil, err
		}
		id, err := parse(in.ID)
		if err != nil {
			return nil, err
		}
		data, err := s.svc.ServedObject(ctx, in.Name, version, id)
		if err != nil {
			return nil, apiError(err)
		}
		return &huma.StreamResponse{Body: func(hc huma.Context) {
			hc.SetHeader("Content-Type", "application/octet-stream")
			packageHeaders(hc, "") // a tree holds names committers chose
			hc.SetHeader("Content-Length", strconv.Itoa(len(data)))
			hc.SetStatus(http.StatusOK)
			_, _ = hc.BodyWriter().Write(data) // a short body tells the client
		}}, nil
	})

	content := op(http.MethodGet, "/distributions/{name}/content", "get-served-content", "A package of the version a distribution serves (dist:NAME:read, or repo:REPO:read on its repository)", "distributions")
	content.Responses = packageResponse
	huma.Register(a, content, func(ctx context.Context, in *struct {
		Name    string `path:"name"`
		Version string `query:"version" required:"true" doc:"The id of the version the distribution serves; another answers 409 dist_moved."`
		Path    string `query:"path" required:"true" doc:"The package path."`
	}) (*huma.StreamResponse, error) {
		version, err := reader(ctx, in.Name, in.Version)
		if err != nil {
			return nil, err
		}
		rc, rec, err := s.svc.ServedContent(ctx, in.Name, version, in.Path)
		if err != nil {
			return nil, apiError(err)
		}
		return s.streamPackage(rc, rec, "dist", in.Name), nil
	})
}
