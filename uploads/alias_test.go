package uploads_test

import (
	"context"
	"crypto/sha512"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/uploads"
)

// TestFinishHash: a caller naming content by another digest has it
// hashed in the same pass as the SHA-256; a wrong sum keeps nothing and
// ends the session, a right one stores the blob and records the alias,
// on every engine of the store, until it expires.
func TestFinishHash(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1e9, 0)
	clock := func() time.Time { return now }
	st, a, b := twoEngines(t, uploads.WithClock(clock), uploads.WithTTL(time.Hour))
	data := "content named by sha512"
	sum := sha512.Sum512([]byte(data))
	id := objects.Sum([]byte(data))

	s, err := a.Create(ctx, "ci", "oci", 0)
	require.NoError(t, err)
	_, err = a.Append(ctx, s.ID, strings.NewReader(data), uploads.AppendOptions{Start: -1, Size: int64(len(data))})
	require.NoError(t, err)
	wrong := sha512.Sum512([]byte("other"))
	_, err = a.Finish(ctx, s.ID, objects.ID{}, uploads.FinishOptions{Size: -1, Mark: "repo", Hash: sha512.New(), HashWant: wrong[:], Alias: "sha512:x"})
	var he *uploads.HashError
	require.ErrorAs(t, err, &he)
	require.ErrorIs(t, err, uploads.ErrDigest)
	ok, err := st.Objects().HasBlob(ctx, id)
	require.NoError(t, err)
	require.False(t, ok, "nothing kept")
	_, err = a.Get(ctx, s.ID)
	require.ErrorIs(t, err, uploads.ErrNotFound)
	_, found, err := a.Alias(ctx, "repo", "sha512:x")
	require.NoError(t, err)
	require.False(t, found)

	s, err = a.Create(ctx, "ci", "oci", 0)
	require.NoError(t, err)
	_, err = a.Append(ctx, s.ID, strings.NewReader(data), uploads.AppendOptions{Start: -1, Size: int64(len(data))})
	require.NoError(t, err)
	blob, err := a.Finish(ctx, s.ID, objects.ID{}, uploads.FinishOptions{Size: -1, Mark: "repo", Hash: sha512.New(), HashWant: sum[:], Alias: "sha512:x"})
	require.NoError(t, err)
	require.Equal(t, id, blob.ID)
	for _, e := range []*uploads.Engine{a, b} {
		got, found, err := e.Alias(ctx, "repo", "sha512:x")
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, id, got)
		_, found, err = e.Alias(ctx, "other repo", "sha512:x")
		require.NoError(t, err)
		require.False(t, found)
	}
	// A wrong SHA-256, when one is given, is still refused.
	s, err = a.Create(ctx, "ci", "oci", 0)
	require.NoError(t, err)
	_, err = a.Append(ctx, s.ID, strings.NewReader(data), uploads.AppendOptions{Start: -1, Size: int64(len(data))})
	require.NoError(t, err)
	_, err = a.Finish(ctx, s.ID, objects.Sum([]byte("x")), uploads.FinishOptions{Size: -1, Hash: sha512.New(), HashWant: sum[:]})
	var de *uploads.DigestError
	require.ErrorAs(t, err, &de)

	now = now.Add(2 * time.Hour)
	_, found, err = a.Alias(ctx, "repo", "sha512:x")
	require.NoError(t, err)
	require.False(t, found, "expired")
	require.NoError(t, a.Sweep(ctx))
	n := 0
	require.NoError(t, st.Meta().List(ctx, "uploads/alias/", func(string, []byte, meta.Rev) error { n++; return nil }))
	require.Zero(t, n, "swept")
}
