package content_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/content"
)

// serveTest runs h behind content.Serve and returns the address and a stop
// function that shuts down and returns Serve's result.
func serveTest(t *testing.T, h http.Handler) (string, func() error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- content.Serve(ctx, l, h, nil) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { _ = stop() })
	return l.Addr().String(), stop
}

// rawConn sends raw bytes and reads responses from one connection.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (r *rawConn) send(s string) {
	_, err := io.WriteString(r.c, s)
	require.NoError(r.t, err)
}

func (r *rawConn) read(method string) (*http.Response, string) {
	resp, err := http.ReadResponse(r.br, &http.Request{Method: method})
	require.NoError(r.t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(r.t, err)
	return resp, string(body)
}

// closed reports whether the server closed the connection.
func (r *rawConn) closed() bool {
	_ = r.c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := r.br.ReadByte()
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout()) // EOF, or a reset
}

func TestConnServer(t *testing.T) {
	big := strings.Repeat("0123456789", 10000)
	var panics atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/small", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, big) }) // no length: chunked
	mux.HandleFunc("/sized", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(big)))
		io.WriteString(w, big)
	})
	mux.HandleFunc("/short", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, "only this")
	})
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "part1,")
		w.(http.Flusher).Flush()
		io.WriteString(w, "part2")
	})
	mux.HandleFunc("/nm", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(304) })
	mux.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) {
		panics.Add(1)
		io.WriteString(w, "partial")
		panic(http.ErrAbortHandler)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s %s", r.Method, r.URL.Path, r.Host, r.RemoteAddr)
	})
	addr, stop := serveTest(t, mux)

	t.Run("keep-alive and pipelining", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.send("GET /small HTTP/1.1\r\nHost: a\r\n\r\nGET /sized HTTP/1.1\r\nHost: a\r\n\r\nHEAD /small HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, body := c.read("GET")
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, "hello", body)
		require.Equal(t, int64(5), resp.ContentLength)
		require.NotEmpty(t, resp.Header.Get("Date"))
		resp, body = c.read("GET")
		require.Equal(t, big, body)
		resp, body = c.read("HEAD")
		require.Equal(t, 200, resp.StatusCode)
		require.Empty(t, body)
		c.send("GET /echo HTTP/1.1\r\nHost: h.example\r\n\r\n")
		_, body = c.read("GET")
		require.True(t, strings.HasPrefix(body, "GET /echo h.example 127.0.0.1:"), body)
	})
	t.Run("chunked and flushed", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.send("GET /big HTTP/1.1\r\nHost: a\r\n\r\nGET /flush HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, body := c.read("GET")
		require.Equal(t, []string{"chunked"}, resp.TransferEncoding)
		require.Equal(t, big, body)
		resp, body = c.read("GET")
		require.Equal(t, "part1,part2", body)
		require.Equal(t, []string{"chunked"}, resp.TransferEncoding)
	})
	t.Run("304 has no body", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.send("GET /nm HTTP/1.1\r\nHost: a\r\n\r\nGET /small HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, _ := c.read("GET")
		require.Equal(t, 304, resp.StatusCode)
		require.Empty(t, resp.Header.Get("Content-Length"))
		_, body := c.read("GET")
		require.Equal(t, "hello", body)
	})
	t.Run("HTTP/1.0", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.send("GET /small HTTP/1.0\r\n\r\n")
		resp, body := c.read("GET")
		require.Equal(t, "hello", body)
		require.True(t, resp.Close)
		require.True(t, c.closed())
		c = dialRaw(t, addr)
		c.send("GET /small HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /small HTTP/1.0\r\n\r\n")
		resp, body = c.read("GET")
		require.Equal(t, "hello", body)
		require.Equal(t, "keep-alive", resp.Header.Get("Connection"))
		_, body = c.read("GET")
		require.Equal(t, "hello", body)
		c = dialRaw(t, addr)
		c.send("GET /big HTTP/1.0\r\n\r\n")
		resp, body = c.read("GET")
		require.Equal(t, big, body, "length unknown: the body ends with the connection")
	})
	t.Run("cut short", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.send("GET /short HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, err := http.ReadResponse(c.br, nil)
		require.NoError(t, err)
		_, err = io.ReadAll(resp.Body)
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	})
	t.Run("panic closes", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.send("GET /panic HTTP/1.1\r\nHost: a\r\n\r\n")
		require.True(t, c.closed())
		require.Equal(t, int32(1), panics.Load())
	})
	t.Run("bad requests", func(t *testing.T) {
		for _, tc := range []struct {
			req  string
			code int
		}{
			{"GARBAGE\r\n\r\n", 400},
			{"GET /small HTTP/1.1\r\n\r\n", 400}, // no Host
			{"GET /small HTTP/2.0\r\nHost: a\r\n\r\n", 505},
			{"GET /small HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("x", 2<<20) + "\r\n\r\n", 431},
			{"GET /small HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501}, // net/http: not implemented
		} {
			c := dialRaw(t, addr)
			go c.send(tc.req) // may block on a large header the server stops reading
			resp, _ := c.read("GET")
			require.Equal(t, tc.code, resp.StatusCode, tc.req[:min(len(tc.req), 40)])
			require.True(t, c.closed())
		}
	})
	t.Run("both framings", func(t *testing.T) {
		// Transfer-Encoding wins (RFC 9112 6.3): the chunked body is
		// read by its framing, Content-Length's byte is not taken from
		// the next request, which is answered as such (no smuggling).
		c := dialRaw(t, addr)
		c.send("GET /small HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /echo HTTP/1.1\r\nHost: b\r\n\r\n")
		resp, body := c.read("GET")
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, "hello", body)
		_, body = c.read("GET")
		require.True(t, strings.HasPrefix(body, "GET /echo b "), body)
	})
	t.Run("keep-alive after a request body", func(t *testing.T) {
		// The body, unread by the handler, is discarded by its framing:
		// never read as a request, and the connection goes on.
		smuggled := "GET /echo HTTP/1.1\r\nHost: s\r\n\r\n"
		for _, framing := range []string{
			fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(smuggled), smuggled),
			fmt.Sprintf("Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(smuggled), smuggled),
		} {
			c := dialRaw(t, addr)
			c.send("POST /small HTTP/1.1\r\nHost: a\r\n" + framing + "GET /small HTTP/1.1\r\nHost: a\r\n\r\n")
			resp, body := c.read("POST")
			require.Equal(t, "hello", body)
			require.False(t, resp.Close)
			_, body = c.read("GET")
			require.Equal(t, "hello", body, "the next request, not the body")
			require.False(t, c.closed(), "nothing more: the body was not answered")
		}
	})
	t.Run("Go client", func(t *testing.T) {
		for i := 0; i < 20; i++ {
			resp, err := http.Get("http://" + addr + "/sized")
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, big, string(body))
		}
	})

	// shutdown: an idle connection is closed, a request in flight finishes
	idle := dialRaw(t, addr)
	idle.send("GET /small HTTP/1.1\r\nHost: a\r\n\r\n")
	idle.read("GET")
	require.NoError(t, stop())
	require.True(t, idle.closed())
	_, err := net.DialTimeout("tcp", addr, time.Second)
	require.Error(t, err, "no longer accepting")
}

func TestConnServerGracefulShutdown(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "finished")
	})
	addr, stop := serveTest(t, h)
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	select {
	case <-stopped:
		t.Fatal("shutdown did not wait for the request in flight")
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	require.Equal(t, "finished", <-got)
	require.NoError(t, <-stopped)
}

// A handler that panics is answered 500 (its stack logged), and the
// server goes on answering.
func TestConnServerPanicIs500(t *testing.T) {
	var logs lockedBuffer
	mux := http.NewServeMux()
	mux.HandleFunc("/crash", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Partial", "1")
		var m map[string]int
		m["x"] = 1 // nil map: a runtime panic
	})
	// Once body bytes are written, net/http has them: the connection is
	// aborted, the client sees an error, never a truncated 200.
	mux.HandleFunc("/crash-late", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		var m map[string]int
		m["x"] = 1
	})
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- content.Serve(ctx, l, mux, slog.New(slog.NewTextHandler(&logs, nil))) }()
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + l.Addr().String()

	for range 3 {
		resp, err := http.Get(base + "/crash")
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
		require.Empty(t, resp.Header.Get("X-Partial"))
		_, err = http.Get(base + "/crash-late")
		require.Error(t, err)
		resp, err = http.Get(base + "/ok")
		require.NoError(t, err)
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, "ok", string(body))
	}
	require.Contains(t, logs.String(), "handler panic")
	require.Contains(t, logs.String(), "assignment to entry in nil map")
	require.Contains(t, logs.String(), "server_http_test.go", "the stack is logged")
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
