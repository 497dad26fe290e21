package content_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/content"
)

// tlsPair returns a server TLS configuration as content.TLSConfig
// makes it, for 127.0.0.1, and a pool that trusts it.
func tlsPair(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
	}, pool
}

func protoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.Proto+" "+string(body))
	})
}

func getProto(t *testing.T, c *http.Client, url, body string) string {
	t.Helper()
	resp, err := c.Post(url, "text/plain", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return string(b)
}

// TestServeHTTP2TLS: over TLS a client that offers h2 gets HTTP/2, one
// that does not HTTP/1.1.
func TestServeHTTP2TLS(t *testing.T) {
	cfg, pool := tlsPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- content.ListenAndServeTLS(ctx, "127.0.0.1:0", cfg, protoHandler(), nil, func(a net.Addr) { addrs <- a })
	}()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	url := "https://" + (<-addrs).String() + "/"

	h2 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	defer h2.CloseIdleConnections()
	require.Equal(t, "HTTP/2.0 a=b", getProto(t, h2, url, "a=b"))
	h1 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}} // a custom TLS config: HTTP/1.1 only
	defer h1.CloseIdleConnections()
	require.Equal(t, "HTTP/1.1 a=b", getProto(t, h1, url, "a=b"))
}

// TestServeH2C: with WithH2C a client with prior knowledge speaks HTTP/2
// without TLS; HTTP/1.1 clients are served as before; without the
// option, HTTP/2 is refused.
func TestServeH2C(t *testing.T) {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Transport: &http.Transport{Protocols: &p}}
	defer h2c.CloseIdleConnections()

	addr := serveLimited(t, protoHandler(), content.WithH2C())
	require.Equal(t, "HTTP/2.0 x", getProto(t, h2c, "http://"+addr+"/", "x"))
	require.Equal(t, "HTTP/1.1 x", getProto(t, http.DefaultClient, "http://"+addr+"/", "x"))

	addr = serveLimited(t, protoHandler())
	_, err := h2c.Get("http://" + addr + "/")
	require.Error(t, err, "no h2c unless asked")
}

// TestKeepAliveAfterBody: requests with bodies, read or not by their
// handler, keep their connection.
func TestKeepAliveAfterBody(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/read", protoHandler())
	mux.HandleFunc("/unread", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusMethodNotAllowed)
	})
	addr := serveLimited(t, mux)
	var conns int
	tr := &http.Transport{DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		conns++
		return (&net.Dialer{}).DialContext(ctx, network, a)
	}}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	for i := range 6 {
		path := "/read"
		if i%2 == 1 {
			path = "/unread"
		}
		resp, err := c.Post("http://"+addr+path, "text/plain", strings.NewReader(strings.Repeat("b", 10<<10)))
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	require.Equal(t, 1, conns, "one connection for all")
}

// TestContextCancel: a request's context is cancelled when its client
// goes away, over HTTP/1.1 and h2c.
func TestContextCancel(t *testing.T) {
	started := make(chan struct{}, 4)
	cancelled := make(chan struct{}, 4)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		select {
		case <-r.Context().Done():
			cancelled <- struct{}{}
		case <-time.After(20 * time.Second):
		}
	})
	addr := serveLimited(t, h, content.WithH2C())
	wait := func(ch chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal(what)
		}
	}

	c := dialSmall(t, addr)
	_, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	require.NoError(t, err)
	wait(started, "the request did not start")
	c.Close()
	wait(cancelled, "HTTP/1.1: the context lives on after the client left")

	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Transport: &http.Transport{Protocols: &p}}
	defer h2c.CloseIdleConnections()
	rctx, rcancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, "http://"+addr+"/", nil)
	require.NoError(t, err)
	go func() {
		<-started
		rcancel() // the stream is reset, the connection stays
	}()
	_, err = h2c.Do(req)
	require.Error(t, err)
	wait(cancelled, "HTTP/2: the context lives on after the stream was reset")
}

// TestShutdownCancels: a shutdown lets requests in flight finish for the
// grace period, then cancels their contexts, and Serve returns once
// their handlers have.
func TestShutdownCancels(t *testing.T) {
	started := make(chan struct{})
	returned := make(chan time.Time, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done() // only a cancel ends it
		returned <- time.Now()
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- content.Serve(ctx, l, h, nil, content.WithShutdownTimeout(300*time.Millisecond)) }()
	go func() {
		resp, err := http.Get("http://" + l.Addr().String() + "/")
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	stop := time.Now()
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the grace period")
	}
	at := <-returned // Serve waited for the handler
	require.GreaterOrEqual(t, at.Sub(stop), 250*time.Millisecond, "the grace period came first")
}
