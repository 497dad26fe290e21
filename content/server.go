package content

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/internal/clockcache"
	"github.com/pkgvc/pkgvc/internal/parallel"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/uploads"
)

// ContentPrefix is the URL path under which a Server serves distributions:
// ContentPrefix + base path + "/" + package path.
const ContentPrefix = "/content/"

// Cache-Control values: a normal URL follows its distribution, so clients
// revalidate with the ETag; a per-version URL never changes.
var (
	cacheNormal    = []string{"no-cache"}
	cacheImmutable = []string{"public, max-age=31536000, immutable"}
	// A private distribution's responses may be kept by the client only,
	// never by a shared cache.
	cachePrivateNormal    = []string{"private, no-cache"}
	cachePrivateImmutable = []string{"private, max-age=31536000, immutable"}
	acceptRanges          = []string{"bytes"}
	octetStream           = []string{"application/octet-stream"}
	htmlType              = []string{"text/html; charset=utf-8"}
	// Package content comes from whoever may commit, and is served from
	// the API's origin: no response may run script or be sniffed into a
	// type that does. Pages pkgvc writes itself need no more than inline
	// style.
	nosniff    = []string{"nosniff"}
	contentCSP = []string{"default-src 'none'; style-src 'unsafe-inline'; sandbox"}
)

// FetchFunc streams the content of an on-demand record from its remote to
// w while storing it. It verifies while streaming; on a digest mismatch it
// returns an error and stores nothing.
type FetchFunc func(ctx context.Context, rec repo.Record, w io.Writer) error

// ServerOption configures a Server.
type ServerOption func(*Server)

// WithLogger sets the logger for problems found while serving (corrupt or
// missing content, failed fetches). The default discards them.
func WithLogger(l *slog.Logger) ServerOption { return func(s *Server) { s.log = l } }

// WithFetcher lets the server fetch on-demand records whose content is not
// in the store yet: the fetch streams to the client while it is stored.
func WithFetcher(f FetchFunc) ServerOption { return func(s *Server) { s.fetch = f } }

// WithMemoryCache sets how many bytes of small, verified package files the
// server keeps in memory (default 64 MiB; 0 disables). A cached file is
// still checked against its file on disk (a stat) at every request.
func WithMemoryCache(n int64) ServerOption { return func(s *Server) { s.memBytes = max(n, 0) } }

// WithRecheck sets how often a small file served from memory is compared
// with its file on disk (a stat: inode, size, mtime, ctime), so that a
// damaged file is noticed and verified again (default 1 s; 0 compares at
// every request). Memory holds only verified content, so until then
// clients get the right bytes.
func WithRecheck(d time.Duration) ServerOption { return func(s *Server) { s.recheck = max(d, 0) } }

// WithRefsWatch lets the server skip looking refs up while the watch shows
// that no ref changed (see repo.RefsWatch); without one, every request
// looks up its distribution's refs. The server does not close w.
func WithRefsWatch(w repo.RefsWatch) ServerOption { return func(s *Server) { s.watch = w } }

// Server serves every distribution at ContentPrefix + base path, straight
// from the store: package files with their SHA-256 as strong ETag
// (conditional and Range requests through http.ServeContent), publication
// files (PULP_MANIFEST, indexes) at their paths, directory listings, and
// immutable per-version URLs ContentPrefix + base path + "/@<version id>/...".
//
// A distribution is resolved at every request, so a commit, promotion or
// distribution change is served at once; a request keeps the version it
// started with. Distribution documents, versions, tree objects, path
// lookups and listings are cached by id (they are immutable); refs are
// re-read per request (see WithRefsWatch).
//
// Package files are verified: the first full GET of a blob streams through
// a SHA-256 check that cuts the response before its end on a mismatch;
// later requests for the same unchanged file (same inode, size, mtime and
// ctime) are served straight from the file, or from memory for small files
// (see WithMemoryCache, WithRecheck). A blob this process just wrote
// counts as verified (see BlobWritten). A Range request is served only
// from a blob verified whole since its file last changed: the first one
// reads the whole blob. Compressed blobs are decoded through the object store.
type Server struct {
	st    *repo.Store
	dists *dist.Dists
	pubs  *publish.Publications
	log   *slog.Logger
	fetch FetchFunc
	pull  *puller
	// pullWait is how long a request waits for a rate-limited remote.
	pullWait func(ctx context.Context, remote string) time.Duration
	limits   *rateLimits // shared by the pullers and on-demand fetches
	ns       *nsCache    // see WithNamespaceCache
	watch    repo.RefsWatch
	mux      *http.ServeMux
	gate     *authGate // see WithAuth
	up       *uploads.Engine

	memBytes int64
	recheck  time.Duration
	maxBody  int64 // see WithMaxBodyBytes; 0 means MaxUploadBytes

	tableMu  sync.Mutex
	table    atomic.Pointer[distTable]
	versions *clockcache.Cache[objects.ID, *verState]
	listings *clockcache.Cache[objects.ID, []repo.Record]
	blobs    *clockcache.Cache[objects.ID, *blobEntry]
	reach    *clockcache.Cache[[2]objects.ID, bool]
	dirs     sync.Map // directory path -> *blobDir

	ops *ops // metrics and readiness checks (ops.go)
}

var _ http.Handler = (*Server)(nil)

// Cache bounds.
const (
	maxVersions     = 256
	maxNodeBytes    = 64 << 20 // small objects the store keeps (objects.Store.CacheObjects)
	maxListed       = 1 << 20  // records held in cached directory listings
	maxBlobs        = 1 << 16
	maxSmallBlob    = 64 << 10 // largest file kept in memory
	maxLookups      = 1 << 16  // per version
	maxReach        = 4096
	defaultMemBytes = 64 << 20
)

// NewServer returns a Server for the distributions of st. pubs generates
// publication files; nil serves none.
func NewServer(st *repo.Store, dists *dist.Dists, pubs *publish.Publications, opts ...ServerOption) *Server {
	s := &Server{
		st: st, dists: dists, pubs: pubs,
		log:      slog.New(slog.DiscardHandler),
		memBytes: defaultMemBytes,
		recheck:  time.Second,
		versions: clockcache.New[objects.ID, *verState](maxVersions, 0),
		listings: clockcache.New[objects.ID, []repo.Record](64, maxListed),
		reach:    clockcache.New[[2]objects.ID, bool](maxReach, 0),
		ops:      newOps(),
		pullWait: defaultPullWait,
	}
	for _, o := range opts {
		o(s)
	}
	s.shareLimits()
	// Every request reads tree nodes: the store keeps them in memory.
	st.Objects().CacheObjects(maxNodeBytes)
	s.blobs = clockcache.New[objects.ID, *blobEntry](maxBlobs, s.memBytes+maxBlobs*blobOverhead)
	s.mux = http.NewServeMux()
	s.mux.HandleFunc(ContentPrefix, s.serveContent)
	s.mux.HandleFunc("/content", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, ContentPrefix, http.StatusMovedPermanently)
	})
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		textError(w, http.StatusNotFound, "not found: distributions are served under "+ContentPrefix+"<base-path>/")
	})
	s.setupOps()
	s.mount()
	return s
}

// dispatch rejects malformed content paths, then routes the request.
// ServeHTTP (ops.go) calls it and counts the request.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if !strings.HasPrefix(p, "/content") && !strings.HasPrefix(r.URL.RawPath, "/content") {
		s.mux.ServeHTTP(w, r)
		return
	}
	var msg string
	if r.URL.RawPath == "" {
		// The request path had no escapes beyond the default ones, so no
		// encoded '/' either: the decoded path tells everything.
		msg = checkPath(p, false)
	} else {
		msg = checkPath(r.URL.EscapedPath(), true)
	}
	if msg != "" {
		textError(w, http.StatusBadRequest, "bad request: "+msg)
		return
	}
	if strings.HasPrefix(p, ContentPrefix) {
		s.serveContent(w, r) // the hot path skips the mux
		return
	}
	s.mux.ServeHTTP(w, r)
}

// checkPath inspects a request path segment by segment and returns why it
// is refused: ".", ".." or empty segments, NUL and other control bytes,
// or (in an escaped path) an encoded '/' or '\' inside a segment. Only a
// final empty segment (a trailing '/') is allowed.
func checkPath(p string, escaped bool) string {
	p = strings.TrimPrefix(p, "/")
	for p != "" {
		seg, rest, more := strings.Cut(p, "/")
		if seg == "" {
			return "empty path segment"
		}
		dec := seg
		if escaped && strings.IndexByte(seg, '%') >= 0 {
			var err error
			if dec, err = url.PathUnescape(seg); err != nil {
				return "malformed escape"
			}
			if strings.ContainsAny(dec, "/\\") {
				return "encoded '/' in a path segment"
			}
		}
		if dec == "." || dec == ".." {
			return "'.' and '..' segments are not allowed"
		}
		for i := 0; i < len(dec); i++ {
			if dec[i] < 0x20 || dec[i] == 0x7f {
				return "control character in path"
			}
		}
		if !more {
			break
		}
		p = rest
	}
	return ""
}

// reasonError is textError with msg, less its status prefix ("bad
// request: "), as the status line's reason phrase too, where twine shows
// it (as PyPI does for uploads).
func reasonError(w http.ResponseWriter, code int, msg string) {
	reason, _ := strings.CutPrefix(msg, strings.ToLower(http.StatusText(code))+": ")
	if reason != "" {
		reason = strings.ToUpper(reason[:1]) + reason[1:]
	}
	w.Header()[reasonKey] = []string{oneLine(reason)}
	textError(w, code, msg)
}

// textError writes a short plain-text error.
func textError(w http.ResponseWriter, code int, msg string) {
	clearContentHeaders(w)
	http.Error(w, msg, code)
}

// ErrorWriter writes an error answer of status whose text is msg. It is
// called with the content headers (ETag, Content-Length, ...) removed and
// Cache-Control no-store set, Retry-After too on a 429; it writes the
// status line and a body.
type ErrorWriter func(w http.ResponseWriter, status int, msg string)

// write answers as ew does, or in plain text for a nil ew.
func (ew ErrorWriter) write(w http.ResponseWriter, status int, msg string) {
	if ew == nil {
		textError(w, status, msg)
		return
	}
	clearContentHeaders(w)
	ew(w, status, msg)
}

// clearContentHeaders removes the headers of content an error replaces.
func clearContentHeaders(w http.ResponseWriter) {
	h := w.Header()
	for _, k := range []string{"Etag", "Content-Length", "Accept-Ranges", "Content-Encoding", "Last-Modified"} {
		delete(h, k)
	}
	h["Cache-Control"] = []string{"no-store"}
}

// request is what one content request resolved to.
type request struct {
	dist      *distEntry
	vs        *verState
	sub       string // path inside the version; "" or ending in '/' for a directory
	prefix    string // escaped URL path of the version root, ending in '/'
	immutable bool
}

func (s *Server) serveContent(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		if dir := s.uploadDir(r.URL.Path); dir != "" {
			s.serveUpload(w, r, dir) // a kind's upload (upload.go)
			return
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		textError(w, http.StatusMethodNotAllowed, "method not allowed: the content server is read-only")
		return
	}
	ctx := r.Context()
	rest := r.URL.Path[len(ContentPrefix):]
	if rest == "" {
		textError(w, http.StatusNotFound, "not found: give a distribution's base path, as in "+ContentPrefix+"<base-path>/")
		return
	}
	de, sub, exact, cur, err := s.resolve(ctx, rest)
	if err != nil && s.pullEmpty(w, r, de, sub, err) {
		return // pull-through into an empty repository (pullthrough.go)
	}
	switch {
	case err != nil && errors.Is(err, repo.ErrNotFound):
		textError(w, http.StatusNotFound, "not found: "+err.Error())
		return
	case err != nil && errors.Is(err, repo.ErrKindMismatch):
		textError(w, http.StatusConflict, err.Error())
		return
	case err != nil:
		s.internal(w, r, "distributions", err)
		return
	case de == nil:
		textError(w, http.StatusNotFound, "not found: no distribution serves "+rest)
		return
	case exact:
		redirectDir(w, r)
		return
	}
	if de.d.Private && !s.authorize(w, r, de.d) {
		return // reading a private distribution needs a token (see WithAuth)
	}
	q := request{dist: de, vs: cur, sub: sub, prefix: ContentPrefix + de.basePath + "/"}
	if strings.HasPrefix(sub, "@") {
		seg, after, slash := strings.Cut(sub[1:], "/")
		id, perr := objects.ParseID(seg)
		if perr != nil {
			textError(w, http.StatusNotFound, "not found: "+sub+": a version URL is @<64-hex version id>/")
			return
		}
		vs, ok, err := s.versionFor(ctx, cur, id)
		if err != nil {
			s.internal(w, r, "version "+seg, err)
			return
		}
		if !ok {
			textError(w, http.StatusNotFound, "not found: version "+seg+" is not in the history of distribution "+de.name)
			return
		}
		if !slash {
			redirectDir(w, r)
			return
		}
		q.vs, q.sub, q.immutable = vs, after, true
		q.prefix += "@" + seg + "/"
	}
	s.serveVersionPath(w, r, &q)
}

// redirectDir sends a directory URL without its trailing '/' there.
func redirectDir(w http.ResponseWriter, r *http.Request) {
	u := r.URL.EscapedPath() + "/"
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	w.Header()["Cache-Control"] = cacheNormal
	http.Redirect(w, r, u, http.StatusMovedPermanently)
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.internalTo(w, r, nil, what, err)
}

// internalTo is internal answering as ew does.
func (s *Server) internalTo(w http.ResponseWriter, r *http.Request, ew ErrorWriter, what string, err error) {
	if r.Context().Err() != nil {
		return // the client went away
	}
	s.log.Error("serve", "path", r.URL.EscapedPath(), "what", what, "err", err, parallel.LogStack(err))
	ew.write(w, http.StatusInternalServerError, "internal error: "+what+" (the server log tells more)")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// serveVersionPath serves a publication file, a package file or a listing
// of one version.
func (s *Server) serveVersionPath(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	cc := cacheNormal
	switch {
	case q.immutable && q.dist.d.Private:
		cc = cachePrivateImmutable
	case q.immutable:
		cc = cacheImmutable
	case q.dist.d.Private:
		cc = cachePrivateNormal
	}
	if s.route(w, r, q, cc) {
		return
	}
	if !q.immutable && s.pullThrough(w, r, q.dist, q.vs, q.sub) {
		return // a project the distribution lacks (pullthrough.go)
	}
	if q.sub == "" || strings.HasSuffix(q.sub, "/") {
		s.serveListing(w, r, q, cc)
		return
	}
	pub, puberr := s.publication(ctx, q)
	if pub != nil {
		f, ok, err := pub.Lookup(ctx, q.sub)
		if err != nil {
			s.internal(w, r, "publication", err)
			return
		}
		if ok {
			s.servePubFile(w, r, q, f, cc)
			return
		}
	}
	le, err := q.vs.lookup(ctx, s, q.sub)
	if err != nil {
		s.internal(w, r, "look up "+q.sub, err)
		return
	}
	if le.found {
		h := w.Header()
		h["Content-Type"] = le.ctype
		h["Cache-Control"] = cc
		if le.disp != nil { // nosniff and the CSP are on every response (ops.go)
			h["Content-Disposition"] = le.disp
		}
		s.serveRecord(w, r, &le.rec, nil)
		return
	}
	if puberr != nil {
		s.internal(w, r, "publication", puberr)
		return
	}
	isDir, err := s.isDir(ctx, q, q.sub)
	if err != nil {
		s.internal(w, r, "look up "+q.sub, err)
		return
	}
	if isDir {
		redirectDir(w, r)
		return
	}
	textError(w, http.StatusNotFound, fmt.Sprintf("not found: %s in distribution %s (version %d, %s)", q.sub, q.dist.name, q.vs.v.Number, q.vs.v.ID))
}

// route lets the publisher of a negotiating kind (a Router: the Simple
// Repository API's HTML or JSON, normalized project names) pick the file to
// serve. It reports whether it answered.
func (s *Server) route(w http.ResponseWriter, r *http.Request, q *request, cc []string) bool {
	if s.pubs == nil {
		return false
	}
	rt, ok := s.pubs.Router(q.dist.d.Kind)
	if !ok {
		return false
	}
	pub, err := s.publication(r.Context(), q)
	if err != nil {
		s.internal(w, r, "publication", err)
		return true
	}
	target, redirect, vary, ok := rt.Route(r, q.sub, pub)
	if !ok {
		return false
	}
	if vary != "" {
		w.Header().Set("Vary", vary)
	}
	if redirect {
		w.Header()["Cache-Control"] = cc
		u := q.prefix + target
		if r.URL.RawQuery != "" { // keep ?format=... across the redirect
			u += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, u, http.StatusMovedPermanently)
		return true
	}
	f, ok, err := pub.Lookup(r.Context(), target)
	if err != nil {
		s.internal(w, r, "publication", err)
		return true
	}
	if !ok {
		return false
	}
	s.pullHit(r, q)
	s.servePubFile(w, r, q, f, cc)
	return true
}

// publication returns the publication of q's version, or nil without a
// publication cache.
func (s *Server) publication(ctx context.Context, q *request) (*publish.Publication, error) {
	if s.pubs == nil {
		return nil, nil
	}
	kind := q.dist.d.Kind
	pp := q.dist.pub
	if p := q.vs.pub.Load(); p != nil && p.kind == kind && p.params == pp.Digest() {
		return p.pub, nil
	}
	pub, err := s.pubs.ForParams(ctx, kind, q.vs.v, pp)
	if err != nil {
		return nil, err
	}
	q.vs.pub.Store(&pubSlot{kind: kind, params: pp.Digest(), pub: pub, etags: map[string][]string{}})
	return pub, nil
}

type pubSlot struct {
	kind   string
	params string // the distribution's settings (publish.Params.Digest)
	pub    *publish.Publication
	mu     sync.Mutex
	// etags holds the quoted SHA-256 of each file served so far.
	etags map[string][]string
}

func (s *Server) servePubFile(w http.ResponseWriter, r *http.Request, q *request, f *publish.File, cc []string) {
	if f.Content == nil { // a stored file: a blob, served as a package's
		h := w.Header()
		ct := f.ContentType
		if ct == "" {
			ct = contentType(f.Path)[0]
		}
		h["Content-Type"] = []string{ct}
		h["Cache-Control"] = cc
		s.serveRecord(w, r, &repo.Record{Path: f.Path, SHA256: f.ID, Size: f.Size}, nil)
		return
	}
	slot := q.vs.pub.Load()
	slot.mu.Lock()
	etag, ok := slot.etags[f.Path]
	if !ok {
		etag = []string{`"` + objects.Sum(f.Content).String() + `"`}
		slot.etags[f.Path] = etag
	}
	slot.mu.Unlock()
	h := w.Header()
	ct := f.ContentType
	if ct == "" {
		ct = contentType(f.Path)[0]
	}
	h["Content-Type"] = []string{ct}
	h["Etag"] = etag
	h["Cache-Control"] = cc
	http.ServeContent(w, r, "", zeroTime, bytes.NewReader(f.Content))
}

// PackageHeaders sets on h what every response carrying the bytes of the
// package file at path p needs, wherever it is served (the content server,
// the REST API): no type sniffing, a sandbox CSP, and a file of a type a
// browser could run script in (by its name, as its Content-Type is) as an
// attachment. Package content comes from whoever may commit.
func PackageHeaders(h http.Header, p string) {
	h["X-Content-Type-Options"] = nosniff
	h["Content-Security-Policy"] = contentCSP
	if d := disposition(p, contentType(p)); d != nil {
		h["Content-Disposition"] = d
	}
}

// disposition is the Content-Disposition of the package file at p of
// type ctype: an attachment if a browser could run script in it, else
// none (nil).
func disposition(p string, ctype []string) []string {
	if !activeType(ctype[0]) {
		return nil
	}
	return []string{mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(p)})}
}

// activeType reports whether a browser may run script in content of
// media type ct (HTML, SVG, XML with its stylesheets, JavaScript): such
// package files are served as attachments.
func activeType(ct string) bool {
	t, _, _ := strings.Cut(ct, ";")
	t = strings.ToLower(strings.TrimSpace(t))
	switch {
	case t == "text/html", t == "application/xhtml+xml", t == "text/xml", t == "application/xml",
		t == "text/xsl", t == "application/xslt+xml",
		strings.HasSuffix(t, "+xml"), strings.Contains(t, "javascript"), strings.Contains(t, "ecmascript"):
		return true
	}
	return false
}

// contentType returns the Content-Type header for a package path, by
// extension, application/octet-stream when unknown.
func contentType(p string) []string {
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		return []string{t}
	}
	return octetStream
}
