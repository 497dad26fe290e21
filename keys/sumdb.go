package keys

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
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

// parseSumDB reads a sumdb key line; ok reports that data is one (a
// single line shaped name+hash+key, perhaps with the signer's prefix).
func parseSumDB(data []byte) (m *material, ok bool, err error) {
	line := string(bytes.TrimSpace(data))
	if line == "" || strings.ContainsAny(line, "\n\r") || strings.HasPrefix(line, "-----") {
		return nil, false, nil
	}
	if strings.HasPrefix(line, signerPrefix) {
		vkey, err := verifierOf(line)
		if err != nil {
			return nil, true, err
		}
		m, err := sumDBMaterial(vkey, line)
		return m, true, err
	}
	if strings.Count(line, "+") < 2 {
		return nil, false, nil
	}
	m, err = sumDBMaterial(line, "")
	return m, true, err
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
