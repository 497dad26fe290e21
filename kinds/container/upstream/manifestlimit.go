package upstream

import (
	"fmt"
	"io"
	"net/http"
	"strings"
)

// manifestLimit fails a manifest GET whose body passes MaxManifestSize as
// soon as it does: ggcr would read up to 100 MiB of it into memory before
// the walker's own bound refuses it, per pull, and a namespace cache
// pulls whatever names its clients ask for.
type manifestLimit struct{ next http.RoundTripper }

func (t manifestLimit) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || !strings.Contains(req.URL.Path, "/manifests/") || resp.StatusCode/100 != 2 {
		return resp, err
	}
	if resp.ContentLength > MaxManifestSize {
		_ = resp.Body.Close() // refused unread
		return nil, errManifestTooLarge(req, resp.ContentLength)
	}
	resp.Body = &limitedBody{rc: resp.Body, req: req}
	return resp, nil
}

func errManifestTooLarge(req *http.Request, n int64) error {
	return fmt.Errorf("GET %s: manifest of %d bytes or more: more than %d", req.URL.Redacted(), n, MaxManifestSize)
}

// limitedBody is a manifest's body that fails past MaxManifestSize.
type limitedBody struct {
	rc  io.ReadCloser
	req *http.Request
	n   int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.n > MaxManifestSize {
		return 0, errManifestTooLarge(b.req, b.n)
	}
	k, err := b.rc.Read(p)
	b.n += int64(k)
	if b.n > MaxManifestSize {
		return k, errManifestTooLarge(b.req, b.n)
	}
	return k, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
