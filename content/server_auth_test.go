package content_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
)

// lateAuth lets a test create the token store after the fixture's store.
type lateAuth struct{ s *auth.Store }

func (l *lateAuth) Authorize(ctx context.Context, token, kind, name string, level auth.Level) (*auth.Token, error) {
	return l.s.Authorize(ctx, token, kind, name, level)
}

type authFixture struct {
	*srvFixture
	tokens *auth.Store
}

func newAuthFixture(t *testing.T, kind string, opts ...content.ServerOption) *authFixture {
	t.Helper()
	la := &lateAuth{}
	f := newSrvFixture(t, kind, append([]content.ServerOption{content.WithAuth(la)}, opts...)...)
	la.s = auth.New(f.st, auth.WithCacheTTL(time.Millisecond))
	f.commit(map[string][]byte{"secret.txt": []byte("s3cret\n")})
	private := true
	_, err := f.dists.Update(f.ctx, "web", dist.DistSpec{Private: &private})
	require.NoError(t, err)
	return &authFixture{srvFixture: f, tokens: la.s}
}

func (f *authFixture) token(name string, scopes ...string) string {
	f.t.Helper()
	return mintToken(f.t, f.ctx, f.tokens, name, scopes...)
}

// mintToken creates a token name with scopes in tokens and returns its
// secret.
func mintToken(t *testing.T, ctx context.Context, tokens *auth.Store, name string, scopes ...string) string {
	t.Helper()
	var ss []auth.Scope
	for _, s := range scopes {
		sc, err := auth.ParseScope(s)
		require.NoError(t, err)
		ss = append(ss, sc)
	}
	_, secret, err := tokens.Create(ctx, auth.CreateOptions{Name: name, Scopes: ss})
	require.NoError(t, err)
	return secret
}

func basic(token string) string {
	req, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
	req.SetBasicAuth("anyone", token)
	return req.Header.Get("Authorization")
}

func TestServerPrivateAuth(t *testing.T) {
	for _, kind := range serverKinds {
		t.Run(kind, func(t *testing.T) {
			f := newAuthFixture(t, kind)
			reader := f.token("reader", "dist:web:read")
			admin := f.token("admin", "*:*:admin")
			other := f.token("other", "dist:api-*:read", "repo:api-*:admin") // another distribution, another repository

			resp, body := get(t, http.MethodGet, f.url("secret.txt"))
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			require.Equal(t, `Basic realm="pkgvc"`, resp.Header.Get("WWW-Authenticate"))
			require.NotContains(t, string(body), "s3cret")

			for name, hdr := range map[string]string{
				"basic": basic(reader), "bearer": "Bearer " + reader, "admin": "Bearer " + admin,
			} {
				resp, body = get(t, http.MethodGet, f.url("secret.txt"), "Authorization", hdr)
				require.Equal(t, http.StatusOK, resp.StatusCode, name)
				require.Equal(t, "s3cret\n", string(body), name)
			}
			resp, _ = get(t, http.MethodGet, f.url(""), "Authorization", basic(reader))
			require.Equal(t, http.StatusOK, resp.StatusCode, "listing")

			resp, body = get(t, http.MethodGet, f.url("secret.txt"), "Authorization", "Bearer "+other)
			require.Equal(t, http.StatusForbidden, resp.StatusCode)
			require.NotContains(t, string(body), "s3cret")

			for _, hdr := range []string{"Bearer pkgvc_wrong", basic("nope"), "Basic !!!", "Digest x"} {
				resp, _ = get(t, http.MethodGet, f.url("secret.txt"), "Authorization", hdr)
				require.Equal(t, http.StatusUnauthorized, resp.StatusCode, hdr)
				require.Contains(t, resp.Header.Get("WWW-Authenticate"), "Basic")
			}

			require.NoError(t, f.tokens.Revoke(f.ctx, "reader"))
			require.Eventually(t, func() bool {
				resp, _ := get(t, http.MethodGet, f.url("secret.txt"), "Authorization", "Bearer "+reader)
				return resp.StatusCode == http.StatusUnauthorized
			}, time.Second, 5*time.Millisecond, "revoked within the cache TTL")
		})
	}
}

func TestServerPublicDistNeedsNoToken(t *testing.T) {
	f := newAuthFixture(t, "net/http")
	private := false
	_, err := f.dists.Update(f.ctx, "web", dist.DistSpec{Private: &private})
	require.NoError(t, err)
	for _, hdr := range []string{"", "Bearer pkgvc_wrong"} {
		resp, body := get(t, http.MethodGet, f.url("secret.txt"), "Authorization", hdr)
		require.Equal(t, http.StatusOK, resp.StatusCode, hdr)
		require.Equal(t, "s3cret\n", string(body))
	}
}

func TestServerAuthRateLimit(t *testing.T) {
	f := newAuthFixture(t, "net/http", content.WithAuthLimiter(auth.NewLimiter(3, time.Minute, time.Minute)))
	good := f.token("ci", "dist:*:read")
	for i := range 3 {
		resp, _ := get(t, http.MethodGet, f.url("secret.txt"), "Authorization", "Bearer pkgvc_wrong")
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, i)
	}
	for range 2 {
		resp, body := get(t, http.MethodGet, f.url("secret.txt"), "Authorization", "Bearer pkgvc_wrong")
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		require.NotEmpty(t, resp.Header.Get("Retry-After"))
		require.NotContains(t, string(body), "s3cret")
	}
	resp, body := get(t, http.MethodGet, f.url("secret.txt"), "Authorization", basic(good))
	require.Equal(t, http.StatusOK, resp.StatusCode, "a valid token is not slowed")
	require.Equal(t, "s3cret\n", string(body))
	resp, _ = get(t, http.MethodGet, f.url("secret.txt"))
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no credentials is a challenge, not a failure")
	require.True(t, strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic"))
}
