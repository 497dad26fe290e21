package registry

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/internal/parallel"
	"github.com/pkgvc/pkgvc/kinds/container"
	ociformat "github.com/pkgvc/pkgvc/kinds/container/format"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/uploads"
)

// Kind is the content kind served.
const Kind = "container"

// Defaults.
const (
	// DefaultUploadTimeout is how long an upload session may stay idle
	// before it is removed.
	DefaultUploadTimeout = time.Hour
	// anonTokenTTL is the lifetime of an anonymous token.
	anonTokenTTL = 5 * time.Minute
	// tokenTTL is the expires_in reported for a pkgvc token without expiry.
	tokenTTL = time.Hour
	// pushedTTL is how long a blob uploaded into a repository stays visible
	// to its pushers without a version holding it; it is pinned as long.
	pushedTTL = repo.PendingWindow
)

// Option configures a Publisher.
type Option func(*config)

type config struct {
	uploadTimeout time.Duration
	now           func() time.Time
}

// WithUploadTimeout sets how long an idle upload session is kept
// (default DefaultUploadTimeout).
func WithUploadTimeout(d time.Duration) Option { return func(c *config) { c.uploadTimeout = d } }

// WithClock sets the clock of token expiry. Upload sessions expire by
// the clock of the server's upload engine (see content.WithUploads and
// uploads.WithClock).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// Publisher is the container kind's publisher: no generated files, and the
// registry API mounted into the server (a content.Mounter).
type Publisher struct{ cfg config }

var (
	_ publish.Publisher = (*Publisher)(nil)
	_ content.Mounter   = (*Publisher)(nil)
)

// New returns the container publisher.
func New(opts ...Option) *Publisher {
	p := &Publisher{cfg: config{uploadTimeout: DefaultUploadTimeout, now: time.Now}}
	for _, o := range opts {
		o(&p.cfg)
	}
	return p
}

// Kind returns "container".
func (*Publisher) Kind() string { return Kind }

// Publish generates nothing: the registry API serves the layout itself.
func (*Publisher) Publish(context.Context, *repo.Store, *repo.Version) ([]publish.File, error) {
	return nil, nil
}

// Mount returns the registry's handlers: /v2/ and /token.
func (p *Publisher) Mount(s *content.Server) map[string]http.Handler {
	g := newRegistry(s, p.cfg)
	return map[string]http.Handler{
		"/v2/":   g,
		"/token": http.HandlerFunc(g.serveToken),
	}
}

// registry is the API of one server. Its upload sessions and pushed blobs
// are in the store (see package uploads), shared with every server of it.
type registry struct {
	s   *content.Server
	st  *repo.Store
	cfg config
	// up is the server's upload engine, the process's one; nil if the
	// server takes no uploads.
	up *uploads.Engine
	// pulls writes down when images are pulled, for retain_unpulled.
	pulls *container.PullRecorder
}

func newRegistry(s *content.Server, cfg config) *registry {
	return &registry{s: s, st: s.Store(), cfg: cfg, up: s.Uploads(), pulls: &container.PullRecorder{Meta: s.Store().Meta()}}
}

// Error codes of the Distribution Spec.
const (
	codeBlobUnknown         = "BLOB_UNKNOWN"
	codeBlobUploadInvalid   = "BLOB_UPLOAD_INVALID"
	codeBlobUploadUnknown   = "BLOB_UPLOAD_UNKNOWN"
	codeDigestInvalid       = "DIGEST_INVALID"
	codeManifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN"
	codeManifestInvalid     = "MANIFEST_INVALID"
	codeManifestUnknown     = "MANIFEST_UNKNOWN"
	codeNameInvalid         = "NAME_INVALID"
	codeNameUnknown         = "NAME_UNKNOWN"
	codeSizeInvalid         = "SIZE_INVALID"
	codeUnauthorized        = "UNAUTHORIZED"
	codeDenied              = "DENIED"
	codeUnsupported         = "UNSUPPORTED"
	codeTooManyRequests     = "TOOMANYREQUESTS"
	codeTagInvalid          = "TAG_INVALID"
	codeUnavailable         = "UNAVAILABLE"
	codeUnknown             = "UNKNOWN"
)

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

// writeError answers with the spec's error document.
func writeError(w http.ResponseWriter, status int, code, msg string, detail any) {
	h := w.Header()
	for _, k := range []string{"Etag", "Content-Length", "Accept-Ranges", "Content-Encoding", "Last-Modified", "Docker-Content-Digest", "Content-Range"} {
		delete(h, k)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	body, _ := json.Marshal(struct {
		Errors []apiError `json:"errors"`
	}{[]apiError{{Code: code, Message: msg, Detail: detail}}})
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func (g *registry) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	g.s.Logger().Error("registry", "path", r.URL.Path, "what", what, "err", err, parallel.LogStack(err))
	writeError(w, http.StatusInternalServerError, codeUnknown, "internal error: "+what+" (the server log tells more)", nil)
}

// route is a parsed /v2/ request.
type route struct {
	name string // repository name: a distribution's base path
	op   string // opManifest, ...
	arg  string // reference, digest or upload id
}

const (
	opBase      = "base"
	opManifest  = "manifest"
	opBlob      = "blob"
	opUpload    = "upload"
	opTags      = "tags"
	opReferrers = "referrers"
)

// parseRoute splits a /v2/ path from its end, since names have '/'.
func parseRoute(p string) (route, bool) {
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return route{}, false
	}
	if rest == "" {
		return route{op: opBase}, true
	}
	segs := strings.Split(rest, "/")
	n := len(segs)
	name := func(k int) string { return strings.Join(segs[:n-k], "/") }
	switch {
	case n >= 3 && segs[n-2] == "tags" && segs[n-1] == "list":
		return route{name(2), opTags, ""}, true
	case n >= 4 && segs[n-3] == "blobs" && segs[n-2] == "uploads":
		return route{name(3), opUpload, segs[n-1]}, true
	case n >= 3 && segs[n-2] == "blobs" && segs[n-1] == "uploads":
		return route{name(2), opUpload, ""}, true
	case n >= 3 && segs[n-2] == "manifests":
		return route{name(2), opManifest, segs[n-1]}, true
	case n >= 3 && segs[n-2] == "blobs":
		return route{name(2), opBlob, segs[n-1]}, true
	case n >= 3 && segs[n-2] == "referrers":
		return route{name(2), opReferrers, segs[n-1]}, true
	}
	return route{}, false
}

// ServeHTTP routes a /v2/ request.
func (g *registry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	rt, ok := parseRoute(r.URL.Path)
	if !ok {
		writeError(w, http.StatusNotFound, codeNameUnknown, "not found: use /v2/<name>/manifests/<reference>, /v2/<name>/blobs/<digest>, /v2/<name>/tags/list", nil)
		return
	}
	if rt.op == opBase {
		g.serveBase(w, r)
		return
	}
	if !ociformat.ValidName(rt.name) {
		writeError(w, http.StatusBadRequest, codeNameInvalid, "invalid repository name "+quote(rt.name), nil)
		return
	}
	ctx := r.Context()
	t, err := g.s.Target(ctx, rt.name)
	if err != nil {
		g.internal(w, r, "distributions", err)
		return
	}
	if t == nil || t.Dist.Kind != Kind {
		writeError(w, http.StatusNotFound, codeNameUnknown, "no container distribution has base path "+rt.name, map[string]string{"name": rt.name})
		return
	}
	q := &request{g: g, t: t, name: rt.name}
	switch rt.op {
	case opManifest:
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			q.getManifest(w, r, rt.arg)
		case http.MethodPut:
			q.putManifest(w, r, rt.arg)
		case http.MethodDelete:
			q.deleteManifest(w, r, rt.arg)
		default:
			notAllowed(w, "GET, HEAD, PUT, DELETE")
		}
	case opBlob:
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			q.getBlob(w, r, rt.arg)
		case http.MethodDelete:
			q.deleteBlob(w, r, rt.arg)
		default:
			notAllowed(w, "GET, HEAD, DELETE")
		}
	case opUpload:
		q.serveUpload(w, r, rt.arg)
	case opTags:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			notAllowed(w, "GET, HEAD")
			return
		}
		q.listTags(w, r)
	case opReferrers:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			notAllowed(w, "GET, HEAD")
			return
		}
		q.referrers(w, r, rt.arg)
	}
}

func notAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, codeUnsupported, "method not allowed here", nil)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// request is one request for a distribution.
type request struct {
	g    *registry
	t    *content.Target
	name string
	who  string // the token's name, once authorized
}

// serveOptions make the content server answer a record's errors as the
// distribution API does: an OCI error body, with a code for the status.
var serveOptions = content.ServeRecordOptions{Error: contentError}

// contentError is the content server's error answer as an OCI one.
func contentError(w http.ResponseWriter, status int, msg string) {
	code := codeUnknown
	switch status {
	case http.StatusTooManyRequests:
		code = codeTooManyRequests
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		code = codeUnavailable
	}
	writeError(w, status, code, msg, nil)
}
