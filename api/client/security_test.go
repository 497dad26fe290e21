package client_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/api/client"
	"github.com/pkgvc/pkgvc/api/local"
	"github.com/pkgvc/pkgvc/api/server"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/internal/auth"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// apiStatus returns the HTTP status of an API error.
func apiStatus(t *testing.T, err error) int {
	t.Helper()
	var e *client.Error
	require.ErrorAs(t, err, &e)
	return e.Status
}

// TestRemoteServerFiles: only a store-wide admin may point a remote at
// files of the server, which a sync would read and send upstream.
func TestRemoteServerFiles(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	admin := e.client(e.admin)
	remAdmin := e.client(e.token("rem", "remote:up:admin"))
	url := upstream(t, map[string]string{"a.txt": "a"})
	secret := writeFile(t, t.TempDir(), "secret", "hunter2\n")

	for _, r := range []remote.Remote{
		{Name: "up", Kind: "file", URL: url, Username: "u", PasswordFile: secret},
		{Name: "up", Kind: "file", URL: url, CACert: secret},
		{Name: "up", Kind: "file", URL: url, ClientCert: secret, ClientKey: secret},
		{Name: "up", Kind: "file", URL: url, ClientKey: "/nonexistent"},
	} {
		_, err := remAdmin.CreateRemote(ctx, r)
		require.ErrorIs(t, err, auth.ErrForbidden)
		require.Equal(t, http.StatusForbidden, apiStatus(t, err))
		require.Contains(t, err.Error(), "*:*:admin")
		require.NotContains(t, err.Error(), "no such file")
	}
	_, err := remAdmin.CreateRemote(ctx, remote.Remote{Name: "up", Kind: "file", URL: url, Username: "u", PasswordFile: secret})
	require.Contains(t, err.Error(), "password_file")

	// Without files it may create and change the remote.
	_, err = remAdmin.CreateRemote(ctx, remote.Remote{Name: "up", Kind: "file", URL: url})
	require.NoError(t, err)
	for _, field := range []string{"password_file", "ca_cert", "client_cert", "client_key"} {
		p := api.RemotePatch{}
		require.NoError(t, p.Set(field, secret))
		_, err = remAdmin.UpdateRemote(ctx, "up", p)
		require.ErrorIs(t, err, auth.ErrForbidden, field)
		require.Contains(t, err.Error(), field)
	}

	// An admin sets a password file; the remote admin changes other
	// fields, may send the same value back, but not reset or change it.
	p := api.RemotePatch{}
	require.NoError(t, p.Set("username", "u"))
	require.NoError(t, p.Set("password_file", secret))
	_, err = admin.UpdateRemote(ctx, "up", p)
	require.NoError(t, err)
	p = api.RemotePatch{}
	require.NoError(t, p.Set("include", []string{"*.txt"}))
	require.NoError(t, p.Set("password_file", secret))
	_, err = remAdmin.UpdateRemote(ctx, "up", p)
	require.NoError(t, err)
	_, err = remAdmin.UpdateRemote(ctx, "up", api.RemotePatch{"password_file": []byte(`""`)})
	require.ErrorIs(t, err, auth.ErrForbidden, "a reset is a change")

	// Why a file does not load is the admin's business.
	require.NoError(t, os.Remove(secret))
	p = api.RemotePatch{}
	require.NoError(t, p.Set("include", []string{"a*"}))
	_, err = remAdmin.UpdateRemote(ctx, "up", p)
	require.ErrorIs(t, err, repo.ErrInvalid)
	require.Contains(t, err.Error(), "cannot read its password file")
	require.NotContains(t, err.Error(), "no such file")
	_, err = admin.UpdateRemote(ctx, "up", p)
	require.ErrorIs(t, err, repo.ErrInvalid)
	require.Contains(t, err.Error(), "no such file")
}

// TestRemoteCredentialDestination: where a remote holding credentials
// sends them (url, proxy, proxy_username, tls_insecure) is changed only by
// a token that may name the credential files (*:*:admin); a remote admin
// changes it on a remote without credentials, and the remote's other
// fields on one with them.
func TestRemoteCredentialDestination(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	admin := e.client(e.admin)
	remAdmin := e.client(e.token("rem", "remote:up:admin"))
	url := upstream(t, map[string]string{"a.txt": "a"})
	elsewhere := upstream(t, map[string]string{"b.txt": "b"})
	secret := writeFile(t, t.TempDir(), "secret", "hunter2\n")
	certFile, keyFile := clientCert(t)
	patch := func(kv ...any) api.RemotePatch {
		p := api.RemotePatch{}
		for i := 0; i < len(kv); i += 2 {
			require.NoError(t, p.Set(kv[i].(string), kv[i+1]))
		}
		return p
	}
	moves := []api.RemotePatch{
		patch("url", elsewhere),
		patch("proxy", "http://127.0.0.1:3128"),
		patch("proxy_username", "someone"),
		patch("tls_insecure", true),
	}

	// No credentials: the remote admin moves it freely.
	_, err := remAdmin.CreateRemote(ctx, remote.Remote{Name: "up", Kind: "file", URL: url})
	require.NoError(t, err)
	for _, p := range moves {
		_, err := remAdmin.UpdateRemote(ctx, "up", p)
		require.NoError(t, err, "%s", p)
	}
	_, err = admin.DeleteRemote(ctx, "up", false)
	require.NoError(t, err)

	for _, creds := range []api.RemotePatch{
		patch("username", "u", "password_file", secret),
		patch("proxy_username", "p", "proxy_password_file", secret),
		patch("client_cert", certFile, "client_key", keyFile),
	} {
		_, err := admin.CreateRemote(ctx, remote.Remote{Name: "up", Kind: "file", URL: url, Proxy: "http://127.0.0.1:3129", ProxyUsername: "p"})
		require.NoError(t, err)
		_, err = admin.UpdateRemote(ctx, "up", creds)
		require.NoError(t, err)
		for _, p := range moves {
			_, err := remAdmin.UpdateRemote(ctx, "up", p)
			require.ErrorIs(t, err, auth.ErrForbidden, "%s after %s", p, creds)
			require.Equal(t, http.StatusForbidden, apiStatus(t, err))
			require.Contains(t, err.Error(), "*:*:admin")
		}
		r, err := admin.ShowRemote(ctx, "up")
		require.NoError(t, err)
		require.Equal(t, url, r.URL, "unchanged")
		// The same values sent back, and other fields, are the remote
		// admin's to change.
		_, err = remAdmin.UpdateRemote(ctx, "up", patch("url", url, "proxy", r.Proxy, "proxy_username", r.ProxyUsername, "include", []string{"*.txt"}))
		require.NoError(t, err)
		for _, p := range moves {
			_, err := admin.UpdateRemote(ctx, "up", p)
			require.NoError(t, err, "%s by an admin", p)
		}
		r, err = admin.ShowRemote(ctx, "up")
		require.NoError(t, err)
		require.Equal(t, elsewhere, r.URL)
		_, err = admin.DeleteRemote(ctx, "up", false)
		require.NoError(t, err)
	}
}

// clientCert writes a self-signed certificate and its key as PEM files.
func clientCert(t *testing.T) (certFile, keyFile string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile = writeFile(t, dir, "client.crt", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	keyFile = writeFile(t, dir, "client.key", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})))
	return certFile, keyFile
}

// TestCommitForeignBlob: a commit may name a blob by digest only if the
// repository holds it already or the token uploaded it.
func TestCommitForeignBlob(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	admin := e.client(e.admin)
	for _, r := range []string{"dev", "secret"} {
		_, err := admin.CreateRepo(ctx, r, repo.CreateOptions{})
		require.NoError(t, err)
	}
	dir := t.TempDir()
	_, err := admin.Commit(ctx, "secret", repo.CommitRequest{Adds: []repo.Add{{Path: "s.txt", File: writeFile(t, dir, "s.txt", "top secret")}}})
	require.NoError(t, err)
	stolen := objects.Sum([]byte("top secret"))

	ciTok := e.token("ci", "repo:dev:write")
	ci := e.client(ciTok)
	_, err = ci.Commit(ctx, "dev", repo.CommitRequest{Records: []repo.Record{{Path: "stolen.txt", SHA256: stolen, Size: 10}}})
	require.ErrorIs(t, err, auth.ErrForbidden)
	require.Contains(t, err.Error(), "blob sha256:"+stolen.String()+" was not uploaded by this token")
	_, _, err = ci.Cat(ctx, "dev", "stolen.txt")
	require.Error(t, err)

	// Uploading the bytes proves the token has them.
	_, err = ci.Commit(ctx, "dev", repo.CommitRequest{Adds: []repo.Add{{Path: "mine.txt", File: writeFile(t, dir, "mine.txt", "top secret")}}})
	require.NoError(t, err)
	// A blob dev holds may be committed again under another path.
	_, err = ci.Commit(ctx, "dev", repo.CommitRequest{Records: []repo.Record{{Path: "copy.txt", SHA256: stolen, Size: 10}}})
	require.NoError(t, err)

	// Another token's upload is not this token's.
	id, err := ci.PutBlob(ctx, strings.NewReader("ci only"), 7, objects.ID{})
	require.NoError(t, err)
	ci2 := e.client(e.token("ci2", "repo:dev:write"))
	_, err = ci2.Commit(ctx, "dev", repo.CommitRequest{Records: []repo.Record{{Path: "x.txt", SHA256: id, Size: 7}}})
	require.ErrorIs(t, err, auth.ErrForbidden)

	// A server restarted between the upload and the commit remembers it.
	srv2, err := server.New(e.svc, e.tokens, server.WithUploadDir(e.uploadDir))
	require.NoError(t, err)
	ts2 := httptest.NewServer(srv2)
	t.Cleanup(ts2.Close)
	c2, err := client.New(ts2.URL, ciTok, client.WithHTTPClient(&http.Client{Transport: e.spec.transport(t, http.DefaultTransport)}))
	require.NoError(t, err)
	_, err = c2.Commit(ctx, "dev", repo.CommitRequest{Records: []repo.Record{{Path: "later.txt", SHA256: id, Size: 7}}})
	require.NoError(t, err)

	// A resumed upload still counts as the token's.
	cut := &cutter{next: http.DefaultTransport, n: 1000}
	c3, err := client.New(e.ts.URL, ciTok, client.WithHTTPClient(&http.Client{Transport: e.spec.transport(t, cut)}),
		client.WithChunkSize(4096), client.WithRetries(3, time.Millisecond))
	require.NoError(t, err)
	big := writeFile(t, dir, "big.bin", strings.Repeat("0123456789", 1000))
	_, err = c3.Commit(ctx, "dev", repo.CommitRequest{Adds: []repo.Add{{Path: "big.bin", File: big}}})
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(cut.ranges), 2, "the upload was cut and resumed")
}

// TestDistSourceScopes: a distribution that pulls through a remote
// commits into its repository, so it needs write there and read on the
// remote; making one public needs read on what it serves.
func TestDistSourceScopes(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	admin := e.client(e.admin)
	for _, r := range []string{"dev", "secret"} {
		_, err := admin.CreateRepo(ctx, r, repo.CreateOptions{})
		require.NoError(t, err)
	}
	_, err := admin.CreateRemote(ctx, remote.Remote{Name: "up", Kind: "file", URL: upstream(t, map[string]string{"a": "a"})})
	require.NoError(t, err)

	reader := e.client(e.token("reader", "dist:*:admin", "repo:dev:read", "remote:up:read"))
	_, err = reader.CreateDist(ctx, "web", dist.DistSpec{BasePath: "web", Repo: "dev", Remote: "up"})
	require.ErrorIs(t, err, auth.ErrForbidden)
	require.Contains(t, err.Error(), "repo:dev:write")
	_, err = reader.CreateDist(ctx, "web", dist.DistSpec{BasePath: "web", Repo: "dev"})
	require.NoError(t, err)
	_, err = reader.UpdateDist(ctx, "web", dist.DistSpec{Remote: "up"})
	require.ErrorIs(t, err, auth.ErrForbidden, "the merged spec pulls into dev")
	require.Contains(t, err.Error(), "repo:dev:write")

	writer := e.client(e.token("writer", "dist:*:admin", "repo:dev:write"))
	_, err = writer.UpdateDist(ctx, "web", dist.DistSpec{Remote: "up"})
	require.ErrorIs(t, err, auth.ErrForbidden)
	require.Contains(t, err.Error(), "remote:up:read")
	both := e.client(e.token("both", "dist:*:admin", "repo:dev:write", "remote:up:read"))
	_, err = both.UpdateDist(ctx, "web", dist.DistSpec{Remote: "up"})
	require.NoError(t, err)
	// A change of anything else is checked against the merged spec too.
	_, err = reader.UpdateDist(ctx, "web", dist.DistSpec{BasePath: "web2"})
	require.ErrorIs(t, err, auth.ErrForbidden)
	_, err = both.UpdateDist(ctx, "web", dist.DistSpec{BasePath: "web2"})
	require.NoError(t, err)

	// Privacy.
	yes, no := true, false
	_, err = admin.CreateDist(ctx, "priv", dist.DistSpec{BasePath: "priv", Repo: "secret", Private: &yes})
	require.NoError(t, err)
	distAdmin := e.client(e.token("da", "dist:priv:admin"))
	_, err = distAdmin.UpdateDist(ctx, "priv", dist.DistSpec{Private: &no})
	require.ErrorIs(t, err, auth.ErrForbidden)
	require.Contains(t, err.Error(), "repo:secret:read")
	_, err = distAdmin.UpdateDist(ctx, "priv", dist.DistSpec{BasePath: "priv2", Private: &yes})
	require.NoError(t, err)
	d, err := admin.ShowDist(ctx, "priv")
	require.NoError(t, err)
	require.True(t, d.Private)
}

// TestUploadLimits: an upload may not pass the server's size limit, and
// a token may not keep many uploads open.
func TestUploadLimits(t *testing.T) {
	e := newEnv(t, server.WithMaxUploadBytes(1000), server.WithMaxOpenUploads(2))
	ctx := e.ctx
	c := e.client(e.token("ci", "repo:dev:write"), client.WithChunkSize(400))
	_, err := c.PutBlob(ctx, bytes.NewReader(make([]byte, 1000)), 1000, objects.ID{})
	require.NoError(t, err)
	_, err = c.PutBlob(ctx, bytes.NewReader(make([]byte, 1001)), 1001, objects.ID{})
	require.ErrorIs(t, err, server.ErrTooLarge)
	require.Equal(t, http.StatusRequestEntityTooLarge, apiStatus(t, err))

	// One chunk over the limit, as a raw request.
	hc := &http.Client{Transport: e.spec.transport(t, http.DefaultTransport)}
	do := func(method, path, contentRange string, body io.Reader) *http.Response {
		req, err := http.NewRequest(method, e.ts.URL+path, body)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+e.admin)
		if contentRange != "" {
			req.Header.Set("Content-Range", contentRange)
			req.Header.Set("Content-Type", "application/octet-stream")
		}
		resp, err := hc.Do(req)
		require.NoError(t, err)
		return resp
	}
	var up server.Upload
	require.NoError(t, decodeJSON(do(http.MethodPost, "/api/v1/uploads", "", nil), &up))
	resp := do(http.MethodPut, "/api/v1/uploads/"+up.ID, "bytes 0-1999/2000", bytes.NewReader(make([]byte, 2000)))
	resp.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)

	// The admin has one upload open; two is the limit.
	require.NoError(t, decodeJSON(do(http.MethodPost, "/api/v1/uploads", "", nil), &up))
	resp = do(http.MethodPost, "/api/v1/uploads", "", nil)
	resp.Body.Close()
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	// Other tokens have their own.
	_, err = c.PutBlob(ctx, strings.NewReader("x"), 1, objects.ID{})
	require.NoError(t, err)
	resp = do(http.MethodDelete, "/api/v1/uploads/"+up.ID, "", nil)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.NoError(t, decodeJSON(do(http.MethodPost, "/api/v1/uploads", "", nil), &up))
}

// TestBigCommit commits 20 000 records through the client, one version.
func TestBigCommit(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	admin := e.client(e.admin)
	_, err := admin.CreateRepo(ctx, "dev", repo.CreateOptions{})
	require.NoError(t, err)
	ci := e.client(e.token("ci", "repo:dev:write"))
	id, err := ci.PutBlob(ctx, strings.NewReader("same"), 4, objects.ID{})
	require.NoError(t, err)
	const n = 20000
	recs := make([]repo.Record, n)
	for i := range recs {
		recs[i] = repo.Record{Path: fmt.Sprintf("pkgs/some/longer/directory/name/package-%05d.tar.gz", i), SHA256: id, Size: 4}
	}
	res, err := ci.Commit(ctx, "dev", repo.CommitRequest{Records: recs, Message: "big"})
	require.NoError(t, err)
	require.Equal(t, 1, res.Version)
	got, err := ci.List(ctx, "dev")
	require.NoError(t, err)
	require.Len(t, got, n)
}

// TestRevisionEscaping: revisions and paths with characters URLs escape
// reach the server as given.
func TestRevisionEscaping(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	c := e.client(e.admin)
	_, err := c.CreateRepo(ctx, "dev", repo.CreateOptions{})
	require.NoError(t, err)
	dir := t.TempDir()
	odd := "dir with space/a #1?x=y&z.txt"
	_, err = c.Commit(ctx, "dev", repo.CommitRequest{Adds: []repo.Add{{Path: odd, File: writeFile(t, dir, "a", "one")}}, Message: "one"})
	require.NoError(t, err)
	_, err = c.Commit(ctx, "dev", repo.CommitRequest{Adds: []repo.Add{{Path: "b.txt", File: writeFile(t, dir, "b", "two")}}, Message: "two"})
	require.NoError(t, err)

	for _, rev := range []string{"dev@{1}", "dev~1", "dev@1"} {
		log, err := c.Log(ctx, rev, 0)
		require.NoError(t, err, rev)
		require.Len(t, log, 1, rev)
		require.Equal(t, "one", log[0].Message, rev)
		recs, err := c.List(ctx, rev)
		require.NoError(t, err, rev)
		require.Len(t, recs, 1, rev)
		require.Equal(t, odd, recs[0].Path)
		rc, _, err := c.Cat(ctx, rev, odd)
		require.NoError(t, err, rev)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		require.Equal(t, "one", string(b))
	}
	d, err := c.Diff(ctx, "dev@{1}", "dev")
	require.NoError(t, err)
	require.Equal(t, []string{"b.txt"}, d.Added)
}

// TestBareIDScope: a scope whose glob looks like an id prefix reads no
// version by id, only a repository of that name.
func TestBareIDScope(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	admin := e.client(e.admin)
	_, err := admin.CreateRepo(ctx, "dev", repo.CreateOptions{})
	require.NoError(t, err)
	res, err := admin.Commit(ctx, "dev", repo.CommitRequest{AllowEmpty: true, Message: "x"})
	require.NoError(t, err)
	prefix := res.ID.String()[:8]
	c := e.client(e.token("tricky", "repo:"+prefix+":read"))
	_, err = c.List(ctx, prefix)
	require.ErrorIs(t, err, auth.ErrForbidden)
	require.Contains(t, err.Error(), "repo:*:read")
	_, err = c.Log(ctx, prefix+"~0", 0)
	require.ErrorIs(t, err, auth.ErrForbidden)

	// With a repository of that name, the name is what it reads.
	_, err = admin.CreateRepo(ctx, prefix, repo.CreateOptions{})
	require.NoError(t, err)
	_, err = admin.Commit(ctx, prefix, repo.CommitRequest{AllowEmpty: true, Message: "named"})
	require.NoError(t, err)
	log, err := c.Log(ctx, prefix, 0)
	require.NoError(t, err)
	require.Equal(t, "named", log[0].Message)
}

// failingService fails ShowRepo as a broken store would.
type failingService struct{ *local.Service }

func (failingService) ShowRepo(context.Context, string) (*repo.RepoInfo, error) {
	return nil, errors.New("open /srv/secret-store/refs/heads/dev: input/output error")
}

// syncBuffer is a log destination tests read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestInternalErrorHidden: an internal error is logged, and the client
// gets a reference to the log line, not the error's text.
func TestInternalErrorHidden(t *testing.T) {
	e := newEnv(t)
	var logs syncBuffer
	srv, err := server.New(failingService{e.svc}, e.tokens, server.WithUploadDir(t.TempDir()),
		server.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	c, err := client.New(ts.URL, e.admin, client.WithHTTPClient(&http.Client{Transport: e.spec.transport(t, http.DefaultTransport)}))
	require.NoError(t, err)
	_, err = c.ShowRepo(e.ctx, "dev")
	require.Equal(t, http.StatusInternalServerError, apiStatus(t, err))
	require.NotContains(t, err.Error(), "secret-store")
	require.Contains(t, err.Error(), "internal error")
	id := strings.Fields(strings.TrimPrefix(err.Error(), "internal error "))[0]
	require.Contains(t, logs.String(), "secret-store")
	require.Contains(t, logs.String(), id)
}

// TestTaskOfAnother: another token's task is as absent as a missing one.
func TestTaskOfAnother(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	admin := e.client(e.admin)
	_, err := admin.CreateRepo(ctx, "dev", repo.CreateOptions{})
	require.NoError(t, err)
	_, err = admin.CreateRemote(ctx, remote.Remote{Name: "up", Kind: "file", URL: upstream(t, map[string]string{"a": "a"})})
	require.NoError(t, err)
	owner := e.client(e.token("owner", "remote:up:read", "repo:dev:write"))
	task, err := owner.StartTask(ctx, server.SyncTask("up", "dev", false, ""))
	require.NoError(t, err)
	_, err = owner.ShowTask(ctx, task.ID)
	require.NoError(t, err)

	other := e.client(e.token("other", "remote:up:read", "repo:dev:write"))
	_, errOther := other.ShowTask(ctx, task.ID)
	_, errMissing := other.ShowTask(ctx, "t999")
	for _, err := range []error{errOther, errMissing} {
		require.ErrorIs(t, err, repo.ErrNotFound)
		require.Equal(t, http.StatusNotFound, apiStatus(t, err))
	}
	_, err = other.CancelTask(ctx, task.ID)
	require.Equal(t, http.StatusNotFound, apiStatus(t, err))
	_, err = admin.ShowTask(ctx, task.ID)
	require.NoError(t, err)
}
