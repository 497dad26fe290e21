package auth

import (
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Credentials returns the token of r's Authorization header: the Bearer
// token, or the password of HTTP Basic (the user name when the password is
// empty) — what pip, twine, apt and registry clients send.
func Credentials(r *http.Request) (string, bool) {
	scheme, rest, _ := strings.Cut(r.Header.Get("Authorization"), " ")
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

// ClientAddr is the host of r's remote address, the key of rate limits.
func ClientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// Default limit of failed authentications.
const (
	DefaultLimitFailures = 10
	DefaultLimitWindow   = time.Minute
	DefaultLimitBlock    = time.Minute
	maxLimitedClients    = 1 << 16
)

// Limiter counts failed authentications per client address: after
// Failures within Window, an address waits Block. Only failures count, so
// a client that once sent a wrong token is not slowed on its next valid
// request. Safe for concurrent use.
type Limiter struct {
	mu            sync.Mutex
	failures      int
	window, block time.Duration
	now           func() time.Time
	clients       map[string]*failCount
}

type failCount struct {
	start        time.Time // of the current window
	n            int
	blockedUntil time.Time
}

// NewLimiter returns a limiter; failures <= 0 disables it.
func NewLimiter(failures int, window, block time.Duration) *Limiter {
	return &Limiter{failures: failures, window: window, block: block, now: time.Now, clients: map[string]*failCount{}}
}

// Set changes the limits.
func (l *Limiter) Set(failures int, window, block time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures, l.window, l.block = failures, window, block
}

// SetClock replaces the clock, for tests.
func (l *Limiter) SetClock(now func() time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.now = now
}

// Fail records a failed authentication from addr and returns how long the
// client must wait, or 0 while it is under the limit.
func (l *Limiter) Fail(addr string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failures <= 0 {
		return 0
	}
	now := l.now()
	c := l.clients[addr]
	if c == nil {
		if len(l.clients) >= maxLimitedClients {
			l.prune(now)
		}
		c = &failCount{start: now}
		l.clients[addr] = c
	}
	if now.Before(c.blockedUntil) {
		return c.blockedUntil.Sub(now)
	}
	if now.Sub(c.start) >= l.window {
		c.start, c.n = now, 0
	}
	c.n++
	if c.n > l.failures {
		c.blockedUntil = now.Add(l.block)
		c.start, c.n = c.blockedUntil, 0
		return l.block
	}
	return 0
}

// prune drops the clients that are neither blocked nor within a window,
// or every client if that frees nothing.
func (l *Limiter) prune(now time.Time) {
	for a, c := range l.clients {
		if !now.Before(c.blockedUntil) && now.Sub(c.start) >= l.window {
			delete(l.clients, a)
		}
	}
	if len(l.clients) >= maxLimitedClients {
		clear(l.clients)
	}
}
