package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pkgvc/pkgvc/internal/errkind"
	"github.com/pkgvc/pkgvc/internal/names"
	"github.com/pkgvc/pkgvc/meta"
)

var (
	// ErrUnauthorized reports a missing, unknown, revoked or expired token.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden reports a valid token that lacks the scope asked for.
	ErrForbidden = errors.New("forbidden")
	// ErrInvalidScope reports a malformed scope.
	ErrInvalidScope = fmt.Errorf("scope %w", errkind.Invalid)
	// ErrTokenNotFound reports an unknown token name.
	ErrTokenNotFound = fmt.Errorf("token %w", errkind.NotFound)
	// ErrTokenExists reports a token name already taken.
	ErrTokenExists = fmt.Errorf("token %w", errkind.Exists)
)

// Prefix starts every token, so that a leaked one is recognizable.
const Prefix = "pkgvc_"

const (
	tokenBytes  = 32
	namesPrefix = "tokens/"
	hashPrefix  = "token-hashes/"
	maxCached   = 4096
	// DefaultCacheTTL is how long Authenticate trusts a token it looked
	// up before it reads it again (and so notices a revocation).
	DefaultCacheTTL = 2 * time.Second
)

// Token describes a token; it never holds the secret.
type Token struct {
	Name    string    `json:"name"`
	Scopes  []Scope   `json:"scopes"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"`
}

// Allows reports whether one of t's scopes grants level on kind/name.
func (t *Token) Allows(kind, name string, level Level) bool {
	for _, s := range t.Scopes {
		if s.Allows(kind, name, level) {
			return true
		}
	}
	return false
}

// ReadsDist reports whether t may read a private distribution: with
// dist:DIST:read, or with repo:REPO:read on the repository it serves
// (repo is empty for a distribution pinned to a version). Write and admin
// imply read. This is the one rule for every content kind.
func (t *Token) ReadsDist(dist, repo string) bool {
	return t.Allows(KindDist, dist, Read) || (repo != "" && t.Allows(KindRepo, repo, Read))
}

// expired reports whether t has expired at now.
func (t *Token) expired(now time.Time) bool {
	return !t.Expires.IsZero() && !now.Before(t.Expires)
}

// tokenDoc is the stored document of a token.
type tokenDoc struct {
	Token
	Hash string `json:"sha256"` // hex SHA-256 of the token
}

// CreateOptions describes a new token.
type CreateOptions struct {
	Name   string        // a repo.ValidateName name (names.Validate); generated when empty
	Scopes []Scope       // at least one
	TTL    time.Duration // lifetime up to MaxTTL; 0 never expires
}

// MaxTTL is the longest lifetime a token may be given (100 years): a
// longer one is a mistake, or an overflow that would mean never.
const MaxTTL = 100 * 365 * 24 * time.Hour

// Validate checks o.
func (o CreateOptions) Validate() error {
	if o.Name != "" {
		if err := names.Validate(o.Name); err != nil {
			return fmt.Errorf("token %w", err)
		}
	}
	if len(o.Scopes) == 0 {
		return fmt.Errorf("%w: a token needs at least one scope", ErrInvalidScope)
	}
	for _, s := range o.Scopes {
		if _, err := ParseScope(s.String()); err != nil {
			return err
		}
	}
	if o.TTL < 0 {
		return fmt.Errorf("token expiry %w: negative lifetime", errkind.Invalid)
	}
	if o.TTL > MaxTTL {
		return fmt.Errorf("token expiry %w: a lifetime over %d days (omit it for a token that never expires)", errkind.Invalid, MaxTTL/(24*time.Hour))
	}
	return nil
}

// Option configures a Store.
type Option func(*Store)

// WithCacheTTL sets how long Authenticate trusts a token it looked up
// (default DefaultCacheTTL; 0 reads the store at every call).
func WithCacheTTL(d time.Duration) Option { return func(s *Store) { s.ttl = max(d, 0) } }

// WithClock sets the clock that dates tokens and checks expiry.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// Holder has the metadata store that keeps the tokens: a *repo.Store is
// one.
type Holder interface{ Meta() meta.Store }

// Store manages the tokens kept in a metadata store.
type Store struct {
	st  Holder
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	cache map[[sha256.Size]byte]cached
	// revocations counts this process's revocations, so that a lookup
	// that raced one does not cache what it read before it.
	revocations uint64
}

type cached struct {
	tok *Token
	at  time.Time
}

// New returns the token store kept in st's metadata store (st is usually
// a *repo.Store).
func New(st Holder, opts ...Option) *Store {
	s := &Store{st: st, ttl: DefaultCacheTTL, now: time.Now, cache: map[[sha256.Size]byte]cached{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Create makes a token and returns its description and its secret, which
// is not stored and cannot be shown again.
func (s *Store) Create(ctx context.Context, o CreateOptions) (*Token, string, error) {
	if err := o.Validate(); err != nil {
		return nil, "", err
	}
	var raw [tokenBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, "", err
	}
	secret := Prefix + base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(secret))
	now := s.now().UTC().Truncate(time.Second)
	d := tokenDoc{Token: Token{Name: o.Name, Scopes: slices.Clone(o.Scopes), Created: now}, Hash: hex.EncodeToString(sum[:])}
	if d.Name == "" {
		d.Name = "token-" + d.Hash[:12] // the hash of a random secret: random, reveals nothing
	}
	if o.TTL > 0 {
		d.Expires = now.Add(o.TTL)
	}
	data, err := json.Marshal(&d)
	if err != nil {
		return nil, "", err
	}
	_, err = s.st.Meta().Apply(ctx,
		meta.Op{Key: namesPrefix + d.Name, Value: data},
		meta.Op{Key: hashPrefix + d.Hash, Value: data})
	if errors.Is(err, meta.ErrConflict) {
		return nil, "", fmt.Errorf("%w: %s", ErrTokenExists, d.Name)
	}
	if err != nil {
		return nil, "", err
	}
	return &d.Token, secret, nil
}

// List returns every token, sorted by name.
func (s *Store) List(ctx context.Context) ([]Token, error) {
	var out []Token
	err := s.st.Meta().List(ctx, namesPrefix, func(key string, value []byte, _ meta.Rev) error {
		var d tokenDoc
		if err := json.Unmarshal(value, &d); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		out = append(out, d.Token)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []Token{}
	}
	slices.SortFunc(out, func(a, b Token) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Revoke deletes the token name. Authenticate of a Store on the same
// metadata store in another process notices within its cache TTL.
func (s *Store) Revoke(ctx context.Context, name string) error {
	if err := names.Validate(name); err != nil {
		return fmt.Errorf("token %w", err)
	}
	var d tokenDoc
	rev, err := meta.GetJSON(ctx, s.st.Meta(), namesPrefix+name, &d)
	if errors.Is(err, meta.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrTokenNotFound, name)
	}
	if err != nil {
		return err
	}
	ops := []meta.Op{{Key: namesPrefix + name, Old: rev}}
	if _, cur, err := s.st.Meta().Get(ctx, hashPrefix+d.Hash); err == nil {
		ops = append(ops, meta.Op{Key: hashPrefix + d.Hash, Old: cur})
	} else if !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	if _, err := s.st.Meta().Apply(ctx, ops...); err != nil {
		if errors.Is(err, meta.ErrConflict) {
			return fmt.Errorf("token %s: %w", name, errkind.Conflict)
		}
		return err
	}
	if sum, err := hex.DecodeString(d.Hash); err == nil && len(sum) == sha256.Size {
		s.mu.Lock()
		delete(s.cache, [sha256.Size]byte(sum))
		s.revocations++
		s.mu.Unlock()
	}
	return nil
}

// Authenticate returns the token whose secret is secret; an unknown,
// revoked or expired one is ErrUnauthorized.
func (s *Store) Authenticate(ctx context.Context, secret string) (*Token, error) {
	if !strings.HasPrefix(secret, Prefix) || len(secret) > 128 {
		return nil, fmt.Errorf("%w: not a pkgvc token", ErrUnauthorized)
	}
	sum := sha256.Sum256([]byte(secret))
	now := s.now()
	s.mu.Lock()
	c, ok := s.cache[sum]
	revocations := s.revocations
	s.mu.Unlock()
	if !ok || now.Sub(c.at) >= s.ttl || now.Before(c.at) {
		tok, err := s.lookup(ctx, sum)
		if err != nil {
			if errors.Is(err, ErrUnauthorized) {
				s.mu.Lock()
				delete(s.cache, sum)
				s.mu.Unlock()
			}
			return nil, err
		}
		c = cached{tok: tok, at: now}
		if s.ttl > 0 {
			s.mu.Lock()
			if s.revocations != revocations {
				// A revocation landed since the lookup: it may be this
				// token's, so trust only a lookup made after it, and
				// cache nothing.
				s.mu.Unlock()
				if tok, err = s.lookup(ctx, sum); err != nil {
					return nil, err
				}
				return checkExpiry(tok, now)
			}
			if len(s.cache) >= maxCached {
				clear(s.cache)
			}
			s.cache[sum] = c
			s.mu.Unlock()
		}
	}
	return checkExpiry(c.tok, now)
}

// checkExpiry returns tok unless it expired by now.
func checkExpiry(tok *Token, now time.Time) (*Token, error) {
	if tok.expired(now) {
		return nil, fmt.Errorf("%w: token %s expired at %s", ErrUnauthorized, tok.Name, tok.Expires.Format(time.RFC3339))
	}
	return tok, nil
}

// lookup reads the token whose SHA-256 is sum.
func (s *Store) lookup(ctx context.Context, sum [sha256.Size]byte) (*Token, error) {
	var d tokenDoc
	_, err := meta.GetJSON(ctx, s.st.Meta(), hashPrefix+hex.EncodeToString(sum[:]), &d)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, fmt.Errorf("%w: unknown or revoked token", ErrUnauthorized)
	}
	if err != nil {
		return nil, err
	}
	stored, err := hex.DecodeString(d.Hash)
	if err != nil || subtle.ConstantTimeCompare(stored, sum[:]) != 1 {
		return nil, fmt.Errorf("%w: unknown or revoked token", ErrUnauthorized)
	}
	return &d.Token, nil
}

// Authorize authenticates secret and checks that it grants level on the
// resource kind/name: ErrUnauthorized or ErrForbidden otherwise.
func (s *Store) Authorize(ctx context.Context, secret, kind, name string, level Level) (*Token, error) {
	tok, err := s.Authenticate(ctx, secret)
	if err != nil {
		return nil, err
	}
	if !tok.Allows(kind, name, level) {
		return tok, fmt.Errorf("%w: token %s does not grant %s:%s:%s", ErrForbidden, tok.Name, kind, name, level)
	}
	return tok, nil
}
