package content

import (
	"bufio"
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
	"strconv"
	"testing"
	"time"

	"github.com/pkgvc/pkgvc/internal/clientaddr"
	"github.com/stretchr/testify/require"
)

// TestWriteTimeoutTLS checks that, over TLS (where a timed-out write is
// fatal), a slow but steady reader still gets a large response and a
// client that stops reading is dropped.
func TestWriteTimeoutTLS(t *testing.T) {
	const size = 512 << 10
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
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}

	results := make(chan error, 4)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		_, err := io.Copy(w, io.LimitReader(rand.Reader, size))
		results <- err
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	// As ListenAndServeTLS, with small send buffers.
	go func() { done <- serve(ctx, smallSendBuf{l}, cfg, h, nil, WithWriteTimeout(500*time.Millisecond)) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	dial := func() net.Conn {
		raw, err := net.Dial("tcp", l.Addr().String())
		require.NoError(t, err)
		require.NoError(t, raw.(*net.TCPConn).SetReadBuffer(16<<10))
		t.Cleanup(func() { raw.Close() })
		c := tls.Client(raw, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
		require.NoError(t, c.Handshake())
		_, err = io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		require.NoError(t, err)
		return c
	}

	c := dial()
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
	require.NoError(t, <-results)

	dial() // and never reads
	select {
	case err := <-results:
		require.Error(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("a TLS client that does not read holds the server")
	}
}

type smallSendBuf struct{ net.Listener }

func (l smallSendBuf) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(16 << 10)
	}
	return c, err
}

func TestAddrKey(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.7:5000":                       "192.0.2.7",
		"[::ffff:192.0.2.7]:5000":              "192.0.2.7", // IPv4-mapped: the IPv4 client
		"[2001:db8:1:2::1]:5000":               "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff:ffff:ffff:ffff]:1": "2001:db8:1:2::/64", // the same host's /64
		"[2001:db8:1:3::1]:5000":               "2001:db8:1:3::/64",
		"[fe80::1%eth0]:5000":                  "fe80::/64",
		"[::1]:5000":                           "::/64",
		"pipe":                                 "pipe",
	} {
		require.Equal(t, want, clientaddr.Key(remote), remote)
	}
}
