package content_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPullThroughMetrics(t *testing.T) {
	up := newPTUpstream(t)
	d := newPTDownstream(t, up)
	for _, tc := range []struct {
		path string
		code int
	}{
		{"simple/alpha/", 200},                             // miss: pulled
		{"simple/alpha/", 200},                             // hit
		{"packages/alpha/alpha-1.0-py3-none-any.whl", 200}, // hit
		{"simple/nope/", 404},                              // miss: not on the remote
		{"simple/nope/", 404},                              // negative
		{"packages/nope/nope-1.0-py3-none-any.whl", 404},   // negative
		{"packages/alpha/alpha-9.9-py3-none-any.whl", 404}, // miss: pulled again, still absent
	} {
		resp, body := get(t, "GET", d.base+"/content/down/"+tc.path)
		require.Equal(t, tc.code, resp.StatusCode, "%s: %s", tc.path, body)
	}
	_, body := get(t, "GET", d.base+"/metrics")
	m := string(body)
	require.Contains(t, m, `pkgvc_pullthrough_requests_total{result="hit"} 2`+"\n")
	require.Contains(t, m, `pkgvc_pullthrough_requests_total{result="miss"} 3`+"\n")
	require.Contains(t, m, `pkgvc_pullthrough_requests_total{result="negative"} 2`+"\n")
}
