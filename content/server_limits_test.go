package content_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/kinds/python/publication"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/uploads"
)

// smallBufListener shrinks the send buffer of the connections it accepts,
// so that a client that reads slowly holds the server's writes back
// after a few KiB rather than a few MiB.
type smallBufListener struct{ net.Listener }

func (l smallBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(16 << 10)
	}
	return c, err
}

// serveLimited runs h behind content.Serve with opts until the test ends.
func serveLimited(t *testing.T, h http.Handler, opts ...content.ServeOption) string {
	t.Helper()
	return serveOn(t, func(l net.Listener) net.Listener { return l }, h, opts...)
}

// serveOn is serveLimited with the listener wrapped by wrap.
func serveOn(t *testing.T, wrap func(net.Listener) net.Listener, h http.Handler, opts ...content.ServeOption) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- content.Serve(ctx, wrap(smallBufListener{l}), h, nil, opts...) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return l.Addr().String()
}

// dialSmall connects with a small receive buffer.
func dialSmall(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).SetReadBuffer(16<<10))
	t.Cleanup(func() { c.Close() })
	return c
}

// waitClosed reads c until the server closes it and returns how long
// that took; it fails the test after limit.
func waitClosed(t *testing.T, c net.Conn, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	require.NoError(t, c.SetReadDeadline(start.Add(limit)))
	_, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server did not close the connection within %s", limit)
	}
	return time.Since(start)
}

func TestReadHeaderTimeout(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	addr := serveLimited(t, h, content.WithReadHeaderTimeout(300*time.Millisecond), content.WithIdleTimeout(time.Minute))

	// drip sends a header a line at a time, never ending it.
	drip := func(c net.Conn, stop <-chan struct{}) {
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(c, "X-%d: y\r\n", i); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}

	t.Run("first request", func(t *testing.T) {
		c := dialSmall(t, addr)
		stop := make(chan struct{})
		defer close(stop)
		start := time.Now()
		_, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n")
		require.NoError(t, err)
		go drip(c, stop)
		waitClosed(t, c, 10*time.Second)
		require.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond)
	})
	t.Run("keep-alive", func(t *testing.T) {
		c := dialSmall(t, addr)
		br := bufio.NewReader(c)
		get := func() {
			_, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			require.NoError(t, err)
			resp, err := http.ReadResponse(br, nil)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, "ok", string(body))
		}
		get()
		time.Sleep(time.Second) // idle longer than the header timeout: still open
		get()
		stop := make(chan struct{})
		defer close(stop)
		_, err := io.WriteString(c, "GET / HTTP/1.1\r\n")
		require.NoError(t, err)
		go drip(c, stop)
		_, err = br.ReadByte()
		require.Error(t, err, "a slow header is cut off")
	})
}

func TestIdleTimeout(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	addr := serveLimited(t, h, content.WithIdleTimeout(300*time.Millisecond))
	c := dialSmall(t, addr)
	_, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, c.SetReadDeadline(start.Add(10*time.Second)))
	_, err = br.ReadByte()
	require.ErrorIs(t, err, io.EOF)
	require.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond)
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// copyResult is what a handler's copy of a large body did.
type copyResult struct {
	n   int64
	err error
}

// bigHandler answers size zero bytes and reports how its copy went.
func bigHandler(size int64, results chan<- copyResult) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		n, err := io.Copy(w, io.LimitReader(zeros{}, size))
		results <- copyResult{n, err}
	})
}

func TestWriteTimeout(t *testing.T) {
	const size = 512 << 10
	results := make(chan copyResult, 4)
	addr := serveLimited(t, bigHandler(size, results), content.WithWriteTimeout(250*time.Millisecond))

	t.Run("stalled reader is dropped", func(t *testing.T) {
		c := dialSmall(t, addr)
		_, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		require.NoError(t, err)
		select {
		case res := <-results:
			require.Error(t, res.err)
			require.Less(t, res.n, int64(size))
		case <-time.After(10 * time.Second):
			t.Fatal("a client that does not read holds the server")
		}
		waitClosed(t, c, 10*time.Second)
	})
	t.Run("slow steady reader completes", func(t *testing.T) {
		// About 160 KB/s: each 64 KiB write of the server takes longer
		// than the write timeout, but bytes keep flowing.
		c := dialSmall(t, addr)
		_, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		start := time.Now()
		var got int64
		buf := make([]byte, 8<<10)
		for {
			n, err := io.ReadFull(resp.Body, buf)
			got += int64(n)
			if err != nil {
				require.ErrorIs(t, err, io.EOF)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		require.Equal(t, int64(size), got)
		require.Greater(t, time.Since(start), time.Second, "the reader was slow")
		res := <-results
		require.NoError(t, res.err)
	})
}

func TestMaxHeaderBytes(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	addr := serveLimited(t, h, content.WithMaxHeaderBytes(8<<10))
	for _, tc := range []struct {
		size, code int
	}{{4 << 10, 200}, {64 << 10, 431}} {
		c := dialSmall(t, addr)
		go fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: a\r\nX: %s\r\n\r\n", strings.Repeat("x", tc.size))
		require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		require.Equal(t, tc.code, resp.StatusCode, "header of %d bytes", tc.size)
	}
}

// TestMaxBodyBytes uploads more than WithMaxBodyBytes allows, with a
// declared length and chunked: 413 either way, readable by a client still
// sending its body.
func TestMaxBodyBytes(t *testing.T) {
	ctx := context.Background()
	st, err := fsstore.OpenDir(ctx, filepath.Join(t.TempDir(), "store"), all.Kinds())
	require.NoError(t, err)
	_, err = st.CreateRepo(ctx, "pyrepo", repo.CreateOptions{Kind: "python"})
	require.NoError(t, err)
	dists := dist.NewDists(st)
	_, err = dists.Create(ctx, "pyweb", dist.DistSpec{BasePath: "pypi", Repo: "pyrepo"})
	require.NoError(t, err)
	tokens := auth.New(st)
	_, secret, err := tokens.Create(ctx, auth.CreateOptions{Name: "ci", Scopes: []auth.Scope{mustScope(t, "repo:pyrepo:write")}})
	require.NoError(t, err)
	srv := content.NewServer(st, dists, publish.NewPublications(st, publish.NewRegistry(publication.New()), 8),
		content.WithAuth(tokens), content.WithMaxBodyBytes(32<<10), content.WithUploads(uploads.New(st)))
	addr := serveLimited(t, srv)

	var form strings.Builder
	mw := multipart.NewWriter(&form)
	require.NoError(t, mw.WriteField(":action", "file_upload"))
	fw, err := mw.CreateFormFile("content", "big-1.0-py3-none-any.whl")
	require.NoError(t, err)
	_, err = fw.Write(make([]byte, 1<<20))
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	body := form.String()

	for _, chunked := range []bool{false, true} {
		c := dialSmall(t, addr)
		framing := "Content-Length: " + strconv.Itoa(len(body))
		if chunked {
			framing = "Transfer-Encoding: chunked"
		}
		go func() {
			fmt.Fprintf(c, "POST /content/pypi/legacy/ HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\n%s\r\n\r\n",
				secret, mw.FormDataContentType(), framing)
			if chunked {
				for rest := body; rest != ""; {
					n := min(len(rest), 8<<10)
					if _, err := fmt.Fprintf(c, "%x\r\n%s\r\n", n, rest[:n]); err != nil {
						return
					}
					rest = rest[n:]
				}
				io.WriteString(c, "0\r\n\r\n")
			} else {
				io.WriteString(c, body)
			}
		}()
		require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err, "chunked %v", chunked)
		msg, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "chunked %v: %s", chunked, msg)
		require.Contains(t, string(msg), strconv.Itoa(32<<10))
	}
}

func mustScope(t *testing.T, s string) auth.Scope {
	t.Helper()
	sc, err := auth.ParseScope(s)
	require.NoError(t, err)
	return sc
}

// readRefusal reads what the server answers on c: a 503 and a close.
func readRefusal(t *testing.T, c net.Conn) {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err, "a refused connection is answered")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	waitClosed(t, c, 5*time.Second)
}

// fromListener gives the connections it accepts the remote address *from
// holds then, as if clients of that address had connected (a host has a
// single IPv6 loopback address).
type fromListener struct {
	net.Listener
	from *atomic.Pointer[net.TCPAddr]
}

func (l fromListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	return fromConn{c, l.from.Load()}, nil
}

type fromConn struct {
	net.Conn
	from *net.TCPAddr
}

func (c fromConn) RemoteAddr() net.Addr { return c.from }

// TestMaxConns: past the connections one address may hold, or all
// addresses together, a new connection is answered 503 and closed; once
// one closes, the next is served.
func TestMaxConns(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	get := func(c net.Conn) {
		t.Helper()
		_, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		require.NoError(t, err)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	for _, tc := range []struct {
		name           string
		total, perAddr int
		held           int
	}{{"per address", 100, 3, 3}, {"total", 2, 100, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			addr := serveLimited(t, h, content.WithMaxConns(tc.total, tc.perAddr))
			var held []net.Conn
			for range tc.held {
				c := dialSmall(t, addr)
				get(c) // served, and kept open
				held = append(held, c)
			}
			readRefusal(t, dialSmall(t, addr))
			held[0].Close()
			require.Eventually(t, func() bool {
				c := dialSmall(t, addr)
				defer c.Close()
				_, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
				require.NoError(t, err)
				require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				return err == nil && resp.StatusCode == http.StatusOK
			}, 5*time.Second, 20*time.Millisecond, "a closed connection makes room")
			get(held[1]) // the held ones go on
		})
	}

	// Over IPv6 a client commonly holds a whole /64: its addresses count
	// together, while another /64 is another client.
	t.Run("per IPv6 /64", func(t *testing.T) {
		var from atomic.Pointer[net.TCPAddr]
		addr := serveOn(t, func(l net.Listener) net.Listener { return fromListener{l, &from} }, h, content.WithMaxConns(100, 3))
		dialFrom := func(ip string) net.Conn {
			from.Store(&net.TCPAddr{IP: net.ParseIP(ip), Port: 40000})
			return dialSmall(t, addr)
		}
		for i := range 3 {
			get(dialFrom(fmt.Sprintf("2001:db8:1:2::%d", i+1)))
		}
		readRefusal(t, dialFrom("2001:db8:1:2:ffff:ffff:ffff:ffff"))
		get(dialFrom("2001:db8:1:3::1"))
		for range 3 {
			get(dialFrom("::ffff:192.0.2.1")) // the same client as 192.0.2.1
		}
		readRefusal(t, dialFrom("192.0.2.1"))
	})
}

// TestStalledDownloadsMemory: clients that ask for a large file and never
// read hold little server memory each. It measures the live heap, which a
// loaded machine can blur: see liveHeap.
func TestStalledDownloadsMemory(t *testing.T) {
	const n = 200
	results := make(chan copyResult, n)
	var started atomic.Int32
	big := bigHandler(64<<20, results)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started.Add(1)
		big.ServeHTTP(w, r)
	})
	addr := serveLimited(t, h, content.WithWriteTimeout(time.Minute), content.WithMaxConns(2*n, 2*n))
	before := liveHeap()
	for range n {
		c := dialSmall(t, addr)
		_, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return started.Load() == n }, time.Minute, 10*time.Millisecond, "every download starts")
	time.Sleep(500 * time.Millisecond) // each fills its socket buffers, then waits in a write
	per := (liveHeap() - before) / n
	t.Logf("%d KiB of heap per stalled download", per>>10)
	// Some 70 KiB (64 KiB of it the copy buffer); with the 256 KiB copy
	// buffers it had, some 290 KiB. The bound leaves room for noise.
	require.Less(t, per, int64(160<<10), "heap per stalled download")
}

// liveHeap returns the bytes of live heap: the least of a few samples,
// so that what other goroutines allocate meanwhile counts as little as
// possible, each after two collections, the second of which frees what
// sync.Pools held (a pool keeps its objects through one), so that buffers
// pooled earlier are neither counted nor reused unseen.
func liveHeap() int64 {
	least := int64(math.MaxInt64)
	for range 5 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		least = min(least, int64(m.HeapAlloc))
		time.Sleep(20 * time.Millisecond)
	}
	return least
}
