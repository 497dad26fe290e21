package content_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/content"
)

// A client that sends "Expect: 100-continue" and waits for the interim
// response before sending its body (as curl does for large uploads, and
// as a strict client does forever) must get "100 Continue" when the
// handler starts reading the body.
func TestExpectContinueNotHeld(t *testing.T) {
	addr, _ := serveTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, "got "+string(b))
	}))
	c := dialRaw(t, addr)
	c.send("PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	require.NoError(t, c.c.SetReadDeadline(time.Now().Add(3*time.Second)))
	line, err := c.br.ReadString('\n')
	require.NoError(t, err, "no 100 Continue within 3s")
	require.True(t, strings.HasPrefix(line, "HTTP/1.1 100"), line)
}

// pauseHandler writes a first part, flushes, pauses for pause (a handler
// streaming from a slow source: an on-demand fetch from a remote), then
// writes the rest.
func pauseHandler(pause time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first ")
		w.(http.Flusher).Flush()
		time.Sleep(pause)
		_, _ = io.WriteString(w, "second")
	})
}

// A handler that pauses between writes longer than the write timeout
// (streaming from a slow source: an on-demand fetch from a remote) while
// the client reads everything completes, over HTTP/1.1 and HTTP/2 (h2c
// here, TLS alike): an HTTP/2 stream's write deadline is a timer that
// resets the stream when it fires, so it runs only during a write.
func TestH2PauseBetweenWritesCompletes(t *testing.T) {
	addr := serveLimited(t, pauseHandler(1500*time.Millisecond), content.WithWriteTimeout(time.Second), content.WithH2C())

	resp, err := http.Get("http://" + addr + "/")
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, "first second", string(b), "HTTP/1.1")

	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Transport: &http.Transport{Protocols: &p}}
	defer h2c.CloseIdleConnections()
	resp, err = h2c.Get("http://" + addr + "/")
	require.NoError(t, err)
	require.Equal(t, 2, resp.ProtoMajor)
	b, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err, "HTTP/2: stream reset by the write-deadline timer while the handler wrote nothing (got %q)", b)
	require.Equal(t, "first second", string(b))
}

// A handler that waits longer than the idle timeout before it reads the
// body (an upload waiting for its session's lock), while the client has
// sent it all, reads the body, over HTTP/1.1 and HTTP/2: the read
// deadline is armed at the first read (on HTTP/2 it is a timer that fails
// the body when it fires).
func TestH2BodyReadAfterWait(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(1500 * time.Millisecond)
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read: "+err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = w.Write(b)
	})
	addr := serveLimited(t, h, content.WithIdleTimeout(time.Second), content.WithH2C())
	post := func(c *http.Client) (int, string) {
		resp, err := c.Post("http://"+addr+"/", "text/plain", strings.NewReader(strings.Repeat("p", 4<<20)))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := post(http.DefaultClient)
	require.Equal(t, 200, code, "%.200s", body)
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Transport: &http.Transport{Protocols: &p}}
	defer h2c.CloseIdleConnections()
	code, body = post(h2c)
	require.Equal(t, 200, code, "HTTP/2: %.200s", body)
}

// A request with "Expect: 100-continue" that the handler refuses without
// reading its body (401 to an upload without a token, 413 to one too
// large) is answered at once, the body never asked for, as by net/http:
// it closes the connection after the reply when the request's body is
// still its own, untouched expectContinueReader.
func TestExpectContinueRefusalAnsweredAtOnce(t *testing.T) {
	addr := serveLimited(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	}), content.WithIdleTimeout(5*time.Second))
	c := dialRaw(t, addr)
	c.send("POST /legacy/ HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n")
	require.NoError(t, c.c.SetReadDeadline(time.Now().Add(2*time.Second)))
	start := time.Now()
	resp, err := http.ReadResponse(c.br, nil)
	require.NoError(t, err, "no answer within 2s (stock net/http answers at once)")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	t.Logf("answered after %s", time.Since(start))
}

// With a real curl: an upload of more than 1 MiB (curl then sends
// "Expect: 100-continue") gets its 100 Continue at once, not after curl's
// expect timeout (5 s here, 1 s by default).
func TestCurlUploadNoExpectDelay(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("no curl")
	}
	addr, _ := serveTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%d", n)
	}))
	f := filepath.Join(t.TempDir(), "up.bin")
	require.NoError(t, os.WriteFile(f, make([]byte, 2<<20), 0o644))
	start := time.Now()
	out, err := exec.Command(curl, "-sS", "--expect100-timeout", "5", "-T", f, "http://"+addr+"/up").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Equal(t, "2097152", string(out))
	took := time.Since(start)
	require.Less(t, took, 2*time.Second, "curl waited its expect timeout: the 100 Continue never came")
}

// smuggleHandler reads the body, closes it (as `defer r.Body.Close()`
// does) and answers 400 on a read error; it names every path it serves.
func smuggleHandler(seen chan<- string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.URL.Path
		_, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
}

const smuggle = "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
	"5\r\nhello\r\nZZ\r\n" + // a malformed chunk size
	"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"

// A request whose chunked body is malformed, read and closed by its
// handler, does not leave its connection open: what follows on the wire
// is the rest of a broken body, not a request. net/http closes it
// ("Body was closed in handler with non-EOF error") when the request it
// owns still carries its own body.
func TestMalformedChunkedBodyClosesConnection(t *testing.T) {
	seen := make(chan string, 4)
	addr, _ := serveTest(t, smuggleHandler(seen))
	c := dialRaw(t, addr)
	c.send(smuggle)
	resp, _ := c.read("POST")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "/upload", <-seen)
	select {
	case p := <-seen:
		t.Fatalf("served %s from the bytes after a malformed body", p)
	case <-time.After(time.Second):
	}
}
