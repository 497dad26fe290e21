package content_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	metamem "github.com/pkgvc/pkgvc/meta/mem"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/objects"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
)

func TestOpsEndpoints(t *testing.T) {
	for _, kind := range serverKinds {
		t.Run(kind, func(t *testing.T) {
			f := newSrvFixture(t, kind)
			f.commit(map[string][]byte{"a.txt": []byte("hello\n")})

			resp, body := get(t, http.MethodGet, f.base+content.HealthPath)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, "ok\n", string(body))

			resp, body = get(t, http.MethodGet, f.base+content.ReadyPath)
			require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
			require.Equal(t, "ok\n", string(body))

			before := requests(t, f.base, "content", "200")
			for range 3 {
				resp, body = get(t, http.MethodGet, f.url("a.txt"))
				require.Equal(t, http.StatusOK, resp.StatusCode)
				require.Equal(t, "hello\n", string(body))
			}
			resp, _ = get(t, http.MethodGet, f.url("missing.txt"))
			require.Equal(t, http.StatusNotFound, resp.StatusCode)

			resp, body = get(t, http.MethodGet, f.base+content.MetricsPath)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			m := string(body)
			require.Contains(t, m, "# HELP pkgvc_http_requests_total")
			require.Contains(t, m, "# HELP pkgvc_http_request_duration_seconds")
			require.Contains(t, m, "# HELP pkgvc_http_response_bytes_total")
			require.Contains(t, m, `pkgvc_cache_entries{cache="blobs"}`)
			require.Contains(t, m, `pkgvc_ondemand_fetches_total{result="ok"} 0`)
			require.Equal(t, before+3, requests(t, f.base, "content", "200"))
			require.Equal(t, 1, requests(t, f.base, "content", "404"))
			require.Positive(t, requests(t, f.base, "healthz", "200"))
			require.NotContains(t, m, "a.txt", "routes, never raw paths, label the metrics")
			require.Regexp(t, `pkgvc_http_response_bytes_total\{route="content"\} [1-9]`, m)
		})
	}
}

// requests reads the request counter of route and code from /metrics.
func requests(t *testing.T, base, route, code string) int {
	t.Helper()
	_, body := get(t, http.MethodGet, base+content.MetricsPath)
	re := regexp.MustCompile(`(?m)^pkgvc_http_requests_total\{code="` + code + `",route="` + route + `"\} (\d+)$`)
	m := re.FindSubmatch(body)
	if m == nil {
		return 0
	}
	n, err := strconv.Atoi(string(m[1]))
	require.NoError(t, err)
	return n
}

// failingRefs is a ref store whose listing fails, as an unreadable refs
// directory does.
type failingRefs struct{ *refsmem.Backend }

var errUnreadable = errors.New("open refs: permission denied")

func (failingRefs) List(context.Context, string, func(string, objects.ID) error) error {
	return errUnreadable
}

func TestReadyzUnhealthy(t *testing.T) {
	t.Run("failing refs", func(t *testing.T) {
		st := repo.New(objects.New(objectsmem.New()), failingRefs{refsmem.New()}, all.Kinds(), repo.WithMeta(metamem.New()))
		srv := content.NewServer(st, dist.NewDists(st), nil)
		base := startServer(t, "content.Serve", srv)
		resp, body := get(t, http.MethodGet, base+content.ReadyPath)
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		require.Contains(t, string(body), "permission denied")
		resp, _ = get(t, http.MethodGet, base+content.HealthPath)
		require.Equal(t, http.StatusOK, resp.StatusCode, "alive while not ready")
		require.ErrorIs(t, srv.Ready(context.Background()), errUnreadable)
	})
	t.Run("ready check", func(t *testing.T) {
		errDown := errors.New("disk gone")
		f := newSrvFixture(t, "content.Serve", content.WithReadyCheck(func(context.Context) error { return errDown }))
		resp, body := get(t, http.MethodGet, f.base+content.ReadyPath)
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		require.Equal(t, "not ready: disk gone\n", string(body))
	})
	t.Run("unreadable refs dir", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads a directory of mode 000")
		}
		f := newSrvFixture(t, "content.Serve")
		refsDir := filepath.Join(f.dir, "store", "refs")
		require.NoError(t, os.Chmod(refsDir, 0))
		t.Cleanup(func() { _ = os.Chmod(refsDir, 0o755) })
		resp, _ := get(t, http.MethodGet, f.base+content.ReadyPath)
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	})
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and localhost
// and its key to dir, and returns their paths and the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pkgvc test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err = x509.ParseCertificate(der)
	require.NoError(t, err)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600))
	return certFile, keyFile, cert
}

func TestListenAndServeTLS(t *testing.T) {
	f := newSrvFixture(t, "content.Serve")
	data := make([]byte, 300<<10) // larger than a response buffer
	_, _ = rand.Read(data)
	f.commit(map[string][]byte{"a.txt": []byte("hello\n"), "big.bin": data})
	certFile, keyFile, cert := selfSigned(t, t.TempDir())
	cfg, err := content.TLSConfig(certFile, keyFile)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- content.ListenAndServeTLS(ctx, "127.0.0.1:0", cfg, f.srv, nil, func(a net.Addr) { addrs <- a })
	}()
	var base string
	select {
	case a := <-addrs:
		base = "https://" + a.String()
	case err := <-done:
		t.Fatal(err)
	}
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()

	pool := x509.NewCertPool()
	pool.AddCert(cert)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer c.CloseIdleConnections()
	for _, tc := range []struct{ path, want string }{
		{"/content/site/web/a.txt", "hello\n"},
		{"/content/site/web/big.bin", string(data)},
		{"/content/site/web/a.txt", "hello\n"}, // again on the kept-alive connection
		{content.HealthPath, "ok\n"},
	} {
		resp, err := c.Get(base + tc.path)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "HTTP/1.1", resp.Proto)
		require.NotNil(t, resp.TLS)
		require.True(t, tc.want == string(body), tc.path)
	}

	// A client that does not trust the certificate fails the handshake.
	_, err = http.Get(base + content.HealthPath)
	require.Error(t, err)

	if curl, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command(curl, "-sSf", "--max-time", "20", "--cacert", certFile, base+"/content/site/web/a.txt").CombinedOutput()
		require.NoError(t, err, "curl: %s", out)
		require.Equal(t, "hello\n", string(out))
	}

	_, err = content.TLSConfig(certFile, filepath.Join(t.TempDir(), "none.pem"))
	require.Error(t, err)
}
