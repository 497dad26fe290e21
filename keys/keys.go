// Package keys keeps a store's signing keys: OpenPGP keys (apt Release
// files, rpm repodata) and Go checksum database keys (sumdb notes).
//
// A key is two documents of the metadata store: keys/public/NAME, what
// anyone may see (its description and public part, which Export returns),
// and keys/secret/NAME, its private part, read only to sign and absent for
// a key imported to verify only. Secrets never leave through Export, List
// or Get; the metadata store keeps its files readable by their owner only.
package keys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pkgvc/pkgvc/internal/names"
	"github.com/pkgvc/pkgvc/meta"
)

// Key types.
const (
	// TypeOpenPGP is an OpenPGP key: detached and clearsigned signatures.
	TypeOpenPGP = "openpgp"
	// TypeSumDB is a Go checksum database key (golang.org/x/mod/sumdb/note).
	TypeSumDB = "sumdb"
)

// Algorithms of generated keys.
const (
	AlgoRSA4096 = "rsa4096"
	AlgoEd25519 = "ed25519"
)

var (
	// ErrNotFound reports an unknown key name.
	ErrNotFound = errors.New("key not found")
	// ErrExists reports a key name already taken.
	ErrExists = errors.New("key already exists")
	// ErrInvalid reports a bad name, type, algorithm or key material.
	ErrInvalid = errors.New("invalid key")
	// ErrCannotSign reports a key stored without its private part.
	ErrCannotSign = fmt.Errorf("%w: no private part to sign with", ErrInvalid)
)

// Key describes a stored key; it never holds secret material.
type Key struct {
	Name string `json:"name"`
	Type string `json:"type"` // TypeOpenPGP or TypeSumDB
	// Algo is the public-key algorithm: rsa4096, ed25519, rsa2048, ...
	Algo string `json:"algo"`
	// Fingerprint is an OpenPGP key's fingerprint (upper-case hex), or a
	// sumdb key's hash (8 hex digits).
	Fingerprint string `json:"fingerprint"`
	// KeyID is an OpenPGP key's long key ID, or a sumdb key's hash.
	KeyID string `json:"key_id"`
	// Identity is an OpenPGP key's primary user ID, or the name a sumdb
	// key signs as.
	Identity string    `json:"identity,omitempty"`
	Created  time.Time `json:"created"`
	// CanSign reports that the private part is stored.
	CanSign bool `json:"can_sign"`
}

const (
	publicPrefix = "keys/public/"
	secretPrefix = "keys/secret/"
)

// publicDoc is the document keys/public/NAME.
type publicDoc struct {
	Key
	// Public is the armored OpenPGP public key block, or the sumdb
	// verifier key line.
	Public string `json:"public"`
}

// secretDoc is the document keys/secret/NAME.
type secretDoc struct {
	// Secret is the armored OpenPGP private key block, or the sumdb
	// signer key line.
	Secret string `json:"secret"`
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock that dates keys and signatures.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithRand sets the source of randomness of new keys.
func WithRand(r io.Reader) Option { return func(s *Store) { s.rand = r } }

// Store keeps the keys of a metadata store.
type Store struct {
	m    meta.Store
	now  func() time.Time
	rand io.Reader
}

// New returns the key store over m.
func New(m meta.Store, opts ...Option) *Store {
	s := &Store{m: m, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// ValidateName checks a key name: the rules of repository names.
func ValidateName(name string) error { return names.Check(name, ErrInvalid) }

// material is a key ready to store.
type material struct {
	key    Key
	public string
	secret string // "" for a verify-only key
}

// Generate makes a new key: typ TypeOpenPGP (the default when empty) or
// TypeSumDB; algo AlgoRSA4096 (OpenPGP's default) or AlgoEd25519 (the
// only one, and so the default, of sumdb).
func (s *Store) Generate(ctx context.Context, name, typ, algo string) (*Key, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if typ == "" {
		typ = TypeOpenPGP
	}
	var gen func() (*material, error)
	switch typ {
	case TypeOpenPGP:
		if algo == "" {
			algo = AlgoRSA4096
		}
		if algo != AlgoRSA4096 && algo != AlgoEd25519 {
			return nil, fmt.Errorf("%w algorithm %q for an OpenPGP key: use %s or %s", ErrInvalid, algo, AlgoRSA4096, AlgoEd25519)
		}
		gen = func() (*material, error) { return s.generateOpenPGP(name, algo) }
	case TypeSumDB:
		if algo == "" {
			algo = AlgoEd25519
		}
		if algo != AlgoEd25519 {
			return nil, fmt.Errorf("%w algorithm %q for a sumdb key: only %s", ErrInvalid, algo, AlgoEd25519)
		}
		gen = func() (*material, error) { return s.generateSumDB(name) }
	default:
		return nil, fmt.Errorf("%w type %q: use %s or %s", ErrInvalid, typ, TypeOpenPGP, TypeSumDB)
	}
	// Refuse a taken name before the work of making an RSA key.
	if _, _, err := s.m.Get(ctx, publicPrefix+name); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrExists, name)
	} else if !errors.Is(err, meta.ErrNotFound) {
		return nil, err
	}
	m, err := gen()
	if err != nil {
		return nil, err
	}
	m.key.Name = name
	return s.put(ctx, m)
}

// Import stores a key: an OpenPGP public key (verify only) or secret key
// (armored or binary, one key, not protected by a passphrase), or a sumdb
// verifier key line (verify only) or signer key line.
func (s *Store) Import(ctx context.Context, name string, data []byte) (*Key, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	m, err := parse(data)
	if err != nil {
		return nil, err
	}
	m.key.Name = name
	return s.put(ctx, m)
}

// put stores a new key's documents in one batch.
func (s *Store) put(ctx context.Context, m *material) (*Key, error) {
	m.key.CanSign = m.secret != ""
	if m.key.Created.IsZero() { // a sumdb key has no date of its own
		m.key.Created = s.now().UTC().Truncate(time.Second)
	}
	pub, err := json.Marshal(publicDoc{Key: m.key, Public: m.public})
	if err != nil {
		return nil, err
	}
	ops := []meta.Op{{Key: publicPrefix + m.key.Name, Value: pub}}
	if m.secret != "" {
		sec, err := json.Marshal(secretDoc{Secret: m.secret})
		if err != nil {
			return nil, err
		}
		ops = append(ops, meta.Op{Key: secretPrefix + m.key.Name, Value: sec})
	}
	if _, err := s.m.Apply(ctx, ops...); err != nil {
		if errors.Is(err, meta.ErrConflict) {
			return nil, fmt.Errorf("%w: %s", ErrExists, m.key.Name)
		}
		return nil, err
	}
	k := m.key
	return &k, nil
}

// get reads a key's public document.
func (s *Store) get(ctx context.Context, name string) (*publicDoc, meta.Rev, error) {
	if err := ValidateName(name); err != nil {
		return nil, "", err
	}
	var d publicDoc
	rev, err := meta.GetJSON(ctx, s.m, publicPrefix+name, &d)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, "", fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return nil, "", err
	}
	return &d, rev, nil
}

// Get describes key name.
func (s *Store) Get(ctx context.Context, name string) (*Key, error) {
	d, _, err := s.get(ctx, name)
	if err != nil {
		return nil, err
	}
	return &d.Key, nil
}

// Export returns the public part of key name: an armored OpenPGP public
// key block, or a sumdb verifier key line (name+hash+base64) and a newline.
func (s *Store) Export(ctx context.Context, name string) ([]byte, error) {
	d, _, err := s.get(ctx, name)
	if err != nil {
		return nil, err
	}
	out := d.Public
	if out == "" || out[len(out)-1] != '\n' {
		out += "\n"
	}
	return []byte(out), nil
}

// List returns every key, sorted by name.
func (s *Store) List(ctx context.Context) ([]Key, error) {
	out := []Key{}
	err := s.m.List(ctx, publicPrefix, func(key string, value []byte, _ meta.Rev) error {
		var d publicDoc
		if err := json.Unmarshal(value, &d); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		out = append(out, d.Key)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Delete deletes key name, its private part with it.
func (s *Store) Delete(ctx context.Context, name string) error {
	_, rev, err := s.get(ctx, name)
	if err != nil {
		return err
	}
	ops := []meta.Op{{Key: publicPrefix + name, Old: rev}}
	if _, srev, err := s.m.Get(ctx, secretPrefix+name); err == nil {
		ops = append(ops, meta.Op{Key: secretPrefix + name, Old: srev})
	} else if !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	if _, err := s.m.Apply(ctx, ops...); err != nil {
		if errors.Is(err, meta.ErrConflict) {
			return fmt.Errorf("key %s changed while being deleted, try again: %w", name, err)
		}
		return err
	}
	return nil
}

// secret reads the private part of key name, which must be of type typ.
func (s *Store) secret(ctx context.Context, name, typ string) (*Key, string, error) {
	d, _, err := s.get(ctx, name)
	if err != nil {
		return nil, "", err
	}
	if d.Type != typ {
		return nil, "", fmt.Errorf("%w: %s is a %s key, not %s", ErrInvalid, name, d.Type, typ)
	}
	if !d.CanSign {
		return nil, "", fmt.Errorf("%w: key %s was imported without it", ErrCannotSign, name)
	}
	var sd secretDoc
	_, err = meta.GetJSON(ctx, s.m, secretPrefix+name, &sd)
	if errors.Is(err, meta.ErrNotFound) || err == nil && sd.Secret == "" {
		return nil, "", fmt.Errorf("%w: key %s was imported without it", ErrCannotSign, name)
	}
	if err != nil {
		return nil, "", err
	}
	return &d.Key, sd.Secret, nil
}

// parse reads imported key material. A parser's panic on crafted input
// is an invalid key, not a crashed server or command.
func parse(data []byte) (m *material, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("%w: unreadable key material (%v)", ErrInvalid, r)
		}
	}()
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrInvalid)
	}
	line, isSumDB := sumDBLine(data)
	if !isSumDB {
		return parseOpenPGP(data)
	}
	m, sumErr := parseSumDB(line)
	if sumErr == nil {
		return m, nil
	}
	// Shaped as a sumdb line yet not one: perhaps OpenPGP after all.
	m, pgpErr := parseOpenPGP(data)
	if pgpErr == nil {
		return m, nil
	}
	pgpWhy := trimInvalid(pgpErr)
	if ne := (*notOpenPGPError)(nil); errors.As(pgpErr, &ne) {
		pgpWhy = ne.err.Error()
	}
	return nil, fmt.Errorf("%w: not a sumdb key line (%s), nor an OpenPGP key (%s)", ErrInvalid, trimInvalid(sumErr), pgpWhy)
}

// trimInvalid is err's message without the "invalid key: " that the
// combined error says once.
func trimInvalid(err error) string {
	return strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")
}
