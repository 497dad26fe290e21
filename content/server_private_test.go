package content_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/dist"
)

// A private distribution is never served without authentication: until the
// server holds tokens, it answers 401 with a Basic challenge.
func TestServerRefusesPrivateDistribution(t *testing.T) {
	for _, kind := range serverKinds {
		t.Run(kind, func(t *testing.T) {
			f := newSrvFixture(t, kind)
			f.commit(map[string][]byte{"secret.txt": []byte("s3cret\n")})
			resp, body := get(t, http.MethodGet, f.url("secret.txt"))
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, "s3cret\n", string(body))

			private := true
			_, err := f.dists.Update(f.ctx, "web", dist.DistSpec{Private: &private})
			require.NoError(t, err)
			for _, p := range []string{"secret.txt", "", "PULP_MANIFEST"} {
				resp, body = get(t, http.MethodGet, f.url(p))
				require.Equal(t, http.StatusUnauthorized, resp.StatusCode, p)
				require.Contains(t, resp.Header.Get("WWW-Authenticate"), "Basic")
				require.NotContains(t, string(body), "s3cret")
			}
		})
	}
}
