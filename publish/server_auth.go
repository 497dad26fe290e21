package publish

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/pkgvc/pkgvc/internal/auth"
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

// WithAuthLimit sets how many failed authentications a client address may
// make within window (default 10 a minute); after that its failures get
// 429 Too Many Requests for block (default a minute). A valid token is
// always accepted. failures <= 0 disables the limit.
func WithAuthLimit(failures int, window, block time.Duration) ServerOption {
	return func(s *Server) {
		s.authGate().limit.Set(failures, window, block)
	}
}

// authGate is the authentication state of a Server.
type authGate struct {
	authz Authorizer
	limit *auth.Limiter
}

func (s *Server) authGate() *authGate {
	if s.gate == nil {
		s.gate = &authGate{limit: auth.NewLimiter(auth.DefaultLimitFailures, auth.DefaultLimitWindow, auth.DefaultLimitBlock)}
	}
	return s.gate
}

// authorize reports whether r may read the private distribution name;
// otherwise it has answered 401, 403, 429 or 500.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, name string) bool {
	g := s.gate
	token, ok := auth.Credentials(r)
	if g == nil || g.authz == nil || !ok {
		challenge(w, "unauthorized: distribution "+name+" is private: send a token (HTTP Basic password or Bearer)")
		return false
	}
	_, err := g.authz.Authorize(r.Context(), token, auth.KindDist, name, auth.Read)
	switch {
	case err == nil:
		return true
	case errors.Is(err, auth.ErrForbidden):
		textError(w, http.StatusForbidden, "forbidden: the token does not grant dist:"+name+":read")
	case errors.Is(err, auth.ErrUnauthorized):
		if wait := g.limit.Fail(auth.ClientAddr(r)); wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
			textError(w, http.StatusTooManyRequests, "too many requests: too many failed authentications from this address")
			return false
		}
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
