package httpx_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/httpx"
)

var fast = httpx.Backoff{Base: time.Millisecond, Max: 2 * time.Millisecond}

func get(t *testing.T, c *httpx.Client, url string) (string, error) {
	t.Helper()
	resp, err := c.Get(context.Background(), url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestBackoff(t *testing.T) {
	b := httpx.Backoff{Base: 100 * time.Millisecond, Max: time.Second}
	for n, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		for range 50 {
			d := b.Delay(n)
			require.GreaterOrEqual(t, d, want/2, "retry %d", n)
			require.LessOrEqual(t, d, want, "retry %d", n)
		}
	}
	require.LessOrEqual(t, httpx.Backoff{}.Delay(100), httpx.DefaultBackoffMax)
}

func TestGetRetries(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/flaky":
			if n.Add(1) < 3 {
				w.Header().Set("Retry-After", "0")
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			_, _ = io.WriteString(w, "ok")
		case "/forbidden":
			n.Add(1)
			http.Error(w, "no", http.StatusForbidden)
		}
	}))
	defer srv.Close()
	c, err := httpx.New(httpx.Config{Retries: 3, Backoff: fast})
	require.NoError(t, err)
	body, err := get(t, c, srv.URL+"/flaky")
	require.NoError(t, err)
	require.Equal(t, "ok", body)
	require.EqualValues(t, 3, n.Load())

	n.Store(0)
	_, err = get(t, c, srv.URL+"/forbidden")
	var se *httpx.StatusError
	require.True(t, errors.As(err, &se))
	require.Equal(t, http.StatusForbidden, se.StatusCode)
	require.EqualValues(t, 1, n.Load(), "403 is final")

	// Connection refused is retried, then reported.
	c0, err := httpx.New(httpx.Config{Retries: 2, Backoff: fast})
	require.NoError(t, err)
	_, err = get(t, c0, "http://127.0.0.1:1/x")
	require.Error(t, err)
	require.True(t, httpx.Retryable(context.Background(), err))
}

// TestRequestHeaderAndHead: Request sends the caller's header fields on
// every attempt, retries as Get does, and makes HEAD requests.
func TestRequestHeaderAndHead(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/x-test" {
			http.Error(w, "wrong Accept: "+r.Header.Get("Accept"), http.StatusNotAcceptable)
			return
		}
		if n.Add(1) < 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("X-Method", r.Method)
		_, _ = io.WriteString(w, "hello")
	}))
	defer srv.Close()
	c, err := httpx.New(httpx.Config{Retries: 3, Backoff: fast, UserAgent: "pkgvc-test"})
	require.NoError(t, err)
	h := http.Header{"Accept": {"application/x-test"}}
	resp, err := c.Request(context.Background(), http.MethodGet, srv.URL, h)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, "hello", string(b))
	require.EqualValues(t, 2, n.Load(), "the retry sent Accept too")

	resp, err = c.Request(context.Background(), http.MethodHead, srv.URL, h)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.MethodHead, resp.Header.Get("X-Method"))
	require.EqualValues(t, 5, resp.ContentLength)

	_, err = c.Request(context.Background(), http.MethodGet, srv.URL, nil)
	var se *httpx.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusNotAcceptable, se.StatusCode)
}

func TestBasicAuth(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, os.WriteFile(pw, []byte("s3cret\n"), 0o600))
	seen := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok {
			seen <- "none"
			http.Error(w, "auth", http.StatusUnauthorized)
			return
		}
		seen <- u + ":" + p
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	c, err := httpx.New(httpx.Config{Username: "me", PasswordFile: pw, AuthHost: host})
	require.NoError(t, err)
	_, err = get(t, c, srv.URL+"/a")
	require.NoError(t, err)
	require.Equal(t, "me:s3cret", <-seen)

	// A rotated password is used at once.
	require.NoError(t, os.WriteFile(pw, []byte("rotated"), 0o600))
	_, err = get(t, c, srv.URL+"/a")
	require.NoError(t, err)
	require.Equal(t, "me:rotated", <-seen)

	// Other hosts never see the credentials.
	other, err := httpx.New(httpx.Config{Username: "me", PasswordFile: pw, AuthHost: "elsewhere:1"})
	require.NoError(t, err)
	_, err = get(t, other, srv.URL+"/a")
	require.Error(t, err)
	require.Equal(t, "none", <-seen)
}

func TestProxy(t *testing.T) {
	var saw atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		saw.Store(r.URL.String())
		_, _ = io.WriteString(w, "via proxy")
	}))
	defer proxy.Close()
	c, err := httpx.New(httpx.Config{Proxy: proxy.URL})
	require.NoError(t, err)
	body, err := get(t, c, "http://upstream.invalid/PULP_MANIFEST")
	require.NoError(t, err)
	require.Equal(t, "via proxy", body)
	require.Equal(t, "http://upstream.invalid/PULP_MANIFEST", saw.Load())

	_, err = httpx.New(httpx.Config{Proxy: "::"})
	require.ErrorIs(t, err, httpx.ErrConfig)
}

// Proxy credentials come from a file, read again for every connection, and
// go to the proxy only (never to the upstream as Authorization).
func TestProxyAuth(t *testing.T) {
	seen := make(chan [2]string, 4)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- [2]string{r.Header.Get("Proxy-Authorization"), r.Header.Get("Authorization")}
		_, _ = io.WriteString(w, "via proxy")
	}))
	defer proxy.Close()
	pw := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, os.WriteFile(pw, []byte("s3cret\n"), 0o600))
	c, err := httpx.New(httpx.Config{Proxy: proxy.URL, ProxyUsername: "me", ProxyPasswordFile: pw})
	require.NoError(t, err)
	_, err = get(t, c, "http://upstream.invalid/a")
	require.NoError(t, err)
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	require.Equal(t, [2]string{basic("me", "s3cret"), ""}, <-seen)

	require.NoError(t, os.WriteFile(pw, []byte("rotated\n"), 0o600))
	c.CloseIdleConnections()
	_, err = get(t, c, "http://upstream.invalid/b")
	require.NoError(t, err)
	require.Equal(t, basic("me", "rotated"), (<-seen)[0])

	_, err = httpx.New(httpx.Config{Proxy: proxy.URL, ProxyUsername: "me", ProxyPasswordFile: filepath.Join(t.TempDir(), "none")})
	require.ErrorIs(t, err, httpx.ErrConfig)
}

// writePEM writes DER blocks of type typ to a new file.
func writePEM(t *testing.T, typ string, der []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), strings.ToLower(strings.ReplaceAll(typ, " ", "-"))+".pem")
	require.NoError(t, os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	return f
}

// selfSigned makes a certificate and key usable as a client certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pkgvc test client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	cert, err = x509.ParseCertificate(der)
	require.NoError(t, err)
	return writePEM(t, "CERTIFICATE", der), writePEM(t, "EC PRIVATE KEY", kder), cert
}

func TestTLS(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "secure")
	}))
	clientCert, clientKey, ccert := selfSigned(t)
	pool := x509.NewCertPool()
	pool.AddCert(ccert)
	srv.TLS = &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool}
	srv.StartTLS()
	defer srv.Close()
	ca := writePEM(t, "CERTIFICATE", srv.Certificate().Raw)

	// Unknown CA: a certificate error, not retried.
	c, err := httpx.New(httpx.Config{Retries: 3, Backoff: fast})
	require.NoError(t, err)
	_, err = get(t, c, srv.URL)
	require.Error(t, err)
	require.False(t, httpx.Retryable(context.Background(), err), "%v", err)
	require.Zero(t, hits.Load())

	c, err = httpx.New(httpx.Config{CACertFile: ca})
	require.NoError(t, err)
	body, err := get(t, c, srv.URL)
	require.NoError(t, err)
	require.Equal(t, "secure", body)

	c, err = httpx.New(httpx.Config{TLSInsecure: true})
	require.NoError(t, err)
	_, err = get(t, c, srv.URL)
	require.NoError(t, err)

	// A server that requires a client certificate.
	strict := httptest.NewUnstartedServer(srv.Config.Handler)
	strict.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	strict.StartTLS()
	defer strict.Close()
	ca2 := writePEM(t, "CERTIFICATE", strict.Certificate().Raw)
	c, err = httpx.New(httpx.Config{CACertFile: ca2})
	require.NoError(t, err)
	_, err = get(t, c, strict.URL)
	require.Error(t, err, "no client certificate")
	c, err = httpx.New(httpx.Config{CACertFile: ca2, ClientCertFile: clientCert, ClientKeyFile: clientKey})
	require.NoError(t, err)
	body, err = get(t, c, strict.URL)
	require.NoError(t, err)
	require.Equal(t, "secure", body)

	_, err = httpx.New(httpx.Config{ClientCertFile: clientCert})
	require.ErrorIs(t, err, httpx.ErrConfig)
	_, err = httpx.New(httpx.Config{ClientCertFile: clientCert, ClientKeyFile: ca})
	require.ErrorIs(t, err, httpx.ErrConfig)
}

func TestOpenSizeMismatch(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "12345")
	}))
	defer srv.Close()
	c, err := httpx.New(httpx.Config{Retries: 3, Backoff: fast})
	require.NoError(t, err)
	_, err = c.Open(context.Background(), srv.URL, 4)
	require.ErrorIs(t, err, httpx.ErrSizeMismatch)
	rc, err := c.Open(context.Background(), srv.URL, -1)
	require.NoError(t, err)
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	require.Equal(t, "12345", string(b))
}

func TestReadTimeout(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		_, _ = io.WriteString(w, "12345")
		w.(http.Flusher).Flush()
		if n.Add(1) == 1 {
			time.Sleep(500 * time.Millisecond) // stall mid-body once
		}
		_, _ = io.WriteString(w, "67890")
	}))
	defer srv.Close()
	c, err := httpx.New(httpx.Config{ReadTimeout: 100 * time.Millisecond, Retries: 1, Backoff: fast})
	require.NoError(t, err)
	rc, err := c.Open(context.Background(), srv.URL, 10)
	require.NoError(t, err)
	start := time.Now()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	require.Equal(t, "1234567890", string(b))
	require.Less(t, time.Since(start), 450*time.Millisecond, "the stall was cut short")
	require.EqualValues(t, 2, n.Load())

	// Without retries the timeout is the error.
	n.Store(0)
	c, err = httpx.New(httpx.Config{ReadTimeout: 100 * time.Millisecond})
	require.NoError(t, err)
	rc, err = c.Open(context.Background(), srv.URL, 10)
	require.NoError(t, err)
	_, err = io.ReadAll(rc)
	require.ErrorIs(t, err, httpx.ErrReadTimeout)
	require.NoError(t, rc.Close())
}

func TestOpenCancel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer srv.Close()
	c, err := httpx.New(httpx.Config{Retries: 50, Backoff: httpx.Backoff{Base: time.Second, Max: time.Second}})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Open(ctx, srv.URL, 1)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 900*time.Millisecond)
}
