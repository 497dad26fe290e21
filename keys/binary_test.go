package keys_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/keys"
	"github.com/pkgvc/pkgvc/meta/mem"
)

// A binary OpenPGP key (gpg --export, without --armor) is bytes that may
// hold no CR or LF and a couple of '+': a sign-only EdDSA key (the usual
// apt signing key: gpg --quick-gen-key NAME ed25519 sign) carries one '+'
// already, its curve OID starting 0x2B. Such a key is imported as the
// OpenPGP key it is, not refused as a malformed sumdb key line.
func TestBinaryOpenPGPKeyOfOneLineWithPluses(t *testing.T) {
	ctx := context.Background()
	base := time.Unix(1_700_000_000, 0)
	// A fixed seed makes the keys, and so the attempt that yields one of
	// the wanted shape, the same on every run: about one in ten has it,
	// and with this seed one comes well within the bound.
	rnd := rand.NewChaCha8([32]byte{'p', 'k', 'g', 'v', 'c'})
	const attempts = 500
	for i := range attempts {
		cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519, Rand: rnd,
			Time: func() time.Time { return base.Add(time.Duration(i) * time.Second) }}
		e, err := openpgp.NewEntity(fmt.Sprintf("k%d", i), "", "", cfg)
		require.NoError(t, err)
		e.Subkeys = nil // sign-only
		var bin bytes.Buffer
		require.NoError(t, e.Serialize(&bin))
		b := bytes.TrimSpace(bin.Bytes())
		if bytes.ContainsAny(b, "\r\n") || bytes.Count(b, []byte("+")) < 2 {
			continue
		}
		t.Logf("attempt %d: %d bytes, one line with %d '+'", i, bin.Len(), bytes.Count(b, []byte("+")))
		s := keys.New(mem.New())
		k, err := s.Import(ctx, "bin", bin.Bytes())
		require.NoError(t, err, "binary OpenPGP public key (attempt %d, %d bytes) refused", i, bin.Len())
		require.Equal(t, keys.TypeOpenPGP, k.Type)
		require.Equal(t, fmt.Sprintf("%X", e.PrimaryKey.Fingerprint), k.Fingerprint)
		return
	}
	t.Fatalf("no binary key of one line with two '+' in %d attempts", attempts)
}

// Input shaped as a sumdb key line that is none (its key is no Ed25519
// key) is tried as OpenPGP too, and the error tells both reasons.
func TestImportSumDBShapedInvalid(t *testing.T) {
	s := keys.New(mem.New())
	_, err := s.Import(context.Background(), "bad", []byte("sum.example.com+01234567+AAAA\n"))
	require.ErrorIs(t, err, keys.ErrInvalid)
	require.Contains(t, err.Error(), "sumdb")
	require.Contains(t, err.Error(), "OpenPGP")
	t.Log(err)
}
