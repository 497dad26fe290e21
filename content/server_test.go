package content_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// manifestPublisher is a small file-kind publisher: PULP_MANIFEST lines.
type manifestPublisher struct{}

func (manifestPublisher) Kind() string { return "file" }

func (manifestPublisher) Publish(ctx context.Context, st *repo.Store, v *repo.Version) ([]publish.File, error) {
	rs, err := tree.Sorted(ctx, st.Objects(), v.Tree)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%s,%s,%d\n", r.Path, r.SHA256, r.Size)
	}
	return []publish.File{{Path: "PULP_MANIFEST", ContentType: "text/plain; charset=utf-8", Content: []byte(b.String())}}, nil
}

// srvFixture is a store with repository "prod" served by distribution "web"
// at base path "site/web", behind a real listener.
type srvFixture struct {
	t     *testing.T
	ctx   context.Context
	dir   string
	st    *repo.Store
	dists *dist.Dists
	srv   *content.Server
	base  string // http://host:port
	work  string
	n     int
}

// serverKinds are the connection servers a Server runs behind: net/http
// (httptest) and content.Serve.
var serverKinds = []string{"net/http", "content.Serve"}

func newSrvFixture(t *testing.T, kind string, opts ...content.ServerOption) *srvFixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := fsstore.OpenDir(ctx, filepath.Join(dir, "store"), all.Kinds())
	require.NoError(t, err)
	_, err = st.CreateRepo(ctx, "prod", repo.CreateOptions{})
	require.NoError(t, err)
	f := &srvFixture{t: t, ctx: ctx, dir: dir, st: st, dists: dist.NewDists(st), work: filepath.Join(dir, "work")}
	require.NoError(t, os.MkdirAll(f.work, 0o755))
	_, err = f.dists.Create(ctx, "web", dist.DistSpec{BasePath: "site/web", Repo: "prod"})
	require.NoError(t, err)
	w, err := fsstore.WatchRefs(filepath.Join(dir, "store"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close() })
	opts = append([]content.ServerOption{content.WithRefsWatch(w)}, opts...)
	f.srv = content.NewServer(st, f.dists, publish.NewPublications(st, publish.NewRegistry(manifestPublisher{}), 8), opts...)
	f.base = startServer(t, kind, f.srv)
	return f
}

// startServer serves h and returns its base URL.
func startServer(t *testing.T, kind string, h http.Handler) string {
	t.Helper()
	if kind == "net/http" {
		ts := httptest.NewServer(h)
		t.Cleanup(ts.Close)
		return ts.URL
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- content.Serve(ctx, l, h, nil) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return "http://" + l.Addr().String()
}

// commit commits files (path -> content) to prod and returns the version.
func (f *srvFixture) commit(files map[string][]byte, removes ...string) objects.ID {
	f.t.Helper()
	var adds []repo.Add
	for p, data := range files {
		f.n++
		local := filepath.Join(f.work, fmt.Sprintf("f%d", f.n))
		require.NoError(f.t, os.WriteFile(local, data, 0o644))
		adds = append(adds, repo.Add{Path: p, File: local})
	}
	res, err := f.st.Commit(f.ctx, "prod", repo.CommitRequest{Adds: adds, Removes: removes, Message: "test"})
	require.NoError(f.t, err)
	return res.ID
}

func (f *srvFixture) url(p string) string { return f.base + "/content/site/web/" + p }

// get performs a request and returns the response with its whole body.
func get(t *testing.T, method, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestServeFiles(t *testing.T) {
	for _, kind := range serverKinds {
		t.Run(kind, func(t *testing.T) {
			f := newSrvFixture(t, kind)
			small := randBytes(4096)
			big := randBytes(3<<20 + 17)
			f.commit(map[string][]byte{
				"d/blob.bin":      big,
				"small.bin":       small,
				"hello.txt":       []byte("hello\n"),
				"noext":           []byte("x"),
				"a&b <c>.txt":     []byte("odd"),
				"d/e/f/deep.json": []byte("{}"),
				"empty.bin":       nil,
			})

			for _, tc := range []struct {
				path, ctype string
				want        []byte
			}{
				{"small.bin", "application/octet-stream", small},
				{"d/blob.bin", "application/octet-stream", big},
				{"hello.txt", "text/plain; charset=utf-8", []byte("hello\n")},
				{"noext", "application/octet-stream", []byte("x")},
				{"d/e/f/deep.json", "application/json", []byte("{}")},
				{"a%26b%20%3Cc%3E.txt", "text/plain; charset=utf-8", []byte("odd")},
				{"empty.bin", "application/octet-stream", nil},
			} {
				for round := 0; round < 2; round++ { // first verified, then from the cache
					resp, body := get(t, "GET", f.url(tc.path))
					require.Equal(t, 200, resp.StatusCode, tc.path)
					require.True(t, bytes.Equal(tc.want, body), "%s: body differs", tc.path)
					require.Equal(t, tc.ctype, resp.Header.Get("Content-Type"), tc.path)
					require.Equal(t, fmt.Sprint(len(tc.want)), resp.Header.Get("Content-Length"), tc.path)
					require.Equal(t, `"`+sha(tc.want)+`"`, resp.Header.Get("ETag"), tc.path)
					require.Equal(t, "no-cache", resp.Header.Get("Cache-Control"), tc.path)
				}
			}

			t.Run("HEAD", func(t *testing.T) {
				resp, body := get(t, "HEAD", f.url("d/blob.bin"))
				require.Equal(t, 200, resp.StatusCode)
				require.Empty(t, body)
				require.Equal(t, fmt.Sprint(len(big)), resp.Header.Get("Content-Length"))
				require.Equal(t, `"`+sha(big)+`"`, resp.Header.Get("ETag"))
			})
			t.Run("If-None-Match", func(t *testing.T) {
				for _, p := range []string{"small.bin", "d/blob.bin"} {
					resp, body := get(t, "GET", f.url(p))
					resp2, body2 := get(t, "GET", f.url(p), "If-None-Match", resp.Header.Get("ETag"))
					require.Equal(t, 304, resp2.StatusCode)
					require.Empty(t, body2)
					require.NotEmpty(t, body)
					resp3, _ := get(t, "GET", f.url(p), "If-None-Match", `"0000"`)
					require.Equal(t, 200, resp3.StatusCode)
				}
			})
			t.Run("Range", func(t *testing.T) {
				for _, tc := range []struct {
					path string
					data []byte
				}{{"small.bin", small}, {"d/blob.bin", big}} {
					resp, body := get(t, "GET", f.url(tc.path), "Range", "bytes=100-199")
					require.Equal(t, 206, resp.StatusCode)
					require.Equal(t, tc.data[100:200], body)
					require.Equal(t, fmt.Sprintf("bytes 100-199/%d", len(tc.data)), resp.Header.Get("Content-Range"))
					resp, body = get(t, "GET", f.url(tc.path), "Range", "bytes=-10")
					require.Equal(t, 206, resp.StatusCode)
					require.Equal(t, tc.data[len(tc.data)-10:], body)
					resp, _ = get(t, "GET", f.url(tc.path), "Range", fmt.Sprintf("bytes=%d-", len(tc.data)+5))
					require.Equal(t, 416, resp.StatusCode)
				}
				resp, body := get(t, "GET", f.url("d/blob.bin"), "Range", "bytes=0-9,20-29")
				require.Equal(t, 206, resp.StatusCode)
				require.Contains(t, resp.Header.Get("Content-Type"), "multipart/byteranges")
				require.Contains(t, string(body), string(big[20:30]))
			})
			t.Run("listing", func(t *testing.T) {
				resp, body := get(t, "GET", f.url(""))
				require.Equal(t, 200, resp.StatusCode)
				require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
				page := string(body)
				for _, s := range []string{`href="./d/"`, `href="./hello.txt"`, `href="./PULP_MANIFEST"`, `href="./a&amp;b%20%3Cc%3E.txt"`, `>a&amp;b &lt;c&gt;.txt<`} {
					require.Contains(t, page, s)
				}
				require.NotContains(t, page, "<c>")
				require.NotContains(t, page, `href="../"`)
				resp, body = get(t, "GET", f.url("d/"))
				require.Equal(t, 200, resp.StatusCode)
				require.Contains(t, string(body), `href="./blob.bin"`)
				require.Contains(t, string(body), `href="./e/"`)
				require.Contains(t, string(body), `href="../"`)
				require.NotContains(t, string(body), "hello.txt")
				resp, _ = get(t, "GET", f.url("d/e/f/"))
				require.Equal(t, 200, resp.StatusCode)
				resp, _ = get(t, "GET", f.url("nodir/"))
				require.Equal(t, 404, resp.StatusCode)
				resp, _ = get(t, "HEAD", f.url("d/"))
				require.Equal(t, 200, resp.StatusCode)
			})
			t.Run("redirects", func(t *testing.T) {
				resp, _ := get(t, "GET", f.base+"/content/site/web")
				require.Equal(t, 301, resp.StatusCode)
				require.Equal(t, "/content/site/web/", resp.Header.Get("Location"))
				resp, _ = get(t, "GET", f.url("d/e"))
				require.Equal(t, 301, resp.StatusCode)
				require.Equal(t, "/content/site/web/d/e/", resp.Header.Get("Location"))
			})
			t.Run("PULP_MANIFEST", func(t *testing.T) {
				resp, body := get(t, "GET", f.url("PULP_MANIFEST"))
				require.Equal(t, 200, resp.StatusCode)
				require.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
				require.Contains(t, string(body), fmt.Sprintf("d/blob.bin,%s,%d\n", sha(big), len(big)))
				require.Equal(t, `"`+sha(body)+`"`, resp.Header.Get("ETag"))
				resp2, _ := get(t, "GET", f.url("PULP_MANIFEST"), "If-None-Match", resp.Header.Get("ETag"))
				require.Equal(t, 304, resp2.StatusCode)
			})
			t.Run("errors", func(t *testing.T) {
				for _, tc := range []struct {
					method, url string
					code        int
					text        string
				}{
					{"GET", f.base + "/content/nosuch/x", 404, "no distribution"},
					{"GET", f.base + "/content/site", 404, "no distribution"},
					{"GET", f.base + "/content/", 404, "base path"},
					{"GET", f.base + "/", 404, "/content/"},
					{"GET", f.url("missing.bin"), 404, "missing.bin"},
					{"GET", f.url("@1234/x"), 404, "version"},
					{"POST", f.url("hello.txt"), 405, "read-only"},
					{"DELETE", f.url("hello.txt"), 405, "read-only"},
				} {
					resp, body := get(t, tc.method, tc.url)
					require.Equal(t, tc.code, resp.StatusCode, "%s %s: %s", tc.method, tc.url, body)
					require.Contains(t, string(body), tc.text, "%s %s", tc.method, tc.url)
					require.Less(t, len(body), 300)
					require.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
				}
			})
		})
	}
}

func TestServeLiveChanges(t *testing.T) {
	for _, watch := range []bool{true, false} {
		t.Run(fmt.Sprintf("watch=%v", watch), func(t *testing.T) {
			f := newSrvFixture(t, "content.Serve")
			if !watch {
				f.srv = content.NewServer(f.st, f.dists, nil)
				f.base = startServer(t, "content.Serve", f.srv)
			}
			resp, body := get(t, "GET", f.url("a.txt"))
			require.Equal(t, 404, resp.StatusCode)
			require.Contains(t, string(body), "no version yet")

			for i := 0; i < 5; i++ {
				v := fmt.Sprintf("version %d\n", i)
				f.commit(map[string][]byte{"a.txt": []byte(v), fmt.Sprintf("n%d.txt", i): []byte(v)})
				resp, body = get(t, "GET", f.url("a.txt"))
				require.Equal(t, 200, resp.StatusCode)
				require.Equal(t, v, string(body), "the next request sees the new version")
				resp, _ = get(t, "GET", f.url(fmt.Sprintf("n%d.txt", i)))
				require.Equal(t, 200, resp.StatusCode)
			}
			f.commit(nil, "a.txt")
			resp, _ = get(t, "GET", f.url("a.txt"))
			require.Equal(t, 404, resp.StatusCode)

			// pin to the first version, then move and remove the distribution
			log, err := f.st.Log(f.ctx, "prod", 0)
			require.NoError(t, err)
			first := log[len(log)-1].ID
			_, err = f.dists.Update(f.ctx, "web", dist.DistSpec{Version: first.String()})
			require.NoError(t, err)
			_, body = get(t, "GET", f.url("a.txt"))
			require.Equal(t, "version 0\n", string(body))
			_, err = f.dists.Update(f.ctx, "web", dist.DistSpec{BasePath: "moved"})
			require.NoError(t, err)
			resp, _ = get(t, "GET", f.url("a.txt"))
			require.Equal(t, 404, resp.StatusCode)
			resp, body = get(t, "GET", f.base+"/content/moved/a.txt")
			require.Equal(t, 200, resp.StatusCode)
			require.Equal(t, "version 0\n", string(body))
			_, err = f.dists.Create(f.ctx, "other", dist.DistSpec{BasePath: "other/x", Repo: "prod"})
			require.NoError(t, err)
			resp, _ = get(t, "GET", f.base+"/content/other/x/n4.txt")
			require.Equal(t, 200, resp.StatusCode)
			require.NoError(t, f.dists.Delete(f.ctx, "web"))
			resp, _ = get(t, "GET", f.base+"/content/moved/a.txt")
			require.Equal(t, 404, resp.StatusCode)
		})
	}
}

func TestServeVersionURL(t *testing.T) {
	f := newSrvFixture(t, "content.Serve")
	v1 := f.commit(map[string][]byte{"a.txt": []byte("one"), "d/x.txt": []byte("x")})
	v2 := f.commit(map[string][]byte{"a.txt": []byte("two")})
	_, err := f.st.CreateRepo(f.ctx, "other", repo.CreateOptions{})
	require.NoError(t, err)
	res, err := f.st.Commit(f.ctx, "other", repo.CommitRequest{AllowEmpty: true, Message: "elsewhere"})
	require.NoError(t, err)

	for _, tc := range []struct {
		v    objects.ID
		want string
	}{{v1, "one"}, {v2, "two"}} {
		resp, body := get(t, "GET", f.url("@"+tc.v.String()+"/a.txt"))
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, tc.want, string(body))
		require.Equal(t, "public, max-age=31536000, immutable", resp.Header.Get("Cache-Control"))
		require.Equal(t, `"`+sha([]byte(tc.want))+`"`, resp.Header.Get("ETag"))
	}
	resp, body := get(t, "GET", f.url("@"+v1.String()+"/"))
	require.Equal(t, 200, resp.StatusCode)
	require.Contains(t, string(body), `href="./d/"`)
	require.Equal(t, "public, max-age=31536000, immutable", resp.Header.Get("Cache-Control"))
	resp, body = get(t, "GET", f.url("@"+v1.String()+"/PULP_MANIFEST"))
	require.Equal(t, 200, resp.StatusCode)
	require.Contains(t, string(body), "a.txt,"+sha([]byte("one")))
	resp, _ = get(t, "GET", f.url("@"+v1.String()))
	require.Equal(t, 301, resp.StatusCode)

	for _, bad := range []string{
		"@" + res.ID.String() + "/a.txt",                   // another repository's version
		"@" + objects.Sum([]byte("x")).String() + "/a.txt", // no such object
		"@" + v1.String()[:12] + "/a.txt",                  // short ids are not immutable
		"@" + v1.String() + "/missing",
	} {
		resp, _ := get(t, "GET", f.url(bad))
		require.Equal(t, 404, resp.StatusCode, bad)
	}
	// a tree id is not a version
	v, err := f.st.Version(f.ctx, v1)
	require.NoError(t, err)
	resp, _ = get(t, "GET", f.url("@"+v.Tree.String()+"/a.txt"))
	require.Equal(t, 404, resp.StatusCode)
}

func TestServeInFlightKeepsVersion(t *testing.T) {
	for _, kind := range serverKinds {
		t.Run(kind, func(t *testing.T) {
			f := newSrvFixture(t, kind)
			old := randBytes(16 << 20)
			f.commit(map[string][]byte{"big.bin": old})
			for round := 0; round < 2; round++ { // verifying stream, then sendfile
				resp, err := http.Get(f.url("big.bin"))
				require.NoError(t, err)
				head := make([]byte, 1<<20)
				_, err = io.ReadFull(resp.Body, head)
				require.NoError(t, err)
				f.commit(map[string][]byte{"big.bin": randBytes(16 << 20)})
				rest, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				resp.Body.Close()
				require.True(t, bytes.Equal(old, append(head, rest...)), "the request in flight kept its version")
				resp2, body := get(t, "GET", f.url("big.bin"))
				require.Equal(t, 200, resp2.StatusCode)
				require.False(t, bytes.Equal(old, body), "the next request sees the new version")
				f.commit(map[string][]byte{"big.bin": old})
			}
		})
	}
}

// rawRequest sends one request line verbatim and returns the status code
// and body.
func rawRequest(t *testing.T, base, target string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	defer c.Close()
	_, err = fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", target)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestServeTraversal(t *testing.T) {
	for _, kind := range serverKinds {
		t.Run(kind, func(t *testing.T) {
			f := newSrvFixture(t, kind)
			f.commit(map[string][]byte{"d/blob.bin": []byte("blob"), "x": []byte("x")})
			for _, target := range []string{
				"/content/site/web/../../etc/passwd",
				"/content/site/web/d/../../../../etc/passwd",
				"/content/site/web/%2e%2e/%2e%2e/etc/passwd",
				"/content/site/web/%2E%2E/x",
				"/content/site/web/..%2f..%2fetc/passwd",
				"/content/site/web/d%2f..%2f..%2f..%2fetc%2fpasswd",
				"/content/site/web/d%2fblob.bin",
				"/content/site/web/d%5cblob.bin",
				"/content/site/web/./x",
				"/content/site/web//x",
				"/content/site//web/x",
				"/content/site/web/x%00",
				"/content/site/web/%00",
				"/content/site/web/d/blob.bin%00.txt",
				"/content/site/web/%zz",
				"/content/..%2f..%2f..%2fetc/passwd",
				"/content/%2e%2e/etc/passwd",
			} {
				code, body := rawRequest(t, f.base, target)
				require.True(t, code >= 400 && code < 500 || code == 301 && !strings.Contains(target, "content/site/web/"), "%s gave %d", target, code)
				require.NotContains(t, body, "root:", target)
				require.NotEqual(t, "blob", body, target)
			}
			code, body := rawRequest(t, f.base, "/content/site/web/d/blob.bin")
			require.Equal(t, 200, code)
			require.Equal(t, "blob", body)
			code, _ = rawRequest(t, f.base, "/content/site/web/%64/blob.bin") // an encoded ordinary letter is fine
			require.Equal(t, 200, code)
		})
	}
}

// flip changes one byte of the raw blob file holding content.
func flip(t *testing.T, st *repo.Store, content []byte, at int) (restore func()) {
	t.Helper()
	p, ok := st.Objects().BlobPath(objects.Sum(content))
	require.True(t, ok, "blob stored raw")
	require.NoError(t, os.Chmod(p, 0o644))
	bad := bytes.Clone(content)
	bad[at] ^= 0xff
	require.NoError(t, os.WriteFile(p, bad, 0o644))
	return func() { require.NoError(t, os.WriteFile(p, content, 0o444)) }
}

func TestServeCorruptBlob(t *testing.T) {
	for _, kind := range serverKinds {
		t.Run(kind, func(t *testing.T) {
			f := newSrvFixture(t, kind, content.WithRecheck(0))
			small := randBytes(5000)
			big := randBytes(2 << 20)
			f.commit(map[string][]byte{"small.bin": small, "big.bin": big})
			for _, tc := range []struct {
				path string
				data []byte
			}{{"small.bin", small}, {"big.bin", big}} {
				for _, cachedFirst := range []bool{false, true} {
					if cachedFirst {
						_, body := get(t, "GET", f.url(tc.path))
						require.Equal(t, tc.data, body)
					}
					restore := flip(t, f.st, tc.data, len(tc.data)/2)
					resp, err := http.Get(f.url(tc.path))
					require.NoError(t, err)
					body, rerr := io.ReadAll(resp.Body)
					resp.Body.Close()
					complete := resp.StatusCode == 200 && rerr == nil && len(body) == len(tc.data)
					require.False(t, complete, "%s: a corrupt blob was served whole", tc.path)
					if resp.StatusCode == 200 {
						require.Less(t, len(body), len(tc.data), "the response is cut")
					}
					// a client resuming the cut download gets no bytes of
					// the corrupt file, nor does one asking for its start
					for _, rng := range []string{fmt.Sprintf("bytes=%d-", len(body)), "bytes=0-9"} {
						resp2, part := get(t, "GET", f.url(tc.path), "Range", rng)
						require.Equal(t, 500, resp2.StatusCode, "%s %s: %q", tc.path, rng, part)
						require.Contains(t, string(part), "corrupt")
					}
					restore()
					resp4, part := get(t, "GET", f.url(tc.path), "Range", "bytes=10-19")
					require.Equal(t, 206, resp4.StatusCode)
					require.Equal(t, tc.data[10:20], part, "a range of the repaired file is served")
					resp3, good := get(t, "GET", f.url(tc.path))
					require.Equal(t, 200, resp3.StatusCode)
					require.True(t, bytes.Equal(tc.data, good), "after the fix the file is served again")
				}
			}
		})
	}
}

// A blob recorded by BlobWritten is served without hashing, but a change
// to its file afterwards is still noticed.
func TestServeBlobWritten(t *testing.T) {
	for _, kind := range serverKinds {
		t.Run(kind, func(t *testing.T) {
			f := newSrvFixture(t, kind)
			big := randBytes(2 << 20)
			f.commit(map[string][]byte{"big.bin": big})
			f.srv.BlobWritten(objects.Sum(big))
			_, body := get(t, "GET", f.url("big.bin"))
			require.True(t, bytes.Equal(big, body))
			restore := flip(t, f.st, big, len(big)/2)
			resp, err := http.Get(f.url("big.bin"))
			require.NoError(t, err)
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.False(t, resp.StatusCode == 200 && rerr == nil && len(body) == len(big), "a changed file was served whole")
			restore()
			_, body = get(t, "GET", f.url("big.bin"))
			require.True(t, bytes.Equal(big, body))
		})
	}
}

func TestServeCompressedBlob(t *testing.T) {
	f := newSrvFixture(t, "content.Serve")
	text := bytes.Repeat([]byte("a compressible line of package metadata\n"), 20000)
	f.commit(map[string][]byte{"meta.txt": text})
	bs, err := f.st.Objects().StatBlob(f.ctx, objects.Sum(text))
	require.NoError(t, err)
	require.True(t, bs.Compressed, "stored compressed")
	for i := 0; i < 2; i++ {
		resp, body := get(t, "GET", f.url("meta.txt"))
		require.Equal(t, 200, resp.StatusCode)
		require.True(t, bytes.Equal(text, body))
		require.Equal(t, `"`+sha(text)+`"`, resp.Header.Get("ETag"))
	}
	resp, body := get(t, "GET", f.url("meta.txt"), "Range", "bytes=500000-500099")
	require.Equal(t, 206, resp.StatusCode)
	require.Equal(t, text[500000:500100], body)
	resp, body = get(t, "HEAD", f.url("meta.txt"))
	require.Equal(t, 200, resp.StatusCode)
	require.Empty(t, body)
	require.Equal(t, fmt.Sprint(len(text)), resp.Header.Get("Content-Length"))
}

func TestServeOnDemand(t *testing.T) {
	blob := randBytes(300 << 10)
	id := objects.Sum(blob)
	var mu sync.Mutex
	fetches := 0
	mode := "ok"
	fetch := func(ctx context.Context, rec repo.Record, w io.Writer) error {
		mu.Lock()
		fetches++
		m := mode
		mu.Unlock()
		if rec.SHA256 != id {
			return errors.New("unknown record")
		}
		switch m {
		case "early":
			return errors.New("remote unreachable")
		case "mismatch":
			_, _ = w.Write(blob[:100<<10])
			return fmt.Errorf("digest mismatch: %w", objects.ErrCorrupt)
		}
		_, err := w.Write(blob)
		return err
	}
	f := newSrvFixture(t, "content.Serve", content.WithFetcher(fetch))
	rec := repo.Record{Path: "remote.bin", SHA256: id, Size: int64(len(blob)),
		Metadata: map[string]string{repo.MetaRemote: "up", repo.MetaURL: "http://upstream/remote.bin"}}
	_, err := f.st.Commit(f.ctx, "prod", repo.CommitRequest{Records: []repo.Record{rec}})
	require.NoError(t, err)

	resp, body := get(t, "GET", f.url("remote.bin"))
	require.Equal(t, 200, resp.StatusCode)
	require.True(t, bytes.Equal(blob, body))
	require.Equal(t, `"`+sha(blob)+`"`, resp.Header.Get("ETag"))

	resp, _ = get(t, "GET", f.url("remote.bin"), "If-None-Match", `"`+sha(blob)+`"`)
	require.Equal(t, 304, resp.StatusCode)
	resp, _ = get(t, "HEAD", f.url("remote.bin"))
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, fmt.Sprint(len(blob)), resp.Header.Get("Content-Length"))
	mu.Lock()
	require.Equal(t, 1, fetches, "304 and HEAD need no fetch")
	mode = "mismatch"
	mu.Unlock()

	r2, err := http.Get(f.url("remote.bin"))
	require.NoError(t, err)
	got, rerr := io.ReadAll(r2.Body)
	r2.Body.Close()
	require.Error(t, rerr, "a mismatch mid-stream breaks the transfer")
	require.Less(t, len(got), len(blob))

	mu.Lock()
	mode = "early"
	mu.Unlock()
	resp, body = get(t, "GET", f.url("remote.bin"))
	require.Equal(t, 502, resp.StatusCode)
	require.Contains(t, string(body), "remote unreachable")

	noFetch := content.NewServer(f.st, f.dists, nil)
	resp, _ = get(t, "GET", startServer(t, "content.Serve", noFetch)+"/content/site/web/remote.bin")
	require.Equal(t, 503, resp.StatusCode)
}

func TestServeMissingBlob(t *testing.T) {
	f := newSrvFixture(t, "content.Serve")
	data := []byte("will vanish")
	f.commit(map[string][]byte{"gone.txt": data})
	p, ok := f.st.Objects().BlobPath(objects.Sum(data))
	require.True(t, ok)
	require.NoError(t, os.Remove(p))
	resp, body := get(t, "GET", f.url("gone.txt"))
	require.Equal(t, 500, resp.StatusCode)
	require.Contains(t, string(body), "fsck")
}

// TestServeMemStore serves from a store without local files (objects and
// refs in memory): blobs go through the object store's verifying reader.
func TestServeMemStore(t *testing.T) {
	ctx, st, dists := memDists(t)
	big := randBytes(1 << 20)
	text := bytes.Repeat([]byte("compressible "), 50000)
	dir := t.TempDir()
	var adds []repo.Add
	for name, data := range map[string][]byte{"big.bin": big, "text.txt": text} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o644))
		adds = append(adds, repo.Add{Path: name, File: p})
	}
	_, err := st.Commit(ctx, "r", repo.CommitRequest{Adds: adds})
	require.NoError(t, err)
	_, err = dists.Create(ctx, "d", dist.DistSpec{BasePath: "d", Repo: "r"})
	require.NoError(t, err)
	base := startServer(t, "content.Serve", content.NewServer(st, dists, nil))
	for name, data := range map[string][]byte{"big.bin": big, "text.txt": text} {
		resp, body := get(t, "GET", base+"/content/d/"+name)
		require.Equal(t, 200, resp.StatusCode)
		require.True(t, bytes.Equal(data, body), name)
		resp, body = get(t, "GET", base+"/content/d/"+name, "Range", "bytes=1000-1999")
		require.Equal(t, 206, resp.StatusCode)
		require.Equal(t, data[1000:2000], body)
	}
}

// A distribution changed through another Store on the same directory, as
// by another process, is served at once with the refs watch too: the watch
// sees the metadata store change.
func TestServeNoticesOtherProcess(t *testing.T) {
	f := newSrvFixture(t, "net/http")
	f.commit(map[string][]byte{"a.txt": []byte("one\n")})
	resp, body := get(t, "GET", f.url("a.txt"))
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "one\n", string(body))

	other, err := fsstore.OpenDir(f.ctx, filepath.Join(f.dir, "store"), all.Kinds())
	require.NoError(t, err)
	od := dist.NewDists(other)
	_, err = od.Update(f.ctx, "web", dist.DistSpec{BasePath: "elsewhere"})
	require.NoError(t, err)
	resp, _ = get(t, "GET", f.url("a.txt"))
	require.Equal(t, 404, resp.StatusCode)
	resp, body = get(t, "GET", f.base+"/content/elsewhere/a.txt")
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "one\n", string(body))
	require.NoError(t, od.Delete(f.ctx, "web"))
	resp, _ = get(t, "GET", f.base+"/content/elsewhere/a.txt")
	require.Equal(t, 404, resp.StatusCode)
}

// An on-demand record whose digest names a blob stored later by another
// record, but whose size is not that blob's, is never served that blob:
// not from the file, not from the memory the other record's GET filled.
func TestServeRecordOfOtherSize(t *testing.T) {
	blob := randBytes(3000)
	f := newSrvFixture(t, "content.Serve", content.WithFetcher(func(context.Context, repo.Record, io.Writer) error {
		return errors.New("no fetch expected")
	}))
	lie := repo.Record{Path: "lie.bin", SHA256: objects.Sum(blob), Size: int64(len(blob)) + 5,
		Metadata: map[string]string{repo.MetaRemote: "up", repo.MetaURL: "http://upstream/lie.bin"}}
	_, err := f.st.Commit(f.ctx, "prod", repo.CommitRequest{Records: []repo.Record{lie}})
	require.NoError(t, err)
	f.commit(map[string][]byte{"real.bin": blob})

	for range 2 { // the second time, real.bin's bytes are in memory
		resp, body := get(t, "GET", f.url("real.bin"))
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, blob, body)
		resp, _ = get(t, "GET", f.url("lie.bin"))
		require.Equal(t, 500, resp.StatusCode, "lie.bin says %d bytes, its blob has %d", lie.Size, len(blob))
	}
}
