package keys

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

const signerPrefix = "PRIVATE+KEY+"

func (s *Store) generateSumDB(name string) (*material, error) {
	skey, vkey, err := note.GenerateKey(s.rand, name)
	if err != nil {
		return nil, fmt.Errorf("generate sumdb key: %w", err)
	}
	return sumDBMaterial(vkey, skey)
}

// sumDBMaterial describes the verifier key vkey, with its signer key skey
// when not "".
func sumDBMaterial(vkey, skey string) (*material, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("%w: sumdb verifier key: %v", ErrInvalid, err)
	}
	hash := fmt.Sprintf("%08x", v.KeyHash())
	return &material{
		key: Key{
			Type: TypeSumDB, Algo: AlgoEd25519, Fingerprint: hash, KeyID: hash,
			Identity: v.Name(),
		},
		public: vkey,
		secret: skey,
	}, nil
}

// sumDBLineRE is the shape of a sumdb key line: name+hash+key, perhaps
// with the signer's prefix.
var sumDBLineRE = regexp.MustCompile(`^(PRIVATE\+KEY\+)?[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$`)

// sumDBLine returns data as a sumdb key line if it is shaped as one: printable
// ASCII matching sumDBLineRE. Binary key material (an OpenPGP key exported
// without armor may hold '+' and no newline) is not.
func sumDBLine(data []byte) (string, bool) {
	line := bytes.TrimSpace(data)
	for _, b := range line {
		if b < 0x20 || b > 0x7e {
			return "", false
		}
	}
	if !sumDBLineRE.Match(line) {
		return "", false
	}
	return string(line), true
}

// parseSumDB reads a sumdb key line (verifier or signer key).
func parseSumDB(line string) (*material, error) {
	if strings.HasPrefix(line, signerPrefix) {
		vkey, err := verifierOf(line)
		if err != nil {
			return nil, err
		}
		return sumDBMaterial(vkey, line)
	}
	return sumDBMaterial(line, "")
}

// verifierOf returns the verifier key of signer key skey (whose hash
// note.NewSigner checks against the public key).
func verifierOf(skey string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("%w: sumdb signer key: %s", ErrInvalid, why)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return bad(err.Error())
	}
	fields := strings.SplitN(strings.TrimPrefix(skey, signerPrefix), "+", 3)
	if len(fields) != 3 {
		return bad("not PRIVATE+KEY+name+hash+key")
	}
	raw, err := base64.StdEncoding.DecodeString(fields[2])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return bad("not an Ed25519 key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(signer.Name(), pub)
	if err != nil {
		return bad(err.Error())
	}
	return vkey, nil
}

// NoteSigner returns the signer of sumdb key name, for note.Sign.
func (s *Store) NoteSigner(ctx context.Context, name string) (note.Signer, error) {
	_, sec, err := s.secret(ctx, name, TypeSumDB)
	if err != nil {
		return nil, err
	}
	signer, err := note.NewSigner(sec)
	if err != nil {
		return nil, fmt.Errorf("key %s: damaged private part: %v", name, err)
	}
	return signer, nil
}

// NoteVerifier returns the verifier of sumdb key name.
func (s *Store) NoteVerifier(ctx context.Context, name string) (note.Verifier, error) {
	d, _, err := s.get(ctx, name)
	if err != nil {
		return nil, err
	}
	if d.Type != TypeSumDB {
		return nil, fmt.Errorf("%w: %s is a %s key, not %s", ErrInvalid, name, d.Type, TypeSumDB)
	}
	return note.NewVerifier(d.Public)
}
