package auth_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/repo"
)

func openStore(t *testing.T) *repo.Store {
	t.Helper()
	st, err := fsstore.OpenDir(context.Background(), filepath.Join(t.TempDir(), "store"), all.Kinds())
	require.NoError(t, err)
	return st
}

func scopes(t *testing.T, ss ...string) []auth.Scope {
	t.Helper()
	var out []auth.Scope
	for _, s := range ss {
		sc, err := auth.ParseScope(s)
		require.NoError(t, err)
		out = append(out, sc)
	}
	return out
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	var now atomic.Pointer[time.Time]
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	now.Store(&t0)
	clock := func() time.Time { return *now.Load() }
	s := auth.New(st, auth.WithClock(clock), auth.WithCacheTTL(time.Hour))

	ci, secret, err := s.Create(ctx, auth.CreateOptions{Name: "ci", Scopes: scopes(t, "repo:dev:write", "dist:*:read")})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(secret, auth.Prefix))
	require.Len(t, secret, len(auth.Prefix)+43)
	require.Equal(t, "ci", ci.Name)
	require.True(t, ci.Expires.IsZero())

	_, _, err = s.Create(ctx, auth.CreateOptions{Name: "ci", Scopes: scopes(t, "*:*:read")})
	require.ErrorIs(t, err, auth.ErrTokenExists)
	require.ErrorIs(t, err, repo.ErrExists)
	_, _, err = s.Create(ctx, auth.CreateOptions{Name: "Bad Name", Scopes: scopes(t, "*:*:read")})
	require.ErrorIs(t, err, repo.ErrInvalid)
	_, _, err = s.Create(ctx, auth.CreateOptions{Name: "none"})
	require.ErrorIs(t, err, auth.ErrInvalidScope)

	gen, genSecret, err := s.Create(ctx, auth.CreateOptions{Scopes: scopes(t, "*:*:admin"), TTL: time.Hour})
	require.NoError(t, err)
	require.NoError(t, repo.ValidateName(gen.Name))
	require.Equal(t, t0.Add(time.Hour), gen.Expires)

	list, err := s.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "ci", list[0].Name)
	require.Equal(t, gen.Name, list[1].Name)
	raw, err := json.Marshal(list)
	require.NoError(t, err)
	require.NotContains(t, string(raw), secret)
	require.Contains(t, string(raw), `"repo:dev:write"`)

	// Authenticate and authorize.
	tok, err := s.Authenticate(ctx, secret)
	require.NoError(t, err)
	require.Equal(t, "ci", tok.Name)
	_, err = s.Authorize(ctx, secret, auth.KindDist, "priv", auth.Read)
	require.NoError(t, err)
	_, err = s.Authorize(ctx, secret, auth.KindRepo, "prod", auth.Write)
	require.ErrorIs(t, err, auth.ErrForbidden)
	for _, bad := range []string{"", "nope", secret + "x", auth.Prefix + strings.Repeat("A", 43)} {
		_, err = s.Authenticate(ctx, bad)
		require.ErrorIs(t, err, auth.ErrUnauthorized, bad)
	}

	// Expiry, checked even for a cached token.
	_, err = s.Authenticate(ctx, genSecret)
	require.NoError(t, err)
	later := t0.Add(time.Hour)
	now.Store(&later)
	_, err = s.Authenticate(ctx, genSecret)
	require.ErrorIs(t, err, auth.ErrUnauthorized)

	// Revoke: this store forgets at once; another one after its TTL.
	other := auth.New(st, auth.WithClock(clock), auth.WithCacheTTL(time.Minute))
	_, err = other.Authenticate(ctx, secret)
	require.NoError(t, err)
	require.NoError(t, s.Revoke(ctx, "ci"))
	_, err = s.Authenticate(ctx, secret)
	require.ErrorIs(t, err, auth.ErrUnauthorized)
	_, err = other.Authenticate(ctx, secret)
	require.NoError(t, err, "cached within the TTL")
	muchLater := later.Add(time.Minute)
	now.Store(&muchLater)
	_, err = other.Authenticate(ctx, secret)
	require.ErrorIs(t, err, auth.ErrUnauthorized)

	require.ErrorIs(t, s.Revoke(ctx, "ci"), auth.ErrTokenNotFound)
	require.ErrorIs(t, s.Revoke(ctx, "ci"), repo.ErrNotFound)
	list, err = s.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
}
