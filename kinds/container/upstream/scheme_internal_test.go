package upstream

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

type okTransport struct{}

func (okTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Request: req, Body: http.NoBody}, nil
}

// A remote's scheme is the only one used with its registry: ggcr would
// try HTTPS for an http:// remote, and plain HTTP for an https:// one on
// a local address.
func TestPinScheme(t *testing.T) {
	for _, tc := range []struct {
		scheme, url string
		ok          bool
	}{
		{"http", "http://reg:5000/v2/", true},
		{"http", "https://reg:5000/v2/", false},
		{"https", "https://reg:5000/v2/", true},
		{"https", "http://reg:5000/v2/", false},
		{"http", "https://auth.example/token", true}, // another host: left alone
		{"https", "http://reg:5001/v2/", true},
	} {
		rt := pinScheme(okTransport{}, tc.scheme, "reg:5000")
		req, err := http.NewRequest(http.MethodGet, tc.url, nil)
		require.NoError(t, err)
		resp, err := rt.RoundTrip(req)
		if tc.ok {
			require.NoError(t, err, "%s remote, %s", tc.scheme, tc.url)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			continue
		}
		require.ErrorIs(t, err, errOtherScheme, "%s remote, %s", tc.scheme, tc.url)
	}
}
