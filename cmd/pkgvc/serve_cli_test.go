package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/objects"
)

// lockedBuffer is a bytes.Buffer safe to read while a command writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// fetch GETs url with the real curl when it is installed, else with Go's
// client, and returns the body.
func fetch(t *testing.T, url string) []byte {
	t.Helper()
	if curl, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command(curl, "-sSf", "--max-time", "20", url).Output()
		require.NoError(t, err, "curl %s", url)
		return out
	}
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return body
}

func TestServeCommand(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "prod")
	data := randBytes(t, 200000)
	h.commit("prod", "--add", h.file("site/d/blob.bin", data)+"=d/blob.bin")
	ctx := context.Background()
	st, err := fsstore.OpenDir(ctx, h.store, all.Kinds())
	require.NoError(t, err)
	_, err = dist.NewDists(st).Create(ctx, "web", dist.DistSpec{BasePath: "site/web", Repo: "prod"})
	require.NoError(t, err)

	addr := freeAddr(t)
	accessLog := filepath.Join(h.work, "access.log")
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(sctx, []string{"pkgvc", "--store", h.store, "serve", "--listen", addr, "--access-log", accessLog}, &stdout, &stderr)
	}()
	base := "http://" + addr + "/content/site/web/"
	require.Eventually(t, func() bool {
		resp, err := http.Get(base)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "serve did not start: %s", stderr.String())

	require.True(t, bytes.Equal(data, fetch(t, base+"d/blob.bin")))
	require.Contains(t, string(fetch(t, base+"PULP_MANIFEST")), fmt.Sprintf("d/blob.bin,%s,%d\n", sha(data), len(data)))
	h.commit("prod", "--add", h.file("v2.txt", []byte("v2\n"))+"=v2.txt")
	require.Equal(t, "v2\n", string(fetch(t, base+"v2.txt")), "a new version is served without restart")
	// A path with a doubled slash or a dot segment is redirected to its
	// clean form, as the mux does for every route.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{"d//blob.bin", "d/./blob.bin"} {
		resp, err := noFollow.Get(base + p)
		require.NoError(t, err)
		resp.Body.Close()
		require.Contains(t, []int{http.StatusMovedPermanently, http.StatusTemporaryRedirect}, resp.StatusCode, p)
		require.Equal(t, "/content/site/web/d/blob.bin", resp.Header.Get("Location"), p)
	}

	cancel()
	select {
	case code := <-done:
		require.Equal(t, 0, code, "stderr: %s", stderr.String())
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not stop on cancel")
	}
	require.Contains(t, stdout.String(), "http://"+addr+"/content/")
	require.NotContains(t, stderr.String(), "looking refs up", "the refs watch is used")

	logData, err := os.ReadFile(accessLog)
	require.NoError(t, err)
	var paths []string
	for _, line := range strings.Split(strings.TrimSpace(string(logData)), "\n") {
		var m struct {
			Method, Path string
			Status       int
			Bytes        int64
		}
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		paths = append(paths, m.Path)
		if m.Path == "/content/site/web/d/blob.bin" {
			require.Equal(t, 200, m.Status)
			require.Equal(t, int64(len(data)), m.Bytes)
		}
	}
	require.Contains(t, paths, "/content/site/web/d/blob.bin")
	require.Contains(t, paths, "/content/site/web/v2.txt")
}

// startServe runs `pkgvc serve` on the harness store until the test ends.
func startServe(t *testing.T, h *harness) (base string, stderr *lockedBuffer) {
	t.Helper()
	base, stderr, _ = serveFor(t, h)
	return base, stderr
}

// serveFor runs `pkgvc serve` in this process on h's store until the
// returned stop is called (or the test ends); stderr is its log.
func serveFor(t *testing.T, h *harness) (base string, stderr *lockedBuffer, stop func()) {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	stderr = &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"pkgvc", "--store", h.store, "serve", "--listen", addr}, io.Discard, stderr)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			require.Equal(t, 0, <-done, "stderr: %s", stderr.String())
		})
	}
	t.Cleanup(stop)
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "serve did not start: %s", stderr.String())
	return "http://" + addr, stderr, stop
}

// TestServeOnDemand syncs a file remote with the on_demand policy and
// serves its records: the first request fetches from the upstream while
// storing, later ones come from the store.
func TestServeOnDemand(t *testing.T) {
	h := newHarness(t)
	up := t.TempDir()
	data := randBytes(t, 300000)
	require.NoError(t, os.WriteFile(filepath.Join(up, "pkg.bin"), data, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(up, "PULP_MANIFEST"), []byte(fmt.Sprintf("pkg.bin,%s,%d\n", sha(data), len(data))), 0o644))
	var hits sync.Map
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := hits.LoadOrStore(r.URL.Path, new(int))
		*n.(*int)++
		http.FileServer(http.Dir(up)).ServeHTTP(w, r)
	}))
	defer upstream.Close()
	h.ok("repo", "create", "mirror")
	h.ok("remote", "create", "up", "--url", upstream.URL+"/PULP_MANIFEST", "--policy", "on_demand")
	h.ok("sync", "up", "mirror")
	ctx := context.Background()
	st, err := fsstore.OpenDir(ctx, h.store, all.Kinds())
	require.NoError(t, err)
	_, err = dist.NewDists(st).Create(ctx, "m", dist.DistSpec{BasePath: "m", Repo: "mirror"})
	require.NoError(t, err)
	has, err := st.Objects().HasBlob(ctx, objects.Sum(data))
	require.NoError(t, err)
	require.False(t, has, "on_demand: not downloaded by sync")

	base, _ := startServe(t, h)
	for i := 0; i < 3; i++ {
		require.True(t, bytes.Equal(data, fetch(t, base+"/content/m/pkg.bin")))
	}
	n, _ := hits.Load("/pkg.bin")
	require.Equal(t, 1, *n.(*int), "fetched once, then served from the store")
	has, err = st.Objects().HasBlob(ctx, objects.Sum(data))
	require.NoError(t, err)
	require.True(t, has)
}

func TestServeCommandErrors(t *testing.T) {
	h := newHarness(t)
	r := h.run("serve", "extra")
	require.Equal(t, 2, r.code, r.String())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	r = h.run("serve", "--listen", l.Addr().String())
	require.Equal(t, 1, r.code, "an address in use is refused: %s", r)
	require.Contains(t, r.stderr, "address already in use")
}
