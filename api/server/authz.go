package server

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"time"

	"github.com/pkgvc/pkgvc/api/wire"
	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/httpx"
	"github.com/pkgvc/pkgvc/repo"
)

// Authenticator finds the token whose secret a request sent; an unknown,
// revoked or expired one is auth.ErrUnauthorized. *auth.Store is one.
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (*auth.Token, error)
}

type tokenKey struct{}

// tokenFrom returns the token the request authenticated with.
func tokenFrom(ctx context.Context) *auth.Token {
	t, _ := ctx.Value(tokenKey{}).(*auth.Token)
	return t
}

// authenticate answers 401 to requests without a valid token (429 once an
// address failed too often; a valid token is always accepted), and gives
// the others the token and, for the reflog, its name as identity.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, ok := auth.Credentials(r)
		if !ok {
			s.writeError(w, r, errorf(auth.ErrUnauthorized, "unauthorized: send a token (Authorization: Bearer TOKEN, or as the HTTP Basic password)"))
			return
		}
		addr := auth.ClientAddr(r)
		tok, err := s.authn.Authenticate(r.Context(), secret)
		if err != nil {
			if !errors.Is(err, auth.ErrUnauthorized) {
				s.writeError(w, r, toError(err))
				return
			}
			if wait := s.limiter.Fail(addr); wait > 0 {
				s.tooMany(w, r, wait)
				return
			}
			// The message never repeats the secret.
			s.writeError(w, r, errorf(auth.ErrUnauthorized, "unauthorized: unknown, revoked or expired token"))
			return
		}
		ctx := context.WithValue(r.Context(), tokenKey{}, tok)
		ctx = repo.WithWhoContext(ctx, tok.Name)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	httpx.SetRetryAfter(w.Header(), wait)
	s.writeError(w, r, errorf(wire.ErrRateLimited, "too many requests: too many failed authentications from this address"))
}

// need checks that the request's token grants level on kind/name.
func need(ctx context.Context, kind, name string, level auth.Level) error {
	tok := tokenFrom(ctx)
	if tok == nil {
		return errorf(auth.ErrUnauthorized, "unauthorized: no token")
	}
	if !tok.Allows(kind, name, level) {
		return denied(tok, kind, name, level)
	}
	return nil
}

// readable keeps the items whose name the request's token may read.
func readable[T any](ctx context.Context, kind string, items []T, name func(T) string) []T {
	tok := tokenFrom(ctx)
	var out []T
	for _, it := range items {
		if tok != nil && tok.Allows(kind, name(it), auth.Read) {
			out = append(out, it)
		}
	}
	return out
}

// needAll checks that the token grants level on every resource of kind
// (KindAny: of every kind), as store-wide operations require.
func needAll(ctx context.Context, kind string, level auth.Level) error {
	tok := tokenFrom(ctx)
	if tok == nil {
		return errorf(auth.ErrUnauthorized, "unauthorized: no token")
	}
	if !allowsAll(tok, kind, level) {
		return denied(tok, kind, "*", level)
	}
	return nil
}

func allowsAll(tok *auth.Token, kind string, level auth.Level) bool {
	for _, s := range tok.Scopes {
		if s.Glob == "*" && s.Level >= level && (s.Kind == auth.KindAny || s.Kind == kind) {
			return true
		}
	}
	return false
}

// allowsAny reports whether the token grants level on some resource of kind.
func allowsAny(tok *auth.Token, kind string, level auth.Level) bool {
	for _, s := range tok.Scopes {
		if s.Level >= level && (s.Kind == auth.KindAny || s.Kind == kind) {
			return true
		}
	}
	return false
}

func denied(tok *auth.Token, kind, name string, level auth.Level) error {
	return errorf(auth.ErrForbidden, "forbidden: permission denied: token %s lacks the scope %s:%s:%s", tok.Name, kind, name, level)
}

// revBase splits a revision's base (a repository name or an id prefix)
// as repo.Store.Resolve does.
var revBase = regexp.MustCompile(`^([^@~]+)(@.*)?(~.*)?$`)

var hexID = regexp.MustCompile(`^[0-9a-f]{8,64}$`)

// needRev checks read access to the repository a revision goes through. A
// bare id prefix may name a version of any repository, so it needs read
// on every repository, unless a repository has that name (which Resolve
// takes first).
func (s *Server) needRev(ctx context.Context, rev string) error {
	m := revBase.FindStringSubmatch(rev)
	if m == nil {
		return errorf(repo.ErrInvalid, "invalid revision %q: use NAME, NAME@N, NAME@{K}, NAME~K or an id prefix", rev)
	}
	base := m[1]
	if hexID.MatchString(base) && m[2] == "" {
		tok := tokenFrom(ctx)
		if tok != nil && allowsAll(tok, auth.KindRepo, auth.Read) {
			return nil
		}
		if _, err := s.svc.ShowRepo(ctx, base); err == nil {
			return need(ctx, auth.KindRepo, base, auth.Read)
		}
		return need(ctx, auth.KindRepo, "*", auth.Read)
	}
	return need(ctx, auth.KindRepo, base, auth.Read)
}

// needDistRead checks that the request's token may read what distribution
// name serves, by the rule the content server applies to private
// distributions (auth.Token.ReadsDist): dist:NAME:read, or read on the
// repository it serves.
func (s *Server) needDistRead(ctx context.Context, name string) error {
	tok := tokenFrom(ctx)
	if tok == nil {
		return errorf(auth.ErrUnauthorized, "unauthorized: no token")
	}
	if tok.Allows(auth.KindDist, name, auth.Read) {
		return nil
	}
	if d, err := s.svc.ShowDist(ctx, name); err == nil && tok.ReadsDist(name, d.ServedRepo()) {
		return nil
	}
	return denied(tok, auth.KindDist, name, auth.Read)
}
