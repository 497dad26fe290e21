package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pkgvc/pkgvc/app"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api/server"
	"github.com/pkgvc/pkgvc/internal/auth"
)

// A token's lifetime is bounded: ttl_seconds that would overflow into a
// token that never expires (or any over 100 years) is refused.
func TestTokenTTLBounded(t *testing.T) {
	ctx := context.Background()
	ap, err := app.Open(ctx, t.TempDir(), app.WithCreate())
	require.NoError(t, err)
	svc := ap.Service()
	require.NoError(t, err)
	tokens := auth.New(svc.Store(), auth.WithCacheTTL(0))
	sc, err := auth.ParseScope("*:*:admin")
	require.NoError(t, err)
	_, admin, err := tokens.Create(ctx, auth.CreateOptions{Name: "admin", Scopes: []auth.Scope{sc}})
	require.NoError(t, err)
	srv, err := server.New(svc, tokens)
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)

	create := func(name string, ttl int64) int {
		body := fmt.Sprintf(`{"name":%q,"scopes":["dist:*:read"],"ttl_seconds":%d}`, name, ttl)
		req, err := http.NewRequest(http.MethodPost, ts.URL+server.Prefix+"/tokens", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, ttl := range []int64{9223372036, 1 << 62, int64(auth.MaxTTL/time.Second) + 1} {
		name := fmt.Sprintf("t%d", ttl)
		code := create(name, ttl)
		require.True(t, code >= 400 && code < 500, "ttl_seconds %d answered %d", ttl, code)
		list, err := tokens.List(ctx)
		require.NoError(t, err)
		for _, tok := range list {
			require.NotEqual(t, name, tok.Name, "no token was made")
		}
	}
	require.Equal(t, http.StatusCreated, create("fine", int64(auth.MaxTTL/time.Second)))

	_, _, err = tokens.Create(ctx, auth.CreateOptions{Name: "lib", Scopes: []auth.Scope{sc}, TTL: auth.MaxTTL + time.Second})
	require.Error(t, err)
}
