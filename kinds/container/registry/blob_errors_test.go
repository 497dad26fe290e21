package registry_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/httpx"
	"github.com/pkgvc/pkgvc/kinds/container"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// TestOnDemandBlobErrors: a blob whose bytes the server fetches on demand
// and cannot fetch is answered in the OCI error format registry clients
// read, not plain text: 429 TOOMANYREQUESTS with Retry-After when the
// upstream rate-limits, 502 UNAVAILABLE when the fetch fails.
func TestOnDemandBlobErrors(t *testing.T) {
	var fetchErr error
	f := newFixture(t, content.WithFetcher(func(context.Context, repo.Record, io.Writer) error { return fetchErr }))
	commit := func(layer []byte) string {
		id := objects.Sum(layer)
		md := map[string]string{container.MetaMediaType: "application/vnd.oci.image.layer.v1.tar", repo.MetaRemote: "hub", repo.MetaURL: "https://upstream.example/v2/lib/img/blobs/sha256:" + id.String()}
		_, err := f.st.Commit(f.ctx, "img", repo.CommitRequest{Records: []repo.Record{{Path: container.BlobPath(id.String()), SHA256: id, Size: int64(len(layer)), Metadata: md}}})
		require.NoError(t, err)
		return "sha256:" + id.String()
	}

	fetchErr = errors.New("connection reset by peer")
	d := commit([]byte("a layer the upstream drops"))
	resp, body := f.do(http.MethodGet, "/v2/test/img/blobs/"+d, "", nil)
	require.Equal(t, http.StatusBadGateway, resp.StatusCode, string(body))
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	require.Equal(t, "UNAVAILABLE", errCode(t, body))
	require.Contains(t, string(body), "connection reset by peer")
	require.Empty(t, resp.Header.Get("Docker-Content-Digest"), "no digest for content not served")

	fetchErr = &httpx.RateLimitError{URL: "https://upstream.example/v2/", StatusCode: http.StatusTooManyRequests, Until: time.Now().Add(30 * time.Second)}
	d = commit([]byte("a layer behind a rate limit"))
	resp, body = f.do(http.MethodGet, "/v2/test/img/blobs/"+d, "", nil)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, string(body))
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	require.Equal(t, "TOOMANYREQUESTS", errCode(t, body))
	ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After kept")
	require.InDelta(t, 30, ra, 2)
}
