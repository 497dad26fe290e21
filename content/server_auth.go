package content

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/httpx"
)

// Authorizer checks that a token grants level on a resource; it returns an
// error matching auth.ErrUnauthorized (unknown, revoked or expired token)
// or auth.ErrForbidden (valid token without the scope). *auth.Store is one.
type Authorizer interface {
	Authorize(ctx context.Context, token, kind, name string, level auth.Level) (*auth.Token, error)
}

// WithAuth lets clients read private distributions with a token that grants
// dist:<name>:read, sent as the password of HTTP Basic authentication (any
// user name) or as "Authorization: Bearer <token>". Without an Authorizer
// every request for a private distribution gets 401.
func WithAuth(a Authorizer) ServerOption {
	return func(s *Server) { s.authGate().authz = a }
}

// AuthLimiter counts failed authentications per client address: Fail
// records one and returns how long the address must wait, or 0 while it
// is under the limit.
type AuthLimiter interface {
	Fail(addr string) time.Duration
}

// WithAuthLimiter makes failed authentications count on l: past its limit
// a client's failures get 429 Too Many Requests. A valid token is always
// accepted. The REST API of the same process must count on the same
// limiter, or a password guesser gets a budget per server: package app
// gives both the one it makes. Without a limiter failures are not limited.
func WithAuthLimiter(l AuthLimiter) ServerOption {
	return func(s *Server) { s.authGate().limit = l }
}

// noLimit limits nothing.
type noLimit struct{}

func (noLimit) Fail(string) time.Duration { return 0 }

// authGate is the authentication state of a Server.
type authGate struct {
	authz Authorizer
	limit AuthLimiter
}

func (s *Server) authGate() *authGate {
	if s.gate == nil {
		s.gate = &authGate{limit: noLimit{}}
	}
	return s.gate
}

// CanRead checks that token may read the distribution d, by the one rule
// for every content kind (auth.Token.ReadsDist): dist:NAME:read, or read on
// the repository d serves. Errors are those of CheckToken; a denial matches
// auth.ErrForbidden and names both scopes.
func (s *Server) CanRead(r *http.Request, token string, d *dist.Distribution) (*auth.Token, error) {
	tok, err := s.CheckToken(r, token, auth.KindDist, d.Name, auth.Read)
	if !errors.Is(err, auth.ErrForbidden) || tok == nil {
		return tok, err
	}
	if tok.ReadsDist(d.Name, d.ServedRepo()) {
		return tok, nil
	}
	return tok, fmt.Errorf("%w: %s", auth.ErrForbidden, ReadScopes(d))
}

// ReadScopes says which scopes read d, for a refusal.
func ReadScopes(d *dist.Distribution) string {
	if d.ServedRepo() == "" {
		return "the token does not grant dist:" + d.Name + ":read"
	}
	return "the token grants neither dist:" + d.Name + ":read nor repo:" + d.ServedRepo() + ":read"
}

// authorize reports whether r may read the private distribution d (see
// CanRead); otherwise it has answered 401, 403, 429 or 500.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, d *dist.Distribution) bool {
	token, ok := auth.Credentials(r)
	if s.gate == nil || s.gate.authz == nil || !ok {
		challenge(w, "unauthorized: distribution "+d.Name+" is private: send a token (HTTP Basic password or Bearer)")
		return false
	}
	_, err := s.CanRead(r, token, d)
	var lim *AuthLimitError
	switch {
	case err == nil:
		return true
	case errors.As(err, &lim):
		httpx.SetRetryAfter(w.Header(), lim.RetryAfter)
		textError(w, http.StatusTooManyRequests, "too many requests: too many failed authentications from this address")
	case errors.Is(err, auth.ErrForbidden):
		textError(w, http.StatusForbidden, "forbidden: "+ReadScopes(d))
	case errors.Is(err, auth.ErrUnauthorized):
		challenge(w, "unauthorized: unknown, revoked or expired token")
	default:
		s.internal(w, r, "authenticate", err)
	}
	return false
}

// challenge answers 401 with a Basic challenge.
func challenge(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="pkgvc"`)
	textError(w, http.StatusUnauthorized, msg)
}
