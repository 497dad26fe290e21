package publish

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pkgvc/pkgvc/internal/auth"
)

// Authorizer checks that a token grants level on a resource; it returns an
// error matching auth.ErrUnauthorized (unknown, revoked or expired token)
// or auth.ErrForbidden (valid token without the scope). *auth.Store is one.
type Authorizer interface {
	Authorize(ctx context.Context, token, kind, name string, level auth.Level) (*auth.Token, error)
}

// Rate limit of failed authentications, by default.
const (
	defaultAuthFailures = 10
	defaultAuthWindow   = time.Minute
	defaultAuthBlock    = time.Minute
	maxAuthClients      = 1 << 16
)

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
		g := s.authGate()
		g.failures, g.window, g.block = failures, window, block
	}
}

// authGate is the authentication state of a Server.
type authGate struct {
	authz    Authorizer
	failures int
	window   time.Duration
	block    time.Duration
	now      func() time.Time

	mu      sync.Mutex
	clients map[string]*failCount
}

type failCount struct {
	start        time.Time // of the current window
	n            int
	blockedUntil time.Time
}

func (s *Server) authGate() *authGate {
	if s.gate == nil {
		s.gate = &authGate{
			failures: defaultAuthFailures, window: defaultAuthWindow, block: defaultAuthBlock,
			now: time.Now, clients: map[string]*failCount{},
		}
	}
	return s.gate
}

// authorize reports whether r may read the private distribution name;
// otherwise it has answered 401, 403, 429 or 500.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, name string) bool {
	g := s.gate
	token, ok := credentials(r)
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
		if wait := g.fail(clientAddr(r)); wait > 0 {
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

// credentials returns the token of r's Authorization header: the password
// of Basic (or the user name when the password is empty), or the Bearer token.
func credentials(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(h, " ")
	rest = strings.TrimSpace(rest)
	switch {
	case strings.EqualFold(scheme, "Bearer") && rest != "":
		return rest, true
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return "", false
		}
		user, pass, _ := strings.Cut(string(raw), ":")
		if pass == "" {
			pass = user
		}
		return pass, pass != ""
	}
	return "", false
}

// clientAddr is the host of r's remote address.
func clientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// fail records a failed authentication from addr and returns how long the
// client must wait, or 0 while it is under the limit.
func (g *authGate) fail(addr string) time.Duration {
	if g.failures <= 0 {
		return 0
	}
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.clients[addr]
	if c == nil {
		if len(g.clients) >= maxAuthClients {
			g.prune(now)
		}
		c = &failCount{start: now}
		g.clients[addr] = c
	}
	if now.Before(c.blockedUntil) {
		return c.blockedUntil.Sub(now)
	}
	if now.Sub(c.start) >= g.window {
		c.start, c.n = now, 0
	}
	c.n++
	if c.n > g.failures {
		c.blockedUntil = now.Add(g.block)
		c.start, c.n = c.blockedUntil, 0
		return g.block
	}
	return 0
}

// prune drops the clients that are neither blocked nor within a window,
// or every client if that frees nothing.
func (g *authGate) prune(now time.Time) {
	for a, c := range g.clients {
		if !now.Before(c.blockedUntil) && now.Sub(c.start) >= g.window {
			delete(g.clients, a)
		}
	}
	if len(g.clients) >= maxAuthClients {
		clear(g.clients)
	}
}
