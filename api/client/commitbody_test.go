package client_test

import (
	"bytes"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// TestCommitBodyStreamed: the server reads a commit's records as they
// arrive, not the body whole first: a body whose first record is invalid
// is refused before the client has sent the rest (more than the body
// limit, here), and the server does not buffer what it read.
func TestCommitBodyStreamed(t *testing.T) {
	e := newEnv(t)
	_, err := e.client(e.admin).CreateRepo(e.ctx, "dev", repo.CreateOptions{})
	require.NoError(t, err)

	rec := []byte(`{"path":"pkg/a-1.0.tar.gz","sha256":"` + objects.Sum([]byte("a")).String() + `","size":1},`)
	chunk := bytes.Repeat(rec, (1<<20)/len(rec))
	pr, pw := io.Pipe()
	sent := make(chan int64, 1)
	go func() {
		var n int64
		defer func() { sent <- n }()
		k, err := io.WriteString(pw, `{"message":"m","records":[{"path":"","size":1},`)
		n += int64(k)
		for err == nil && n < 512<<20 {
			k, err = pw.Write(chunk)
			n += int64(k)
		}
	}()
	req, err := http.NewRequest(http.MethodPost, e.ts.URL+"/api/v1/repositories/dev/commits", pr)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e.admin)
	req.Header.Set("Content-Type", "application/json")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	runtime.ReadMemStats(&after)
	_ = pr.CloseWithError(io.ErrClosedPipe)
	n := <-sent
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, string(body))
	require.True(t, strings.Contains(string(body), `invalid record \"\"`), string(body))
	t.Logf("refused after %s, %d MiB sent, %d MiB allocated", time.Since(start), n>>20, (after.TotalAlloc-before.TotalAlloc)>>20)
	require.Less(t, n, int64(64<<20), "refused before the rest was sent")
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "the body is not buffered")
}
