package content

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
	"github.com/pkgvc/pkgvc/uploads"
)

// Mounter is an optional Publisher capability for content kinds whose
// clients speak an API of their own beside ContentPrefix, such as the OCI
// Distribution API at /v2/: NewServer mounts each handler Mount returns at
// its ServeMux pattern. The handlers use the Server's exported helpers
// (Target, ServeRecord, CheckToken, Pull) so that distributions resolve,
// blobs are verified, failed logins are limited and pull-through is
// batched as for every other request.
type Mounter interface {
	Mount(s *Server) map[string]http.Handler
}

// mount adds the handlers of every Mounter publisher to the mux.
func (s *Server) mount() {
	if s.pubs == nil {
		return
	}
	for _, p := range s.pubs.Registry().Publishers() {
		if m, ok := p.(Mounter); ok {
			for pattern, h := range m.Mount(s) {
				s.mux.Handle(pattern, h)
			}
		}
	}
}

// Store returns the store the server serves.
func (s *Server) Store() *repo.Store { return s.st }

// WithUploads sets the upload engine of kinds' uploads (Uploader) and of mounted
// APIs that take uploads (OCI pushes). A process has one engine, built by
// its composition root (package app), and gives every server of its store
// that one. Without an engine the server takes no uploads.
func WithUploads(e *uploads.Engine) ServerOption { return func(s *Server) { s.up = e } }

// Uploads returns the server's upload engine (see WithUploads), nil if it
// has none and takes no uploads.
func (s *Server) Uploads() *uploads.Engine { return s.up }

// Logger returns the server's logger of problems.
func (s *Server) Logger() *slog.Logger { return s.log }

// Target is a distribution and the version it serves, as one request
// resolved them; later commits do not change it.
type Target struct {
	Dist *dist.Distribution
	// Version is nil while the repository followed has no version.
	Version *repo.Version
	s       *Server
	vs      *verState
}

// Target resolves the distribution whose base path is exactly basePath,
// as the content server does for each request. It returns nil and no
// error when none has that base path.
func (s *Server) Target(ctx context.Context, basePath string) (*Target, error) {
	de, _, _, cur, err := s.resolve(ctx, basePath)
	var nv *noVersionError
	switch {
	case de == nil && err == nil, de != nil && de.basePath != basePath:
		return s.namespaceTarget(ctx, basePath)
	case de != nil && errors.As(err, &nv):
		return &Target{Dist: de.d, s: s}, nil
	case errors.Is(err, repo.ErrKindMismatch):
		// Its repository holds another kind now: nothing to serve here
		// (the content server says why).
		return nil, nil
	case err != nil:
		return nil, err
	}
	return &Target{Dist: de.d, Version: cur.v, s: s, vs: cur}, nil
}

// Lookup returns the record at p in the target's version, through the
// server's cache of lookups.
func (t *Target) Lookup(ctx context.Context, p string) (repo.Record, bool, error) {
	if t.vs == nil {
		return repo.Record{}, false, nil
	}
	le, err := t.vs.lookup(ctx, t.s, p)
	if err != nil {
		return repo.Record{}, false, err
	}
	return le.rec, le.found, nil
}

// Records returns every record of the target's version sorted by path,
// cached per version. The slice is shared: do not modify it.
func (t *Target) Records(ctx context.Context) ([]repo.Record, error) {
	if t.vs == nil {
		return nil, nil
	}
	return t.s.records(ctx, t.vs)
}

// Prefix calls fn, in path order, for each record of the target's
// version whose path starts with prefix: O(log n) reads besides the
// records, without listing the version.
func (t *Target) Prefix(ctx context.Context, prefix string, fn func(repo.Record) error) error {
	if t.vs == nil {
		return nil
	}
	return tree.Prefix(ctx, t.s.st.Objects(), t.vs.v.Tree, prefix, fn)
}

// ServeRecord serves a record's content as the content server does: a
// strong ETag of its SHA-256, Range and conditional requests, content
// verified while it is read, on-demand content fetched. The caller sets
// Content-Type and Cache-Control.
func (s *Server) ServeRecord(w http.ResponseWriter, r *http.Request, rec *repo.Record) {
	s.serveRecord(w, r, rec, nil)
}

// ServeRecordOptions change how ServeRecordWith answers.
type ServeRecordOptions struct {
	// Error writes the error answers (a failed on-demand fetch, a
	// rate-limited upstream, corrupt or missing content) in the caller's
	// protocol; nil writes plain text.
	Error ErrorWriter
}

// ServeRecordWith is ServeRecord answering errors as o says.
func (s *Server) ServeRecordWith(w http.ResponseWriter, r *http.Request, rec *repo.Record, o ServeRecordOptions) {
	s.serveRecord(w, r, rec, o.Error)
}

// BlobWritten tells the server that blob id was just written to the
// store by this process from content hashed on its way in (PutResult.New
// of a flushed Batch), so that GETs serve its file without hashing it
// again: the file is recorded as verified with its identity now, and a
// later change to it is noticed as for any verified blob. Small blobs,
// which the first GET verifies cheaply and keeps in memory, and blobs
// without a raw local file are left alone.
func (s *Server) BlobWritten(id objects.ID) {
	p, ok := s.st.Objects().BlobPath(id)
	if !ok {
		return
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Size() <= maxSmallBlob && s.memBytes > 0 {
		return
	}
	ident, ok := identOfInfo(fi)
	if !ok {
		return
	}
	size := []string{strconv.FormatInt(fi.Size(), 10)}
	s.blobs.Add(id, &blobEntry{path: p, ident: ident, size: size, etag: quotedETag(id)}, blobOverhead)
}

// AuthLimitError reports a client address over the limit of failed
// authentications (see WithAuthLimit); it must wait RetryAfter.
type AuthLimitError struct{ RetryAfter time.Duration }

func (e *AuthLimitError) Error() string {
	return fmt.Sprintf("too many failed authentications; retry after %s", e.RetryAfter)
}

func (e *AuthLimitError) Unwrap() error { return auth.ErrUnauthorized }

// CheckToken checks that token grants level on the resource kind/name
// with the server's Authorizer (see WithAuth). A token the Authorizer does
// not know counts as a failed authentication of r's client address; over
// the limit the error is an *AuthLimitError. Errors match
// auth.ErrUnauthorized or auth.ErrForbidden; with ErrForbidden the valid
// token is returned too. Without an Authorizer every token is unknown.
func (s *Server) CheckToken(r *http.Request, token, kind, name string, level auth.Level) (*auth.Token, error) {
	g := s.gate
	var tok *auth.Token
	err := fmt.Errorf("%w: this server checks no tokens", auth.ErrUnauthorized)
	if g != nil && g.authz != nil {
		tok, err = g.authz.Authorize(r.Context(), token, kind, name, level)
	}
	if errors.Is(err, auth.ErrUnauthorized) && g != nil {
		if wait := g.limit.Fail(auth.ClientAddr(r)); wait > 0 {
			return nil, &AuthLimitError{RetryAfter: wait}
		}
	}
	return tok, err
}

// ErrNotOnRemote reports content a pull-through remote does not have.
var ErrNotOnRemote = fmt.Errorf("%w on the remote", repo.ErrNotFound)

// ErrNoPullThrough reports a server or distribution that cannot pull
// through a remote.
var ErrNoPullThrough = errors.New("pull-through is not enabled")

// DefaultPullThroughTTL is how long content a pull-through distribution
// holds under a mutable name (a container tag) is served before the
// remote is asked again, unless the distribution sets PullThroughTTL.
const DefaultPullThroughTTL = 5 * time.Minute

// Pull brings name (a project, a container tag or digest) from the remote
// of distribution d into its repository through the server's PullFunc,
// batched and shared with concurrent requests as WithPullThrough
// describes. With maxAge > 0 it does nothing when name was pulled
// successfully within maxAge. It returns ErrNotOnRemote when the remote
// lacks name (remembered for PullNegativeTTL) and ErrNoPullThrough when d
// has no remote, is pinned, or the server has no PullFunc. An upstream
// that rate-limits (429, Retry-After) is waited for up to the remote's
// read timeout (WithPullWait), then the error is a *RateLimitError, and
// no request of the server reaches that upstream before its wait is over.
func (s *Server) Pull(ctx context.Context, d *dist.Distribution, name string, maxAge time.Duration) error {
	if d.Cache != nil {
		return s.pullCache(ctx, d, name, maxAge)
	}
	if s.pull == nil || d.Remote == "" || d.Repo == "" {
		return ErrNoPullThrough
	}
	err := s.pullLimited(ctx, d.Remote, func() error { return s.pull.getFresh(ctx, d.Remote, d.Repo, name, maxAge) })
	if errors.Is(err, errNoProject) {
		return fmt.Errorf("%s: %w %s", name, ErrNotOnRemote, d.Remote)
	}
	return err
}

// MaxBodyBytes is the largest request body the server accepts
// (WithMaxBodyBytes), e.g. for one uploaded blob.
func (s *Server) MaxBodyBytes() int64 { return s.maxBodyBytes() }
