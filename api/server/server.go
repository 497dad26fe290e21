package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/api/wire"
	"github.com/pkgvc/pkgvc/internal/parallel"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/uploads"
)

// Server serves the REST API of an api.Service. It is an http.Handler for
// the paths under Prefix.
type Server struct {
	svc     api.Service
	authn   Authenticator
	log     *slog.Logger
	now     func() time.Time
	limiter AuthLimiter
	uploads uploadCfg
	// maxUpload bounds an upload's total size; 0 is no limit.
	maxUpload int64
	// remoteOptions are the kinds' remote settings, documented in the
	// Remote schema.
	remoteOptions []remote.DeclaredOption

	api     huma.API
	handler http.Handler

	specOnce sync.Once
	spec     []byte
	specErr  error
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets where internal errors are logged (never tokens).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithClock sets the clock of the times the server reports. Uploads
// expire by the clock of the upload engine (uploads.WithClock).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithUploads sets the upload engine (default: the service's, if it has
// one, as local.Service.Uploads). A process has one engine, built by its
// composition root (package app); every server of a store may finish or
// commit the uploads of another. Without an engine the server answers
// upload requests wire.ErrUploadsUnavailable.
func WithUploads(e *uploads.Engine) Option { return func(s *Server) { s.uploads.eng = e } }

// WithUploadTTL sets how long an upload that receives nothing is kept
// (default repo.PendingWindow). A finished upload may be committed by its
// token for repo.PendingWindow, while its blob is pinned.
func WithUploadTTL(d time.Duration) Option { return func(s *Server) { s.uploads.ttl = d } }

// WithMaxUploadBytes bounds the size of one upload (all its chunks
// together); a chunk that would pass it is answered 413. n <= 0 is no
// limit, the default.
func WithMaxUploadBytes(n int64) Option { return func(s *Server) { s.maxUpload = max(n, 0) } }

// WithMaxOpenUploads sets how many unfinished uploads one token may have
// (default 64); more are answered 429.
func WithMaxOpenUploads(n int) Option { return func(s *Server) { s.uploads.maxOpen = n } }

// AuthLimiter counts failed authentications per client address: Fail
// records one and returns how long the address must wait, or 0 while it
// is under the limit.
type AuthLimiter interface {
	Fail(addr string) time.Duration
}

// WithAuthLimiter makes failed authentications count on l: past its limit
// a client's requests get 429. The content server of the same process
// must count on the same limiter, or a password guesser gets a budget per
// server: package app gives both the one it makes. Without a limiter
// failures are not limited.
func WithAuthLimiter(l AuthLimiter) Option { return func(s *Server) { s.limiter = l } }

// WithRemoteOptions documents the settings the content kinds give their
// remotes (remote.Registry.DeclaredOptions) in the Remote schema, where
// they sit beside the common fields.
func WithRemoteOptions(opts []remote.DeclaredOption) Option {
	return func(s *Server) { s.remoteOptions = opts }
}

// noLimit limits nothing.
type noLimit struct{}

func (noLimit) Fail(string) time.Duration { return 0 }

// New returns the API server of svc; authn checks tokens.
func New(svc api.Service, authn Authenticator, opts ...Option) (*Server, error) {
	if svc == nil || authn == nil {
		return nil, errors.New("api server: a service and an authenticator are needed")
	}
	useErrorModel()
	s := &Server{
		svc: svc, authn: authn, log: slog.New(slog.DiscardHandler), now: time.Now,
		limiter: noLimit{},
		uploads: uploadCfg{ttl: repo.PendingWindow, maxOpen: DefaultMaxOpenUploads},
	}
	for _, o := range opts {
		o(s)
	}
	if s.uploads.eng == nil {
		if h, ok := svc.(interface{ Uploads() *uploads.Engine }); ok {
			s.uploads.eng = h.Uploads()
		}
	}

	mux := http.NewServeMux()
	s.api = humago.New(mux, s.config())
	s.routes()
	finishSpec(s.api.OpenAPI())
	documentRemoteOptions(s.api.OpenAPI(), s.remoteOptions)
	mux.HandleFunc("GET "+wire.Prefix+"/openapi.json", s.serveSpec)
	mux.HandleFunc(wire.Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, wire.NewError(http.StatusNotFound, "not_found", "no such API endpoint: "+r.Method+" "+r.URL.Path, nil))
	})
	s.handler = s.authenticate(mux)
	return s, nil
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	s.handler.ServeHTTP(w, r)
}

// OpenAPI returns the API's OpenAPI 3.0 document, as served.
func (s *Server) OpenAPI() ([]byte, error) {
	s.specOnce.Do(func() { s.spec, s.specErr = s.api.OpenAPI().Downgrade() })
	return s.spec, s.specErr
}

func (s *Server) serveSpec(w http.ResponseWriter, r *http.Request) {
	spec, err := s.OpenAPI()
	if err != nil {
		s.writeError(w, r, toError(err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(spec)
}

func (s *Server) config() huma.Config {
	// Built by hand rather than from huma.DefaultConfig: no docs page
	// loading scripts from elsewhere, no $schema links in bodies, JSON only.
	registry := huma.NewMapRegistry("#/components/schemas/", schemaName)
	return huma.Config{
		OpenAPI: &huma.OpenAPI{
			OpenAPI: "3.1.0",
			Info: &huma.Info{
				Title:       "pkgvc API",
				Version:     "1",
				Description: "Versioned package repositories: repositories, versions, promotion, distributions, remotes, tasks and tokens.",
			},
			Components: &huma.Components{
				Schemas: registry,
				SecuritySchemes: map[string]*huma.SecurityScheme{
					"bearer": {Type: "http", Scheme: "bearer", Description: "A pkgvc token."},
					"basic":  {Type: "http", Scheme: "basic", Description: "A pkgvc token as the password; any user name."},
				},
			},
			Security: []map[string][]string{{"bearer": {}}, {"basic": {}}},
		},
		Formats:       map[string]huma.Format{"application/json": huma.DefaultJSONFormat, "json": huma.DefaultJSONFormat},
		DefaultFormat: "application/json",
		Transformers:  []huma.Transformer{s.hideInternal},
	}
}

// hideInternal logs an internal error and answers a message without its
// text, which may name files of the server.
func (s *Server) hideInternal(ctx huma.Context, _ string, v any) (any, error) {
	if e, ok := v.(*wire.Error); ok && e.GetStatus() == http.StatusInternalServerError {
		return s.internal(e, ctx.Method(), ctx.URL().Path), nil
	}
	return v, nil
}

func (s *Server) internal(e *wire.Error, method, path string) *wire.Error {
	var raw [8]byte
	_, _ = rand.Read(raw[:])
	id := hex.EncodeToString(raw[:])
	var cause error = e
	if e.Unwrap() != nil {
		cause = e.Unwrap()
	}
	s.log.Error("api: internal error", "id", id, "method", method, "path", path, "code", e.Code, "err", cause, parallel.LogStack(cause))
	return wire.NewError(e.GetStatus(), e.Code, "internal error "+id+" ("+s.now().UTC().Format(time.RFC3339)+"): the server's log has the details", e.Unwrap())
}

// schemaName names a schema after its package and type (RepoConfig,
// TreeEntry), since several packages have a Config or an Entry.
func schemaName(t reflect.Type, hint string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	name := huma.DefaultSchemaNamer(t, hint)
	pkg := filepath.Base(t.PkgPath())
	if pkg == "tasks" && name == "Request" {
		return "TaskRequest" // api.TaskRequest, its name in the API
	}
	switch {
	// The API's own packages, and tasks whose types api names as its own.
	case t.Name() == "" || pkg == "server" || pkg == "wire" || pkg == "tasks" || pkg == "." || pkg == "api" || len(pkg) == 0,
		strings.HasPrefix(strings.ToLower(name), pkg):
		return name
	}
	return string(pkg[0]-'a'+'A') + pkg[1:] + name
}

// finishSpec adds what every operation may answer: 401 and 429 from the
// authentication in front of huma, and a default error.
func finishSpec(o *huma.OpenAPI) {
	errSchema := &huma.Schema{Ref: "#/components/schemas/Error"}
	for _, item := range o.Paths {
		for _, op := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Patch, item.Head} {
			if op == nil {
				continue
			}
			for _, code := range []string{"401", "429", "default"} {
				if op.Responses[code] == nil {
					op.Responses[code] = &huma.Response{
						Description: "Error",
						Content:     map[string]*huma.MediaType{"application/json": {Schema: errSchema}},
					}
				}
			}
		}
	}
}

// documentRemoteOptions adds the kinds' remote settings to the Remote
// schema.
func documentRemoteOptions(o *huma.OpenAPI, opts []remote.DeclaredOption) {
	sch := o.Components.Schemas.Map()["Remote"]
	if sch == nil {
		return
	}
	for _, opt := range opts {
		if _, ok := sch.Properties[opt.Field]; ok {
			continue
		}
		p := &huma.Schema{Description: strings.ReplaceAll(strings.Join(opt.Usages, "; "), "`", "")}
		switch opt.Type {
		case remote.ListOption:
			p.Type, p.Items = "array", &huma.Schema{Type: "string"}
		case remote.IntOption:
			p.Type = "integer"
		case remote.BoolOption:
			p.Type = "boolean"
		default:
			p.Type = "string"
		}
		sch.Properties[opt.Field] = p
	}
}

// Realm is the API's Basic realm: not the content server's ("pkgvc"),
// so that credentials a browser holds for one are not offered to the
// other.
const Realm = "pkgvc-api"

// writeError answers e outside huma (authentication, unknown paths).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, e *wire.Error) {
	if e.GetStatus() == http.StatusInternalServerError {
		e = s.internal(e, r.Method, r.URL.Path)
	}
	if e.GetStatus() == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="`+Realm+`"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.GetStatus())
	_ = json.NewEncoder(w).Encode(e)
}
