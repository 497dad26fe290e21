package keys

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/ecdsa"
	"github.com/ProtonMail/go-crypto/openpgp/eddsa"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// signHash digests what OpenPGP keys sign: apt refuses SHA-1, and SHA-512
// is what gpg picks for these keys.
const signHash = crypto.SHA512

// config returns the OpenPGP settings of new keys and signatures.
func (s *Store) config() *packet.Config {
	return &packet.Config{Rand: s.rand, Time: s.now, DefaultHash: signHash}
}

func (s *Store) generateOpenPGP(name, algo string) (*material, error) {
	cfg := s.config()
	switch algo {
	case AlgoRSA4096:
		cfg.Algorithm, cfg.RSABits = packet.PubKeyAlgoRSA, 4096
	case AlgoEd25519:
		// EdDSA over Curve25519 (the v4 form) is what gpg 2.2 and apt's
		// gpgv read; the newer Ed25519 algorithm is not.
		cfg.Algorithm, cfg.Curve = packet.PubKeyAlgoEdDSA, packet.Curve25519
	}
	e, err := openpgp.NewEntity(name, "pkgvc", "", cfg)
	if err != nil {
		return nil, fmt.Errorf("generate OpenPGP key: %w", err)
	}
	return openPGPMaterial(e, true)
}

// openPGPMaterial describes e and serializes its parts; secret includes
// the private part.
func openPGPMaterial(e *openpgp.Entity, secret bool) (*material, error) {
	pk := e.PrimaryKey
	m := &material{key: Key{
		Type:        TypeOpenPGP,
		Algo:        algoName(pk),
		Fingerprint: strings.ToUpper(fmt.Sprintf("%x", pk.Fingerprint)),
		KeyID:       fmt.Sprintf("%016X", pk.KeyId),
		Created:     pk.CreationTime.UTC(),
	}}
	if id := e.PrimaryIdentity(); id != nil {
		m.key.Identity = id.Name
	}
	var pub bytes.Buffer
	if err := armored(&pub, openpgp.PublicKeyType, e.Serialize); err != nil {
		return nil, fmt.Errorf("serialize OpenPGP public key: %w", err)
	}
	m.public = pub.String()
	if secret {
		var sec bytes.Buffer
		err := armored(&sec, openpgp.PrivateKeyType, func(w io.Writer) error { return e.SerializePrivateWithoutSigning(w, nil) })
		if err != nil {
			return nil, fmt.Errorf("serialize OpenPGP private key: %w", err)
		}
		m.secret = sec.String()
	}
	return m, nil
}

func armored(w io.Writer, blockType string, write func(io.Writer) error) error {
	aw, err := armor.Encode(w, blockType, nil)
	if err != nil {
		return err
	}
	if err := write(aw); err != nil {
		return err
	}
	if err := aw.Close(); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// algoName names a public key's algorithm, with its size for RSA.
func algoName(pk *packet.PublicKey) string {
	bits, _ := pk.BitLength()
	switch pk.PubKeyAlgo {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSASignOnly:
		return fmt.Sprintf("rsa%d", bits)
	case packet.PubKeyAlgoEdDSA:
		if k, ok := pk.PublicKey.(*eddsa.PublicKey); ok && k.GetCurve().GetCurveName() != "ed25519" {
			return "eddsa-" + k.GetCurve().GetCurveName()
		}
		return AlgoEd25519
	case packet.PubKeyAlgoEd25519:
		return AlgoEd25519
	case packet.PubKeyAlgoEd448:
		return "ed448"
	case packet.PubKeyAlgoECDSA:
		if k, ok := pk.PublicKey.(*ecdsa.PublicKey); ok {
			return "ecdsa-" + k.GetCurve().GetCurveName()
		}
		return "ecdsa"
	case packet.PubKeyAlgoDSA:
		return fmt.Sprintf("dsa%d", bits)
	}
	return fmt.Sprintf("openpgp-algo-%d", pk.PubKeyAlgo)
}

// notOpenPGPError reports input OpenPGP cannot read at all.
type notOpenPGPError struct{ err error }

func (e *notOpenPGPError) Error() string {
	return fmt.Sprintf("%v: neither an OpenPGP key (%v) nor a sumdb key line", ErrInvalid, e.err)
}

func (e *notOpenPGPError) Unwrap() error { return ErrInvalid }

// parseOpenPGP reads one OpenPGP key, armored or binary.
func parseOpenPGP(data []byte) (*material, error) {
	var el openpgp.EntityList
	var err error
	if bytes.Contains(data, []byte("-----BEGIN PGP ")) {
		el, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	} else {
		el, err = openpgp.ReadKeyRing(bytes.NewReader(data))
	}
	if err != nil {
		return nil, &notOpenPGPError{err}
	}
	if len(el) != 1 {
		return nil, fmt.Errorf("%w: %d OpenPGP keys given, import one at a time", ErrInvalid, len(el))
	}
	e := el[0]
	if e.PrivateKey == nil {
		return openPGPMaterial(e, false)
	}
	for _, pk := range privateKeys(e) {
		if pk.Encrypted {
			return nil, fmt.Errorf("%w: the secret key %X is protected by a passphrase, and pkgvc asks for none: remove the passphrase from a copy and import that (gpg --pinentry-mode loopback --passphrase PASS --export-secret-keys KEY, then gpg --passwd with an empty one), or import only the public key", ErrInvalid, pk.KeyId)
		}
	}
	k, ok := e.SigningKey(time.Now())
	if !ok || k.PrivateKey == nil || k.PrivateKey.Dummy() {
		return nil, fmt.Errorf("%w: the secret key %X holds no usable signing key (expired, revoked or stripped): import only its public key to verify with it", ErrInvalid, e.PrimaryKey.KeyId)
	}
	return openPGPMaterial(e, true)
}

// privateKeys returns e's private keys, primary and subkeys.
func privateKeys(e *openpgp.Entity) []*packet.PrivateKey {
	var out []*packet.PrivateKey
	if e.PrivateKey != nil {
		out = append(out, e.PrivateKey)
	}
	for _, sk := range e.Subkeys {
		if sk.PrivateKey != nil {
			out = append(out, sk.PrivateKey)
		}
	}
	return out
}

// OpenPGPSigner signs with an OpenPGP key.
type OpenPGPSigner struct {
	key    Key
	entity *openpgp.Entity
	cfg    *packet.Config
}

// OpenPGPSigner returns the signer of OpenPGP key name.
func (s *Store) OpenPGPSigner(ctx context.Context, name string) (*OpenPGPSigner, error) {
	k, sec, err := s.secret(ctx, name, TypeOpenPGP)
	if err != nil {
		return nil, err
	}
	el, err := openpgp.ReadArmoredKeyRing(strings.NewReader(sec))
	if err != nil || len(el) != 1 {
		return nil, fmt.Errorf("key %s: damaged private part: %v", name, err)
	}
	return &OpenPGPSigner{key: *k, entity: el[0], cfg: s.config()}, nil
}

// Key describes the signer's key.
func (o *OpenPGPSigner) Key() Key { return o.key }

// DetachSign writes an armored detached signature of msg to w (as in an
// apt Release.gpg).
func (o *OpenPGPSigner) DetachSign(w io.Writer, msg io.Reader) error {
	if err := openpgp.ArmoredDetachSign(w, o.entity, msg, o.cfg); err != nil {
		return fmt.Errorf("sign with key %s: %w", o.key.Name, err)
	}
	return nil
}

// ClearSign writes msg clearsigned to w (as in an apt InRelease). As with
// gpg, a final newline of msg is the one before the signature, so that
// the text read back (gpg --decrypt) is msg.
func (o *OpenPGPSigner) ClearSign(w io.Writer, msg io.Reader) error {
	k, ok := o.entity.SigningKey(o.cfg.Now())
	if !ok || k.PrivateKey == nil {
		return fmt.Errorf("sign with key %s: %w: no valid signing key now", o.key.Name, ErrCannotSign)
	}
	var buf bytes.Buffer
	pw, err := clearsign.Encode(&buf, k.PrivateKey, o.cfg)
	if err != nil {
		return fmt.Errorf("sign with key %s: %w", o.key.Name, err)
	}
	text, err := io.ReadAll(msg)
	if err != nil {
		pw.Close()
		return err
	}
	if _, err := pw.Write(bytes.TrimSuffix(text, []byte("\n"))); err != nil {
		pw.Close()
		return err
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("sign with key %s: %w", o.key.Name, err)
	}
	out, err := withChecksum(buf.Bytes())
	if err != nil {
		return fmt.Errorf("sign with key %s: %w", o.key.Name, err)
	}
	_, err = w.Write(out)
	return err
}

// withChecksum armors the signature of a clearsigned message again, with
// the CRC-24 line the clearsign package leaves out: gpg 2.2 (and so apt's
// gpgv on many systems) reads an armor without it as damaged.
func withChecksum(signed []byte) ([]byte, error) {
	// Dash-escaping keeps the text from holding this line: the last one
	// starts the signature.
	const begin = "\n-----BEGIN PGP SIGNATURE-----"
	i := bytes.LastIndex(signed, []byte(begin))
	if i < 0 {
		return nil, errors.New("clearsigned message without a signature")
	}
	b, err := armor.Decode(bytes.NewReader(signed[i+1:]))
	if err != nil {
		return nil, err
	}
	out := bytes.NewBuffer(append([]byte(nil), signed[:i+1]...))
	if err := armored(out, b.Type, func(w io.Writer) error {
		_, err := io.Copy(w, b.Body)
		return err
	}); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
