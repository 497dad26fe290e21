package upstream

import (
	"bytes"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/stretchr/testify/require"
)

func clearsignWith(t *testing.T, e *openpgp.Entity, text string, at time.Time, signer *packet.PrivateKey) []byte {
	t.Helper()
	var b bytes.Buffer
	cfg := &packet.Config{Time: func() time.Time { return at }}
	if signer == nil {
		signer = e.PrivateKey
	}
	w, err := clearsign.Encode(&b, signer, cfg)
	require.NoError(t, err)
	_, err = w.Write([]byte(text))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes()
}

// TestVerifyInRelease: only the signed text is returned; text around the
// signed block, a key expired now, or another key are refused;
// a signing subkey of the keyring's key is accepted.
func TestVerifyInRelease(t *testing.T) {
	now := time.Now()
	e, err := openpgp.NewEntity("Archive", "", "archive@example.invalid", &packet.Config{Time: func() time.Time { return now.Add(-48 * time.Hour) }})
	require.NoError(t, err)
	ks := openpgp.EntityList{e}
	in := clearsignWith(t, e, releaseText, now.Add(-time.Hour), nil)

	got, err := verifyInRelease(in, ks, false)
	require.NoError(t, err)
	require.Equal(t, releaseText, string(got))

	for name, bad := range map[string][]byte{
		"text before":     append([]byte("Suite: evil\n\n"), in...),
		"text after":      append(bytes.Clone(in), []byte("\nSHA256:\n 00 1 main/x\n")...),
		"second message":  append(bytes.Clone(in), in...),
		"tampered":        bytes.Replace(in, []byte("bookworm"), []byte("bookwurm"), 1),
		"not clearsigned": []byte(releaseText),
		"empty":           nil,
	} {
		_, err := verifyInRelease(bad, ks, false)
		require.Error(t, err, name)
	}

	other, err := openpgp.NewEntity("Other", "", "other@example.invalid", nil)
	require.NoError(t, err)
	_, err = verifyInRelease(clearsignWith(t, other, releaseText, now, nil), ks, false)
	require.ErrorIs(t, err, ErrBadSignature, "another key")

	// A signing subkey.
	require.NoError(t, e.AddSigningSubkey(&packet.Config{Time: func() time.Time { return now.Add(-47 * time.Hour) }}))
	sub := e.Subkeys[len(e.Subkeys)-1]
	_, err = verifyInRelease(clearsignWith(t, e, releaseText, now.Add(-time.Hour), sub.PrivateKey), openpgp.EntityList{e}, false)
	require.NoError(t, err, "a signing subkey")

	// A key that expired since it signed: apt refuses it (EXPKEYSIG).
	lifetime := uint32(3600)
	old, err := openpgp.NewEntity("Old", "", "old@example.invalid", &packet.Config{KeyLifetimeSecs: lifetime, Time: func() time.Time { return now.Add(-3 * time.Hour) }})
	require.NoError(t, err)
	_, err = verifyInRelease(clearsignWith(t, old, releaseText, now.Add(-150*time.Minute), nil), openpgp.EntityList{old}, false)
	require.ErrorIs(t, err, ErrBadSignature, "a key expired now")
}
