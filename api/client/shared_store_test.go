package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api/client"
	"github.com/pkgvc/pkgvc/api/server"
	"github.com/pkgvc/pkgvc/app"
	"github.com/pkgvc/pkgvc/internal/auth"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// sharedServers opens the store in dir twice and serves the API of each:
// two processes on one store, sharing no memory.
func sharedServers(t *testing.T) (urls [2]string, token, other string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	for i := range 2 {
		ap, err := app.Open(ctx, dir, app.WithCreate())
		require.NoError(t, err)
		t.Cleanup(func() { _ = ap.Close() })
		svc := ap.Service()
		tokens := auth.New(svc.Store(), auth.WithCacheTTL(0))
		if i == 0 {
			_, err = svc.CreateRepo(ctx, "dev", repo.CreateOptions{})
			require.NoError(t, err)
			_, token, err = tokens.Create(ctx, auth.CreateOptions{Name: "ci", Scopes: scopes(t, "repo:dev:write")})
			require.NoError(t, err)
			_, other, err = tokens.Create(ctx, auth.CreateOptions{Name: "ci2", Scopes: scopes(t, "repo:dev:write")})
			require.NoError(t, err)
		}
		srv, err := server.New(svc, tokens)
		require.NoError(t, err)
		ts := httptest.NewServer(srv)
		t.Cleanup(ts.Close)
		urls[i] = ts.URL
	}
	return urls, token, other
}

// TestUploadAcrossServers: an upload finished through one server of a
// store is committed through another by the same token, and only by it.
func TestUploadAcrossServers(t *testing.T) {
	ctx := context.Background()
	urls, tok, other := sharedServers(t)
	c1, err := client.New(urls[0], tok, client.WithChunkSize(1000))
	require.NoError(t, err)
	c2, err := client.New(urls[1], tok)
	require.NoError(t, err)
	data := bytes.Repeat([]byte("0123456789"), 450)
	id, err := c1.PutBlob(ctx, bytes.NewReader(data), int64(len(data)), objects.ID{})
	require.NoError(t, err)
	_, err = c2.Commit(ctx, "dev", repo.CommitRequest{Records: []repo.Record{{Path: "x.bin", SHA256: id, Size: int64(len(data))}}})
	require.NoError(t, err, "a blob uploaded through the first server commits through the second")

	// Another token may not name it.
	id2, err := c1.PutBlob(ctx, strings.NewReader("ci only"), 7, objects.ID{})
	require.NoError(t, err)
	o2, err := client.New(urls[1], other)
	require.NoError(t, err)
	_, err = o2.Commit(ctx, "dev", repo.CommitRequest{Records: []repo.Record{{Path: "y.bin", SHA256: id2, Size: 7}}})
	require.ErrorIs(t, err, auth.ErrForbidden)
	_, err = c2.Commit(ctx, "dev", repo.CommitRequest{Records: []repo.Record{{Path: "y.bin", SHA256: id2, Size: 7}}})
	require.NoError(t, err)

}

// TestChunksAcrossServers: the chunks of one upload go to either server;
// the same chunk sent to both at once lands once, and the other is told
// the offset (409 offset_mismatch).
func TestChunksAcrossServers(t *testing.T) {
	urls, tok, _ := sharedServers(t)
	do := func(method, url, contentRange, body string) *http.Response {
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		if contentRange != "" {
			req.Header.Set("Content-Range", contentRange)
			req.Header.Set("Content-Type", "application/octet-stream")
		} else if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	resp := do(http.MethodPost, urls[0]+"/api/v1/uploads", "", "")
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	var up server.Upload
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&up))

	var all strings.Builder
	for round := range 6 {
		chunk := strings.Repeat(string(rune('a'+round)), 100)
		rng := "bytes " + strconv.Itoa(round*100) + "-" + strconv.Itoa(round*100+99) + "/*"
		codes := make([]int, 2)
		offsets := make([]string, 2)
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() {
				r := do(http.MethodPut, urls[i]+"/api/v1/uploads/"+up.ID, rng, chunk)
				codes[i], offsets[i] = r.StatusCode, r.Header.Get("Upload-Offset")
				if r.StatusCode == http.StatusConflict {
					var e struct{ Offset int64 }
					_ = json.NewDecoder(r.Body).Decode(&e)
					offsets[i] = strconv.FormatInt(e.Offset, 10)
				}
			})
		}
		wg.Wait()
		require.ElementsMatch(t, []int{http.StatusOK, http.StatusConflict}, codes, "round %d", round)
		require.Equal(t, []string{strconv.Itoa(round*100 + 100), strconv.Itoa(round*100 + 100)}, offsets, "round %d", round)
		all.WriteString(chunk)
	}
	sum := objects.Sum([]byte(all.String()))
	resp = do(http.MethodPost, urls[1]+"/api/v1/uploads/"+up.ID+"/finish", "", `{"sha256":"`+sum.String()+`"}`)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	resp = do(http.MethodGet, urls[0]+"/api/v1/uploads/"+up.ID, "", "")
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "finished through the other server")
}
