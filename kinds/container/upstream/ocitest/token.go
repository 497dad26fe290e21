package ocitest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/stretchr/testify/require"
)

// TokenUser and TokenPassword are the login the token service of a
// registry started with StartTokenAuth accepts.
const (
	TokenUser     = "tokenuser"
	TokenPassword = "token-s3cret"
	tokenService  = "pkgvc-test-registry"
	tokenIssuer   = "pkgvc-test-issuer"
)

// TokenServer is the token service of StartTokenAuth: the registry
// answers requests without a token with a Bearer challenge naming it, as
// Docker Hub does. It grants pull and push to TokenUser, and nothing to
// anonymous or wrong logins (their tokens carry no access, so the
// registry refuses them).
type TokenServer struct {
	URL    string       // its realm, http://localhost:port/token
	Issued atomic.Int32 // tokens granting access
	key    *ecdsa.PrivateKey
	cert   []byte // DER, self-signed: the registry's root bundle
}

// StartTokenAuth starts docker-registry with token authentication (the
// registry Bearer flow) and its token service; the registry's Auth is
// TokenUser's login, which go-containerregistry trades for tokens.
func StartTokenAuth(t testing.TB) (*Registry, *TokenServer) {
	t.Helper()
	ts := newTokenServer(t)
	bundle := filepath.Join(t.TempDir(), "token-root.pem")
	require.NoError(t, os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.cert}), 0o644))
	r := Start(t, fmt.Sprintf("auth:\n  token:\n    realm: %s\n    service: %s\n    issuer: %s\n    rootcertbundle: %s\n",
		ts.URL, tokenService, tokenIssuer, bundle))
	r.Auth = &authn.Basic{Username: TokenUser, Password: TokenPassword}
	return r, ts
}

func newTokenServer(t testing.TB) *TokenServer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: tokenIssuer},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	ts := &TokenServer{key: key, cert: cert}
	srv := httptest.NewServer(http.HandlerFunc(ts.serveToken))
	t.Cleanup(srv.Close)
	// By host name: go-containerregistry refuses a token service at a
	// private IP literal other than the registry's own host and port.
	ts.URL = strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/token"
	return ts
}

type access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// serveToken answers GET /token?service=...&scope=repository:NAME:ACTIONS.
func (ts *TokenServer) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("service") != tokenService {
		http.Error(w, "unknown service", http.StatusBadRequest)
		return
	}
	user, pw, hasLogin := r.BasicAuth()
	granted := []access{}
	if hasLogin && user == TokenUser && pw == TokenPassword {
		for _, scope := range r.URL.Query()["scope"] {
			parts := strings.Split(scope, ":")
			if len(parts) == 3 && parts[0] == "repository" {
				granted = append(granted, access{Type: "repository", Name: parts[1], Actions: strings.Split(parts[2], ",")})
			}
		}
	} else if hasLogin {
		http.Error(w, `{"details":"incorrect username or password"}`, http.StatusUnauthorized)
		return
	}
	if len(granted) > 0 {
		ts.Issued.Add(1)
	}
	tok, err := ts.sign(user, granted)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"token": tok, "access_token": tok, "expires_in": 300, "issued_at": time.Now().UTC().Format(time.RFC3339)})
}

// sign makes a JWT (ES256, the certificate in x5c) the registry accepts.
func (ts *TokenServer) sign(sub string, granted []access) (string, error) {
	now := time.Now()
	var jti [8]byte
	_, _ = rand.Read(jti[:])
	header, err := json.Marshal(map[string]any{"typ": "JWT", "alg": "ES256", "x5c": []string{base64.StdEncoding.EncodeToString(ts.cert)}})
	if err != nil {
		return "", err
	}
	claims, err := json.Marshal(map[string]any{
		"iss": tokenIssuer, "sub": sub, "aud": tokenService,
		"exp": now.Add(5 * time.Minute).Unix(), "nbf": now.Add(-time.Minute).Unix(), "iat": now.Unix(),
		"jti": fmt.Sprintf("%x", jti), "access": granted,
	})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	rr, ss, err := ecdsa.Sign(rand.Reader, ts.key, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64) // JWS ES256: r and s, 32 bytes each
	rr.FillBytes(sig[:32])
	ss.FillBytes(sig[32:])
	return signing + "." + enc.EncodeToString(sig), nil
}
