package registry_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/container"
)

// Serving a manifest writes its pull down in the repository's pull log,
// by tag or by digest; a failed lookup writes nothing.
func TestManifestPullRecorded(t *testing.T) {
	f := newFixture(t)
	m := f.image("test/img", "one", "")
	resp, body := f.putManifest("test/img", "v1", m, f.admin)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	l, _, err := container.LoadPullLog(f.ctx, f.st.Meta(), "img")
	require.NoError(t, err)
	require.Empty(t, l.Pulled, "a push is no pull")

	resp, _ = f.do(http.MethodGet, "/v2/test/img/manifests/v1", f.reader, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = f.do(http.MethodHead, "/v2/test/img/manifests/"+digestOf(m), f.reader, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = f.do(http.MethodGet, "/v2/test/img/manifests/nope", f.reader, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	l, _, err = container.LoadPullLog(f.ctx, f.st.Meta(), "img")
	require.NoError(t, err)
	require.Len(t, l.Pulled, 2)
	require.Contains(t, l.Pulled, "v1")
	require.Contains(t, l.Pulled, digestOf(m))
}
