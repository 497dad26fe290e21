package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
)

// writeSelfSigned writes a self-signed certificate for 127.0.0.1 and its
// key to dir and returns their paths.
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pkgvc test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:        true, BasicConstraintsValid: true,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600))
	return certFile, keyFile
}

// TestServeTLSAndOps runs `pkgvc serve --tls-cert --tls-key` and reads
// content and the operational endpoints over HTTPS.
func TestServeTLSAndOps(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "prod")
	h.commit("prod", "--add", h.file("a.txt", []byte("hello\n"))+"=a.txt")
	ctx := context.Background()
	st, err := fsstore.OpenDir(ctx, h.store, all.Kinds())
	require.NoError(t, err)
	_, err = dist.NewDists(st).Create(ctx, "web", dist.DistSpec{BasePath: "site/web", Repo: "prod"})
	require.NoError(t, err)
	certFile, keyFile := writeSelfSigned(t, t.TempDir())

	addr := freeAddr(t)
	sctx, cancel := context.WithCancel(ctx)
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(sctx, []string{"pkgvc", "--store", h.store, "serve", "--listen", addr, "--tls-cert", certFile, "--tls-key", keyFile}, &stdout, &stderr)
	}()
	defer func() {
		cancel()
		require.Equal(t, 0, <-done, "stderr: %s", stderr.String())
		require.Contains(t, stdout.String(), "https://"+addr+"/content/")
	}()

	pemData, err := os.ReadFile(certFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pemData))
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer c.CloseIdleConnections()
	getBody := func(path string) (int, string) {
		resp, err := c.Get("https://" + addr + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	require.Eventually(t, func() bool {
		resp, err := c.Get("https://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond, "serve did not start: %s", stderr.String())

	code, body := getBody("/content/site/web/a.txt")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "hello\n", body)
	code, body = getBody("/readyz")
	require.Equal(t, http.StatusOK, code, body)
	code, body = getBody("/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `pkgvc_http_requests_total{code="200",route="content"} 1`)
	require.Contains(t, body, "# HELP go_goroutines")
	require.Contains(t, body, "# HELP process_cpu_seconds_total")

	if curl, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command(curl, "-sSf", "--max-time", "20", "--cacert", certFile, "https://"+addr+"/content/site/web/a.txt").CombinedOutput()
		require.NoError(t, err, "curl: %s", out)
		require.Equal(t, "hello\n", string(out))
		out, err = exec.Command(curl, "-sSf", "--max-time", "20", "--http2", "-o", "/dev/null", "-w", "%{http_version}",
			"--cacert", certFile, "https://"+addr+"/content/site/web/a.txt").CombinedOutput()
		require.NoError(t, err, "curl: %s", out)
		require.Equal(t, "2", string(out), "curl --http2 gets HTTP/2 over TLS")
	}
}

// TestServeH2CAndKeepAlive runs `pkgvc serve --h2c` and asks it with curl:
// HTTP/2 with prior knowledge, HTTP/1.1 otherwise, and a connection kept
// across requests with bodies.
func TestServeH2CAndKeepAlive(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	h := newHarness(t)
	h.ok("repo", "create", "prod")
	h.commit("prod", "--add", h.file("a.txt", []byte("hello\n"))+"=a.txt")
	h.ok("dist", "create", "web", "--base-path", "site/web", "--repo", "prod")
	addr := freeAddr(t)
	sctx, cancel := context.WithCancel(context.Background())
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(sctx, []string{"pkgvc", "--store", h.store, "serve", "--listen", addr, "--h2c"}, io.Discard, &stderr)
	}()
	defer func() {
		cancel()
		require.Equal(t, 0, <-done, "stderr: %s", stderr.String())
	}()
	url := "http://" + addr + "/content/site/web/a.txt"
	require.Eventually(t, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond, "serve did not start: %s", stderr.String())
	curlOut := func(args ...string) string {
		out, err := exec.Command(curl, append([]string{"-sS", "--max-time", "20"}, args...)...).CombinedOutput()
		require.NoError(t, err, "curl %v: %s", args, out)
		return string(out)
	}
	require.Equal(t, "hello\n 2", curlOut("--http2-prior-knowledge", "-w", " %{http_version}", url))
	require.Equal(t, "1.1", curlOut("-o", "/dev/null", "-w", "%{http_version}", url))
	require.Equal(t, "1 0 ", curlOut("-o", "/dev/null", "-o", "/dev/null", "-w", "%{num_connects} ", "-d", "a=b", url, url),
		"one connection for two requests with bodies")
}

func TestServeTLSFlagsTogether(t *testing.T) {
	h := newHarness(t)
	certFile, _ := writeSelfSigned(t, t.TempDir())
	r := h.run("serve", "--listen", freeAddr(t), "--tls-cert", certFile)
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "--tls-key")
	r = h.run("serve", "--listen", freeAddr(t), "--tls-cert", certFile, "--tls-key", filepath.Join(h.work, "missing.pem"))
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "tls")
}
