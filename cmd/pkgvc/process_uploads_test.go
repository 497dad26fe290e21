package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// alternating is a reverse proxy that sends each request to the next of
// its backends in turn, and counts what each got.
type alternating struct {
	backends []*httputil.ReverseProxy
	n        atomic.Int64
	mu       sync.Mutex
	got      map[int][]string // backend -> "METHOD path"
}

func newAlternating(t *testing.T, bases ...string) *alternating {
	t.Helper()
	a := &alternating{got: map[int][]string{}}
	for _, b := range bases {
		u, err := url.Parse(b)
		require.NoError(t, err)
		a.backends = append(a.backends, httputil.NewSingleHostReverseProxy(u))
	}
	return a
}

func (a *alternating) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := int(a.n.Add(1)-1) % len(a.backends)
	a.mu.Lock()
	a.got[i] = append(a.got[i], r.Method+" "+r.URL.Path)
	a.mu.Unlock()
	a.backends[i].ServeHTTP(w, r)
}

// served reports whether every backend got a request matching method and
// path prefix.
func (a *alternating) served(method, prefix string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range a.backends {
		ok := false
		for _, g := range a.got[i] {
			if strings.HasPrefix(g, method+" "+prefix) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// TestProcessUploadsAcrossServes: two `pkgvc serve` processes on one
// store behind a proxy that alternates between them at every request. A
// push of real clients spreads over both: the CLI's chunked upload and
// commit through the REST API, crane's blob uploads and manifest.
func TestProcessUploadsAcrossServes(t *testing.T) {
	store := procStore(t,
		[]string{"repo", "create", "files"},
		[]string{"repo", "create", "img", "--kind", "container"},
		[]string{"dist", "create", "img", "--base-path", "test/img", "--repo", "img"},
	)
	_, b1 := startServeProc(t, store)
	_, b2 := startServeProc(t, store)
	alt := newAlternating(t, b1, b2)
	ts := httptest.NewServer(alt)
	t.Cleanup(ts.Close)

	// REST: open, chunk, finish and commit land on alternate processes.
	dir := t.TempDir()
	file := filepath.Join(dir, "big.bin")
	require.NoError(t, os.WriteFile(file, bytes.Repeat([]byte("0123456789abcdef"), 1<<14), 0o644))
	r := runCLI(t, "--server", ts.URL, "commit", "files", "--add", file)
	require.Equal(t, 0, r.code, r.String())
	require.True(t, alt.served(http.MethodPost, "/api/v1/"), "%v", alt.got)
	r = runProc(t, store, "--json", "ls", "files")
	require.Equal(t, 0, r.code, r.String())
	require.Contains(t, r.stdout, "big.bin")

	crane, err := exec.LookPath("crane")
	if err != nil {
		crane = "/root/go/bin/crane"
	}
	if _, err := os.Stat(crane); err != nil {
		t.Skip("crane is not installed")
	}
	// crane's credentials: the token as the password.
	host := strings.TrimPrefix(ts.URL, "http://")
	auth := base64.StdEncoding.EncodeToString([]byte("x:" + os.Getenv("PKGVC_TOKEN")))
	cfg := writeDockerConfig(t, host, auth)

	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	body := bytes.Repeat([]byte("layer content "), 40000)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "data.txt", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}))
	_, err = tw.Write(body)
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	lf := filepath.Join(dir, "layer.tar")
	require.NoError(t, os.WriteFile(lf, layer.Bytes(), 0o644))

	// crane uploads blobs in parallel: which process gets which request
	// varies. Push until blobs and manifests went to both (each push
	// must succeed anyway).
	for i := 1; i <= 5 && !alt.served(http.MethodPut, "/v2/test/img/"); i++ {
		cmd := exec.Command(crane, "append", "--insecure", "-f", lf, "-t", host+"/test/img:v"+strconv.Itoa(i))
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+cfg)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
	}
	require.True(t, alt.served(http.MethodPut, "/v2/test/img/"), "%v", alt.got)

	// Both processes serve the image.
	for _, b := range []string{b1, b2} {
		h := strings.TrimPrefix(b, "http://")
		cmd := exec.Command(crane, "export", "--insecure", h+"/test/img:v1", "-")
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+writeDockerConfig(t, h, auth))
		cmd.Stderr = os.Stderr
		got, err := cmd.Output()
		require.NoError(t, err)
		require.Contains(t, string(got), "layer content layer content")
	}
}

func writeDockerConfig(t *testing.T, host, auth string) string {
	t.Helper()
	dir := t.TempDir()
	raw, err := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{"auth": auth}}})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o600))
	return dir
}

// TestProcessUploadSurvivesServeKill: a `pkgvc serve` killed (SIGKILL)
// while it writes a chunk leaves half of it in the session's file and its
// claim in the session's document. Another serve of the store, once the
// claim lapses, reports the offset before that chunk, takes it again from
// there, finishes the upload and commits it: the half-written bytes
// corrupt nothing.
func TestProcessUploadSurvivesServeKill(t *testing.T) {
	store := procStore(t, []string{"repo", "create", "files"})
	tok := os.Getenv("PKGVC_TOKEN")
	killed, b1 := startServeProc(t, store)
	_, b2 := startServeProc(t, store)

	call := func(base, method, path, contentRange string, body []byte) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, base+"/api/v1"+path, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		if contentRange != "" {
			req.Header.Set("Content-Range", contentRange)
			req.Header.Set("Content-Type", "application/octet-stream")
		} else if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	code, up := call(b1, http.MethodPost, "/uploads", "", nil)
	require.Equal(t, http.StatusCreated, code, up)
	id := up["id"].(string)
	first := bytes.Repeat([]byte("a"), 1000)
	code, up = call(b1, http.MethodPut, "/uploads/"+id, "bytes 0-999/*", first)
	require.Equal(t, http.StatusOK, code, up)

	// Half of the next chunk reaches the first serve, which dies writing.
	chunk := bytes.Repeat([]byte("b"), 100000)
	conn, err := net.Dial("tcp", strings.TrimPrefix(b1, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "PUT /api/v1/uploads/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/octet-stream\r\nContent-Range: bytes 1000-100999/*\r\nContent-Length: %d\r\n\r\n",
		id, tok, len(chunk))
	require.NoError(t, err)
	_, err = conn.Write(bytes.Repeat([]byte("X"), 50000)) // not the chunk's bytes
	require.NoError(t, err)
	part := filepath.Join(store, "data", "tmp", "uploads", id+".part")
	require.Eventually(t, func() bool {
		fi, err := os.Stat(part)
		return err == nil && fi.Size() >= 51000
	}, 10*time.Second, 10*time.Millisecond, "the first serve writes what arrived")
	require.NoError(t, killed.cmd.Process.Kill())
	_ = killed.cmd.Wait()

	// The other serve waits for the dead claim, then says 1000.
	code, up = call(b2, http.MethodGet, "/uploads/"+id, "", nil)
	require.Equal(t, http.StatusOK, code, up)
	require.Equal(t, float64(1000), up["offset"])
	code, up = call(b2, http.MethodPut, "/uploads/"+id, "bytes 1000-100999/*", chunk)
	require.Equal(t, http.StatusOK, code, up)
	all := append(first, chunk...)
	sum := sha256.Sum256(all)
	code, up = call(b2, http.MethodPost, "/uploads/"+id+"/finish", "", []byte(`{"sha256":"`+hex.EncodeToString(sum[:])+`"}`))
	require.Equal(t, http.StatusCreated, code, up)
	code, up = call(b2, http.MethodPost, "/repositories/files/commits", "",
		[]byte(`{"records":[{"path":"f.bin","sha256":"`+hex.EncodeToString(sum[:])+`","size":`+strconv.Itoa(len(all))+`}]}`))
	require.Equal(t, http.StatusCreated, code, up)
	r := runProc(t, store, "cat", "files", "f.bin")
	require.Equal(t, 0, r.code, r.String())
	require.Equal(t, string(all), r.stdout)
}
