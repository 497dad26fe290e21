package client_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"

	"github.com/pkgvc/pkgvc/api/client"
	"github.com/pkgvc/pkgvc/internal/auth"
	"github.com/pkgvc/pkgvc/keys"
)

// checkKeys drives every key operation through c (an admin's client):
// private parts go in and never come out.
func checkKeys(t *testing.T, e *env, c *client.Client) {
	ctx := e.ctx
	k, err := c.GenerateKey(ctx, "rel", "", keys.AlgoEd25519)
	require.NoError(t, err)
	require.Equal(t, keys.TypeOpenPGP, k.Type)
	require.True(t, k.CanSign)
	sum, err := c.GenerateKey(ctx, "gosum", keys.TypeSumDB, "")
	require.NoError(t, err)
	_, err = c.GenerateKey(ctx, "rel", "", keys.AlgoEd25519)
	require.ErrorIs(t, err, keys.ErrExists)
	_, err = c.GenerateKey(ctx, "Bad", "", "")
	require.ErrorIs(t, err, keys.ErrInvalid)
	_, err = c.GenerateKey(ctx, "x", "x509", "")
	require.ErrorIs(t, err, keys.ErrInvalid)

	pub, err := c.ExportKey(ctx, "rel")
	require.NoError(t, err)
	el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(pub))
	require.NoError(t, err)
	require.Nil(t, el[0].PrivateKey)
	vkey, err := c.ExportKey(ctx, "gosum")
	require.NoError(t, err)
	v, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	require.NoError(t, err)
	require.Equal(t, sum.KeyID, strings.Split(string(vkey), "+")[1])

	// The server signs with what it keeps: the exported verifier opens it.
	signer, err := e.svc.Keys().NoteSigner(ctx, "gosum")
	require.NoError(t, err)
	signed, err := note.Sign(&note.Note{Text: "tree\n"}, signer)
	require.NoError(t, err)
	_, err = note.Open(signed, note.VerifierList(v))
	require.NoError(t, err)

	// Import: a public key verifies only; a secret sent in stays there.
	imp, err := c.ImportKey(ctx, "rel-pub", pub)
	require.NoError(t, err)
	require.False(t, imp.CanSign)
	require.Equal(t, k.Fingerprint, imp.Fingerprint)
	skey, _, err := note.GenerateKey(nil, "sum.example.com")
	require.NoError(t, err)
	imp, err = c.ImportKey(ctx, "other", []byte(skey))
	require.NoError(t, err)
	require.True(t, imp.CanSign)
	_, err = c.ImportKey(ctx, "junk", []byte("not a key"))
	require.ErrorIs(t, err, keys.ErrInvalid)
	_, err = c.ImportKey(ctx, "rel", pub)
	require.ErrorIs(t, err, keys.ErrExists)

	list, err := c.ListKeys(ctx)
	require.NoError(t, err)
	var names []string
	for _, k := range list {
		names = append(names, k.Name)
	}
	require.Equal(t, []string{"gosum", "other", "rel", "rel-pub"}, names)

	// No answer holds a private part.
	for _, path := range []string{"/keys", "/keys/rel/public", "/keys/gosum/public", "/keys/other/public"} {
		req, err := http.NewRequest(http.MethodGet, e.ts.URL+"/api/v1"+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+e.admin)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		require.NotContains(t, string(b), "PRIVATE", path)
		require.NotContains(t, string(b), skey[len("PRIVATE+KEY+"):], path)
	}

	// Every key route needs *:*:admin.
	for _, scope := range []string{"repo:*:admin", "dist:*:admin", "*:*:write"} {
		nc := e.client(e.token(strings.NewReplacer(":", "-", "*", "x").Replace(scope), scope))
		_, err = nc.ListKeys(ctx)
		require.ErrorIs(t, err, auth.ErrForbidden, scope)
		_, err = nc.GenerateKey(ctx, "mine", "", keys.AlgoEd25519)
		require.ErrorIs(t, err, auth.ErrForbidden, scope)
		_, err = nc.ImportKey(ctx, "mine", pub)
		require.ErrorIs(t, err, auth.ErrForbidden, scope)
		_, err = nc.ExportKey(ctx, "rel")
		require.ErrorIs(t, err, auth.ErrForbidden, scope)
		require.ErrorIs(t, nc.DeleteKey(ctx, "rel"), auth.ErrForbidden, scope)
	}
	_, err = c.ExportKey(ctx, "rel")
	require.NoError(t, err, "a refused delete deleted nothing")

	require.NoError(t, c.DeleteKey(ctx, "rel-pub"))
	require.ErrorIs(t, c.DeleteKey(ctx, "rel-pub"), keys.ErrNotFound)
	_, err = c.ExportKey(ctx, "rel-pub")
	require.ErrorIs(t, err, keys.ErrNotFound)
}
