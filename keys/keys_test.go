package keys_test

import (
	"bytes"
	"context"
	"crypto"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"

	"github.com/pkgvc/pkgvc/keys"
	"github.com/pkgvc/pkgvc/meta/fs"
	"github.com/pkgvc/pkgvc/meta/mem"
)

func newStore(t *testing.T) (*keys.Store, string) {
	dir := t.TempDir()
	m, err := fs.New(dir)
	require.NoError(t, err)
	return keys.New(m), dir
}

// gpg runs gpg on its own home directory.
func gpg(t *testing.T, home string, stdin []byte, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("gpg", append([]string{"--batch", "--no-tty", "--homedir", home}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func gpgHome(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Fatal("gpg not installed (.ci/run installs it)")
	}
	// A short path: gpg-agent's socket must fit in sun_path.
	home, err := os.MkdirTemp("", "gpg")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(home, 0o700))
	t.Cleanup(func() {
		_ = exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run()
		os.RemoveAll(home)
	})
	return home
}

// signatureHash returns the digest algorithm of an armored signature.
func signatureHash(t *testing.T, armored []byte) crypto.Hash {
	t.Helper()
	b, err := armor.Decode(bytes.NewReader(armored))
	require.NoError(t, err)
	p, err := packet.Read(b.Body)
	require.NoError(t, err)
	sig, ok := p.(*packet.Signature)
	require.True(t, ok, "%T", p)
	return sig.Hash
}

// checkGPGVerifies has a fresh gpg import the exported public key of name
// and verify a detached signature and a clearsigned message made with it.
func checkGPGVerifies(t *testing.T, s *keys.Store, name string) {
	ctx := context.Background()
	home := gpgHome(t)
	pub, err := s.Export(ctx, name)
	require.NoError(t, err)
	out, err := gpg(t, home, pub, "--import")
	require.NoError(t, err, out)

	signer, err := s.OpenPGPSigner(ctx, name)
	require.NoError(t, err)
	msg := []byte("Origin: pkgvc\nSuite: stable\n-dash line\nFrom the start\n")
	var sig bytes.Buffer
	require.NoError(t, signer.DetachSign(&sig, bytes.NewReader(msg)))
	require.True(t, strings.HasPrefix(sig.String(), "-----BEGIN PGP SIGNATURE-----"), sig.String())
	require.GreaterOrEqual(t, int(signatureHash(t, sig.Bytes())), int(crypto.SHA256), "apt refuses SHA-1")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Release"), msg, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Release.gpg"), sig.Bytes(), 0o644))
	out, err = gpg(t, home, nil, "--status-fd", "1", "--verify", filepath.Join(dir, "Release.gpg"), filepath.Join(dir, "Release"))
	require.NoError(t, err, out)
	k, err := s.Get(ctx, name)
	require.NoError(t, err)
	require.Contains(t, out, "[GNUPG:] VALIDSIG ")
	require.Contains(t, out, k.Fingerprint)

	// A changed message fails.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Release"), append(msg, 'x'), 0o644))
	out, err = gpg(t, home, nil, "--verify", filepath.Join(dir, "Release.gpg"), filepath.Join(dir, "Release"))
	require.Error(t, err, out)

	var clear bytes.Buffer
	require.NoError(t, signer.ClearSign(&clear, bytes.NewReader(msg)))
	require.True(t, strings.HasPrefix(clear.String(), "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA"), clear.String())
	require.NotContains(t, clear.String(), "Hash: SHA1\n")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "InRelease"), clear.Bytes(), 0o644))
	out, err = gpg(t, home, nil, "--status-fd", "1", "--output", filepath.Join(dir, "plain"), "--decrypt", filepath.Join(dir, "InRelease"))
	require.NoError(t, err, out)
	require.Contains(t, out, "[GNUPG:] VALIDSIG ")
	plain, err := os.ReadFile(filepath.Join(dir, "plain"))
	require.NoError(t, err)
	require.Equal(t, string(msg), string(plain))

	// gpgv, as apt runs it, with the key as a keyring file.
	if _, err := exec.LookPath("gpgv"); err != nil {
		t.Fatal("gpgv not installed (.ci/run installs it)")
	}
	b, err := armor.Decode(bytes.NewReader(pub))
	require.NoError(t, err)
	ring, err := io.ReadAll(b.Body)
	require.NoError(t, err)
	keyring := filepath.Join(dir, "key.gpg")
	require.NoError(t, os.WriteFile(keyring, ring, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Release"), msg, 0o644))
	for _, args := range [][]string{{"Release.gpg", "Release"}, {"InRelease"}} {
		cmd := exec.Command("gpgv", "--homedir", home, "--keyring", keyring, filepath.Join(dir, args[0]))
		if len(args) > 1 {
			cmd.Args = append(cmd.Args, filepath.Join(dir, args[1]))
		}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "gpgv %v: %s", args, out)
	}
}

func TestOpenPGPDefaultRSA(t *testing.T) {
	s, _ := newStore(t)
	_, err := s.Generate(context.Background(), "rel", "", "")
	require.NoError(t, err)
	k, err := s.Get(context.Background(), "rel")
	require.NoError(t, err)
	require.Equal(t, keys.TypeOpenPGP, k.Type)
	require.Equal(t, "rsa4096", k.Algo)
	require.True(t, k.CanSign)
	require.Len(t, k.Fingerprint, 40)
	require.Equal(t, k.Fingerprint[24:], k.KeyID)
	checkGPGVerifies(t, s, "rel")
}

func TestOpenPGPEd25519(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	k, err := s.Generate(ctx, "ed", keys.TypeOpenPGP, keys.AlgoEd25519)
	require.NoError(t, err)
	require.Equal(t, "ed25519", k.Algo)
	checkGPGVerifies(t, s, "ed")
}

func TestRoundTrips(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	gen, err := s.Generate(ctx, "ed", "", keys.AlgoEd25519)
	require.NoError(t, err)
	got, err := s.Get(ctx, "ed")
	require.NoError(t, err)
	require.Equal(t, gen, got)
	require.Equal(t, "ed (pkgvc)", got.Identity)

	// The export is the public key only, and imports as a verify-only
	// key with the same fingerprint.
	pub, err := s.Export(ctx, "ed")
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(pub, []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n")), string(pub))
	require.NotContains(t, string(pub), "PRIVATE")
	el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(pub))
	require.NoError(t, err)
	require.Len(t, el, 1)
	require.Nil(t, el[0].PrivateKey)
	imp, err := s.Import(ctx, "ed-pub", pub)
	require.NoError(t, err)
	require.False(t, imp.CanSign)
	require.Equal(t, gen.Fingerprint, imp.Fingerprint)
	require.Equal(t, gen.Created, imp.Created)
	_, err = s.OpenPGPSigner(ctx, "ed-pub")
	require.ErrorIs(t, err, keys.ErrCannotSign)

	// Binary public key too.
	b, err := armor.Decode(bytes.NewReader(pub))
	require.NoError(t, err)
	var bin bytes.Buffer
	_, err = bin.ReadFrom(b.Body)
	require.NoError(t, err)
	imp, err = s.Import(ctx, "ed-bin", bin.Bytes())
	require.NoError(t, err)
	require.Equal(t, gen.Fingerprint, imp.Fingerprint)

	sum, err := s.Generate(ctx, "gosum", keys.TypeSumDB, "")
	require.NoError(t, err)
	require.Equal(t, keys.AlgoEd25519, sum.Algo)
	require.Equal(t, "gosum", sum.Identity)
	require.Len(t, sum.Fingerprint, 8)
	require.WithinDuration(t, time.Now(), sum.Created, time.Minute)
	require.WithinDuration(t, time.Now(), gen.Created, time.Minute)

	list, err := s.List(ctx)
	require.NoError(t, err)
	var names []string
	for _, k := range list {
		names = append(names, k.Name)
	}
	require.Equal(t, []string{"ed", "ed-bin", "ed-pub", "gosum"}, names)

	// Refusals.
	_, err = s.Generate(ctx, "ed", "", keys.AlgoEd25519)
	require.ErrorIs(t, err, keys.ErrExists)
	_, err = s.Import(ctx, "gosum", pub)
	require.ErrorIs(t, err, keys.ErrExists)
	for _, bad := range []string{"", "Bad", "a/b", "..", strings.Repeat("a", 129)} {
		_, err = s.Generate(ctx, bad, "", "")
		require.ErrorIs(t, err, keys.ErrInvalid, bad)
		_, err = s.Export(ctx, bad)
		require.ErrorIs(t, err, keys.ErrInvalid, bad)
	}
	_, err = s.Generate(ctx, "x", "x509", "")
	require.ErrorIs(t, err, keys.ErrInvalid)
	_, err = s.Generate(ctx, "x", keys.TypeOpenPGP, "dsa")
	require.ErrorIs(t, err, keys.ErrInvalid)
	_, err = s.Generate(ctx, "x", keys.TypeSumDB, keys.AlgoRSA4096)
	require.ErrorIs(t, err, keys.ErrInvalid)
	for _, junk := range []string{"", "hello", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n", "a+b+c", "PRIVATE+KEY+a+00000000+AAAA", "\x00\x01\x02"} {
		_, err = s.Import(ctx, "x", []byte(junk))
		require.ErrorIs(t, err, keys.ErrInvalid, junk)
	}
	_, err = s.Get(ctx, "x")
	require.ErrorIs(t, err, keys.ErrNotFound)
	_, err = s.Export(ctx, "nope")
	require.ErrorIs(t, err, keys.ErrNotFound)
	require.ErrorIs(t, s.Delete(ctx, "nope"), keys.ErrNotFound)
	_, err = s.NoteSigner(ctx, "ed")
	require.ErrorIs(t, err, keys.ErrInvalid)
	_, err = s.OpenPGPSigner(ctx, "gosum")
	require.ErrorIs(t, err, keys.ErrInvalid)

	// Delete takes the private part with it: a key of the same name is
	// a new one.
	require.NoError(t, s.Delete(ctx, "ed"))
	_, err = s.Get(ctx, "ed")
	require.ErrorIs(t, err, keys.ErrNotFound)
	again, err := s.Generate(ctx, "ed", "", keys.AlgoEd25519)
	require.NoError(t, err)
	require.NotEqual(t, gen.Fingerprint, again.Fingerprint)
	signer, err := s.OpenPGPSigner(ctx, "ed")
	require.NoError(t, err)
	require.Equal(t, again.Fingerprint, signer.Key().Fingerprint)
}

func TestSumDB(t *testing.T) {
	ctx := context.Background()
	s := keys.New(mem.New())
	_, err := s.Generate(ctx, "sum.example.com", keys.TypeSumDB, keys.AlgoEd25519)
	require.NoError(t, err)
	vkey, err := s.Export(ctx, "sum.example.com")
	require.NoError(t, err)
	require.Regexp(t, `^sum\.example\.com\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+\n$`, string(vkey))

	signer, err := s.NoteSigner(ctx, "sum.example.com")
	require.NoError(t, err)
	signed, err := note.Sign(&note.Note{Text: "go.sum database tree\n5\nAAAA\n"}, signer)
	require.NoError(t, err)
	v, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	require.NoError(t, err)
	n, err := note.Open(signed, note.VerifierList(v))
	require.NoError(t, err)
	require.Equal(t, "go.sum database tree\n5\nAAAA\n", n.Text)
	require.Len(t, n.Sigs, 1)

	// Another key's verifier does not open it.
	_, other, err := note.GenerateKey(nil, "sum.example.com")
	require.NoError(t, err)
	ov, err := note.NewVerifier(other)
	require.NoError(t, err)
	_, err = note.Open(signed, note.VerifierList(ov))
	require.Error(t, err)

	// Import: a signer key line can sign, a verifier line only verifies.
	skey, vkey2, err := note.GenerateKey(nil, "sum.other.org")
	require.NoError(t, err)
	k, err := s.Import(ctx, "other", []byte(skey+"\n"))
	require.NoError(t, err)
	require.True(t, k.CanSign)
	require.Equal(t, "sum.other.org", k.Identity)
	exp, err := s.Export(ctx, "other")
	require.NoError(t, err)
	require.Equal(t, vkey2+"\n", string(exp), "the verifier derived from the signer")
	require.NotContains(t, string(exp), "PRIVATE")
	signer, err = s.NoteSigner(ctx, "other")
	require.NoError(t, err)
	signed, err = note.Sign(&note.Note{Text: "hello\n"}, signer)
	require.NoError(t, err)
	v2, err := s.NoteVerifier(ctx, "other")
	require.NoError(t, err)
	_, err = note.Open(signed, note.VerifierList(v2))
	require.NoError(t, err)

	k, err = s.Import(ctx, "other-pub", []byte(vkey2))
	require.NoError(t, err)
	require.False(t, k.CanSign)
	_, err = s.NoteSigner(ctx, "other-pub")
	require.ErrorIs(t, err, keys.ErrCannotSign)

	// A signer key whose hash is not its key's is refused.
	bad := skey[:len("PRIVATE+KEY+sum.other.org+")] + "00000000" + skey[len("PRIVATE+KEY+sum.other.org+00000000"):]
	_, err = s.Import(ctx, "bad", []byte(bad))
	require.ErrorIs(t, err, keys.ErrInvalid)
}

// The private parts are files only their owner reads.
func TestSecretsPrivateOnDisk(t *testing.T) {
	ctx := context.Background()
	s, dir := newStore(t)
	_, err := s.Generate(ctx, "ed", keys.TypeOpenPGP, keys.AlgoEd25519)
	require.NoError(t, err)
	_, err = s.Generate(ctx, "sum", keys.TypeSumDB, "")
	require.NoError(t, err)
	found := 0
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		if bytes.Contains(data, []byte("PRIVATE KEY BLOCK")) || bytes.Contains(data, []byte("PRIVATE+KEY+")) {
			found++
			fi, err := d.Info()
			require.NoError(t, err)
			require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), p)
		}
		return nil
	}))
	require.Equal(t, 2, found)
}

// Keys made by gpg import: an unprotected secret key signs (and gpg
// verifies it), one protected by a passphrase is refused.
func TestImportFromGPG(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	home := gpgHome(t)
	out, err := gpg(t, home, nil, "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", "Open <open@example.com>", "ed25519", "sign", "never")
	require.NoError(t, err, out)
	out, err = gpg(t, home, nil, "--pinentry-mode", "loopback", "--passphrase", "secret", "--quick-gen-key", "Locked <locked@example.com>", "ed25519", "sign", "never")
	require.NoError(t, err, out)

	sec, err := gpg(t, home, nil, "--pinentry-mode", "loopback", "--passphrase", "", "--armor", "--export-secret-keys", "open@example.com")
	require.NoError(t, err, sec)
	k, err := s.Import(ctx, "open", []byte(sec))
	require.NoError(t, err)
	require.True(t, k.CanSign)
	require.Equal(t, "Open <open@example.com>", k.Identity)
	exp, err := s.Export(ctx, "open")
	require.NoError(t, err)
	require.NotContains(t, string(exp), "PRIVATE")
	checkGPGVerifies(t, s, "open")

	locked, err := gpg(t, home, nil, "--pinentry-mode", "loopback", "--passphrase", "secret", "--armor", "--export-secret-keys", "locked@example.com")
	require.NoError(t, err, locked)
	_, err = s.Import(ctx, "locked", []byte(locked))
	require.ErrorIs(t, err, keys.ErrInvalid)
	require.Contains(t, err.Error(), "passphrase")
	_, err = s.Get(ctx, "locked")
	require.ErrorIs(t, err, keys.ErrNotFound)

	// Two keys at once are refused too.
	both, err := gpg(t, home, nil, "--armor", "--export")
	require.NoError(t, err, both)
	_, err = s.Import(ctx, "both", []byte(both))
	require.ErrorIs(t, err, keys.ErrInvalid)
	require.Contains(t, err.Error(), "2 OpenPGP keys")
}
