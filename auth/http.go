package auth

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pkgvc/pkgvc/internal/clientaddr"
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

// ClientAddr names the client of r, the key of rate limits: its IPv4
// address, or the /64 of its IPv6 one (one host is commonly given a whole
// /64 and may send from any address in it).
func ClientAddr(r *http.Request) string { return clientaddr.Key(r.RemoteAddr) }

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

// Fail records a failed authentication from addr (an IP address or
// ClientAddr's key; addresses of one IPv6 /64 count as one client) and
// returns how long the client must wait, or 0 while it is under the limit.
func (l *Limiter) Fail(addr string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failures <= 0 {
		return 0
	}
	addr = clientaddr.Key(addr)
	now := l.now()
	c := l.clients[addr]
	if c == nil {
		if len(l.clients) >= maxLimitedClients {
			if wait := l.prune(now); wait > 0 {
				return wait
			}
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

// prune makes room in the full table of clients without lifting a block:
// it drops the clients that are neither blocked nor within a window, and
// if that frees nothing the unblocked clients of the oldest windows (an
// eighth of the table, so that the next new clients find room without
// another pass). When every client is blocked there is no room: it
// returns how long until the first block ends, which a new client waits.
func (l *Limiter) prune(now time.Time) time.Duration {
	type open struct {
		addr  string
		start time.Time
	}
	var unblocked []open
	var firstEnd time.Time
	for a, c := range l.clients {
		switch {
		case now.Before(c.blockedUntil):
			if firstEnd.IsZero() || c.blockedUntil.Before(firstEnd) {
				firstEnd = c.blockedUntil
			}
		case now.Sub(c.start) >= l.window:
			delete(l.clients, a)
		default:
			unblocked = append(unblocked, open{a, c.start})
		}
	}
	if len(l.clients) < maxLimitedClients {
		return 0
	}
	if len(unblocked) == 0 {
		return firstEnd.Sub(now)
	}
	slices.SortFunc(unblocked, func(a, b open) int { return a.start.Compare(b.start) })
	for _, o := range unblocked[:min(len(unblocked), maxLimitedClients/8)] {
		delete(l.clients, o.addr)
	}
	return 0
}
