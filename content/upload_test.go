package content_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	"github.com/pkgvc/pkgvc/kinds/python/publication"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/uploads"
)

// upFixture is a store with python repository "pyrepo" served by "pyweb"
// at base path "pypi" and file repository "prod" served by "web" at
// "site/web", behind a server that takes tokens.
type upFixture struct {
	t      *testing.T
	ctx    context.Context
	st     *repo.Store
	dists  *dist.Dists
	tokens *auth.Store
	base   string
}

func newUpFixture(t *testing.T) *upFixture {
	t.Helper()
	return newUpFixtureEngine(t, true)
}

// newUpFixtureEngine is newUpFixture, its server with an upload engine
// over the store or (withEngine false) none.
func newUpFixtureEngine(t *testing.T, withEngine bool) *upFixture {
	t.Helper()
	ctx := context.Background()
	st, err := fsstore.OpenDir(ctx, filepath.Join(t.TempDir(), "store"), all.Kinds())
	require.NoError(t, err)
	_, err = st.CreateRepo(ctx, "pyrepo", repo.CreateOptions{Kind: "python"})
	require.NoError(t, err)
	_, err = st.CreateRepo(ctx, "prod", repo.CreateOptions{})
	require.NoError(t, err)
	dists := dist.NewDists(st)
	_, err = dists.Create(ctx, "pyweb", dist.DistSpec{BasePath: "pypi", Repo: "pyrepo"})
	require.NoError(t, err)
	_, err = dists.Create(ctx, "web", dist.DistSpec{BasePath: "site/web", Repo: "prod"})
	require.NoError(t, err)
	tokens := auth.New(st, auth.WithCacheTTL(time.Millisecond))
	opts := []content.ServerOption{content.WithAuth(tokens)}
	if withEngine {
		opts = append(opts, content.WithUploads(uploads.New(st)))
	}
	srv := content.NewServer(st, dists, publish.NewPublications(st, publish.NewRegistry(publication.New()), 8), opts...)
	return &upFixture{t: t, ctx: ctx, st: st, dists: dists, tokens: tokens, base: startServer(t, "content.Serve", srv)}
}

func (f *upFixture) token(name string, scopes ...string) string {
	f.t.Helper()
	return mintToken(f.t, f.ctx, f.tokens, name, scopes...)
}

func (f *upFixture) legacy(base string) string { return f.base + "/content/" + base + "/legacy/" }

func (f *upFixture) head() int {
	f.t.Helper()
	id, err := f.st.RepoHead(f.ctx, "pyrepo")
	require.NoError(f.t, err)
	if id.IsZero() {
		return 0
	}
	v, err := f.st.Version(f.ctx, id)
	require.NoError(f.t, err)
	return v.Number
}

// twineForm is the multipart body twine sends for one file; digest ""
// sends the file's own SHA-256.
func twineForm(t *testing.T, spec pythontest.Spec, filename string, data []byte, digest string) (string, []byte) {
	t.Helper()
	if digest == "" {
		sum := sha256.Sum256(data)
		digest = hex.EncodeToString(sum[:])
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, kv := range [][2]string{
		{":action", "file_upload"}, {"protocol_version", "1"},
		{"name", spec.Name}, {"version", spec.Version},
		{"filetype", "bdist_wheel"}, {"pyversion", "py3"},
		{"metadata_version", "2.1"}, {"summary", ""},
		{"sha256_digest", digest},
	} {
		require.NoError(t, mw.WriteField(kv[0], kv[1]))
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="content"; filename=%q`, filename))
	h.Set("Content-Type", "application/octet-stream")
	pw, err := mw.CreatePart(h)
	require.NoError(t, err)
	_, err = pw.Write(data)
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	return mw.FormDataContentType(), buf.Bytes()
}

// post sends an upload form as twine does: HTTP Basic, user __token__.
func post(t *testing.T, url, token, ctype string, body []byte) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.SetBasicAuth("__token__", token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

func TestLegacyUpload(t *testing.T) {
	f := newUpFixture(t)
	writer := f.token("ci", "repo:pyrepo:write")
	reader := f.token("ro", "repo:pyrepo:read", "dist:*:admin")
	admin := f.token("admin", "*:*:admin")

	spec := pythontest.Spec{Name: "demo-pkg", Version: "1.0"}
	fn, whl := spec.Wheel()
	ctype, body := twineForm(t, spec, fn, whl, "")

	// No token: a Basic challenge; a token without write: 403.
	resp, msg := post(t, f.legacy("pypi"), "", ctype, body)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, msg)
	require.Equal(t, `Basic realm="pkgvc"`, resp.Header.Get("WWW-Authenticate"))
	resp, msg = post(t, f.legacy("pypi"), "pkgvc_wrong", ctype, body)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, msg)
	resp, msg = post(t, f.legacy("pypi"), reader, ctype, body)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, msg)
	require.Equal(t, 0, f.head())

	// A wrong digest is refused.
	ctypeBad, bodyBad := twineForm(t, spec, fn, whl, strings.Repeat("0", 64))
	resp, msg = post(t, f.legacy("pypi"), writer, ctypeBad, bodyBad)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, msg)
	require.Contains(t, msg, "sha256_digest")
	require.Equal(t, 0, f.head())

	// The upload makes one version holding the file at its name.
	resp, msg = post(t, f.legacy("pypi"), writer, ctype, body)
	require.Equal(t, http.StatusOK, resp.StatusCode, msg)
	require.Contains(t, msg, fn)
	require.Equal(t, 1, f.head())
	rec, err := f.st.Stat(f.ctx, "pyrepo", fn)
	require.NoError(t, err)
	sum := sha256.Sum256(whl)
	require.Equal(t, hex.EncodeToString(sum[:]), rec.SHA256.String())
	require.Equal(t, "demo-pkg", rec.Metadata["name"])

	resp, page := get(t, http.MethodGet, f.base+"/content/pypi/simple/demo-pkg/")
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	require.Contains(t, string(page), fn)
	resp, got := get(t, http.MethodGet, f.base+"/content/pypi/"+fn)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, whl, got)

	// The same bytes again change nothing; other bytes are refused.
	resp, msg = post(t, f.legacy("pypi"), writer, ctype, body)
	require.Equal(t, http.StatusOK, resp.StatusCode, msg)
	require.Equal(t, 1, f.head())
	spec2 := spec
	spec2.Extra = []pythontest.File{{Name: "demo_pkg/extra.py", Body: []byte("X = 1\n")}}
	fn2, whl2 := spec2.Wheel()
	require.Equal(t, fn, fn2)
	ctype2, body2 := twineForm(t, spec2, fn2, whl2, "")
	resp, msg = post(t, f.legacy("pypi"), writer, ctype2, body2)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, msg)
	require.Contains(t, msg, "already exists")
	require.Equal(t, "400 File already exists ('"+fn+"') in repository pyrepo with other contents; a file name cannot be reused", resp.Status,
		"the reason is in the status line, as PyPI puts it")
	require.Equal(t, 1, f.head())

	// The kind validates: a name that its metadata contradicts is refused.
	bad := pythontest.Spec{Name: "other", Version: "2.0", MetaName: "different"}
	fn3, whl3 := bad.Wheel()
	ctype3, body3 := twineForm(t, bad, fn3, whl3, "")
	resp, msg = post(t, f.legacy("pypi"), writer, ctype3, body3)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, msg)
	require.NotContains(t, msg, os.TempDir())
	require.Equal(t, 1, f.head())

	// Only base names.
	for _, name := range []string{"../evil-1.0-py3-none-any.whl", "sub/x-1.0-py3-none-any.whl", "..", ""} {
		c, b := twineForm(t, spec, name, whl, "")
		resp, msg = post(t, f.legacy("pypi"), writer, c, b)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, name+": "+msg)
	}

	// Another version, by a token with a wildcard scope, is a new version.
	spec4 := pythontest.Spec{Name: "demo-pkg", Version: "1.1"}
	fn4, whl4 := spec4.Wheel()
	ctype4, body4 := twineForm(t, spec4, fn4, whl4, "")
	resp, msg = post(t, f.legacy("pypi"), admin, ctype4, body4)
	require.Equal(t, http.StatusOK, resp.StatusCode, msg)
	require.Equal(t, 2, f.head())

	// A file repository's distribution takes no uploads.
	resp, msg = post(t, f.legacy("site/web"), admin, ctype4, body4)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, msg)

	// A pinned distribution refuses uploads.
	_, err = f.dists.Create(f.ctx, "pinned", dist.DistSpec{BasePath: "pinned", Version: "pyrepo"})
	require.NoError(t, err)
	resp, msg = post(t, f.legacy("pinned"), admin, ctype4, body4)
	require.Equal(t, http.StatusConflict, resp.StatusCode, msg)

	// Other POSTs are still not allowed; a bad action is refused.
	resp, msg = post(t, f.base+"/content/pypi/simple/", writer, ctype, body)
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, msg)
	resp, msg = post(t, f.legacy("pypi"), writer, "text/plain", []byte("x"))
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, msg)
	require.Equal(t, 2, f.head())

	// Each upload's session, in the store, ended with its request.
	sessions := 0
	require.NoError(t, f.st.Meta().List(f.ctx, "uploads/sessions/", func(string, []byte, meta.Rev) error { sessions++; return nil }))
	require.Zero(t, sessions)
	ents, err := os.ReadDir(filepath.Join(f.st.Objects().TempDir(), "uploads"))
	require.NoError(t, err, "the files went through the store's upload area")
	require.Empty(t, ents)
}

// A server given no upload engine refuses uploads, 503 with a reason,
// after checking the token as for any upload; it keeps nothing.
func TestLegacyUploadWithoutEngine(t *testing.T) {
	f := newUpFixtureEngine(t, false)
	writer := f.token("ci", "repo:pyrepo:write")
	spec := pythontest.Spec{Name: "demo-pkg", Version: "1.0"}
	fn, whl := spec.Wheel()
	ctype, body := twineForm(t, spec, fn, whl, "")

	resp, msg := post(t, f.legacy("pypi"), "", ctype, body)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, msg)
	resp, msg = post(t, f.legacy("pypi"), writer, ctype, body)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, msg)
	require.Contains(t, msg, "upload")
	require.Equal(t, 0, f.head())
	// A file repository's distribution still says why it takes none.
	resp, msg = post(t, f.legacy("site/web"), writer, ctype, body)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, msg)
}

func TestLegacyUploadTooLarge(t *testing.T) {
	f := newUpFixture(t)
	writer := f.token("ci", "repo:pyrepo:write")
	host := strings.TrimPrefix(f.base, "http://")
	conn, err := net.Dial("tcp", host)
	require.NoError(t, err)
	defer conn.Close()
	req, err := http.NewRequest(http.MethodPost, f.legacy("pypi"), nil)
	require.NoError(t, err)
	req.SetBasicAuth("__token__", writer)
	_, err = fmt.Fprintf(conn, "POST /content/pypi/legacy/ HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\n"+
		"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: %d\r\n\r\n",
		host, req.Header.Get("Authorization"), content.MaxUploadBytes+1)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
}

func TestLegacyUploadTwine(t *testing.T) {
	twine, err := exec.LookPath("twine")
	if err != nil {
		t.Skip("twine is not installed")
	}
	f := newUpFixture(t)
	writer := f.token("ci", "repo:pyrepo:write")
	spec := pythontest.Spec{Name: "twined", Version: "0.1"}
	fn, whl := spec.Wheel()
	local := filepath.Join(t.TempDir(), fn)
	require.NoError(t, os.WriteFile(local, whl, 0o644))
	cmd := exec.Command(twine, "upload", "--non-interactive", "--disable-progress-bar",
		"--repository-url", f.legacy("pypi"), "-u", "__token__", "-p", writer, local)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Equal(t, 1, f.head())
	_, err = f.st.Stat(f.ctx, "pyrepo", fn)
	require.NoError(t, err)

	// The same name with other bytes is refused; twine, without
	// --verbose, prints why (the status line's reason).
	spec.Extra = []pythontest.File{{Name: "twined/extra.py", Body: []byte("X = 1\n")}}
	_, whl2 := spec.Wheel()
	require.NoError(t, os.WriteFile(local, whl2, 0o644))
	cmd = exec.Command(twine, "upload", "--non-interactive", "--disable-progress-bar",
		"--repository-url", f.legacy("pypi"), "-u", "__token__", "-p", writer, local)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err = cmd.CombinedOutput()
	require.Error(t, err, string(out))
	require.Contains(t, strings.Join(strings.Fields(string(out)), " "), // twine wraps lines
		"File already exists ('"+fn+"') in repository pyrepo with other contents", string(out))
	require.Equal(t, 1, f.head())

	// Other spellings of the same project, version and tags are the same
	// file: refused with other bytes, as PyPI does.
	for _, sp := range [][2]string{{"Twined", "0.1"}, {"twined", "00.1"}, {"twined", "0.1.0"}} {
		s := pythontest.Spec{Name: sp[0], Version: sp[1], Extra: spec.Extra}
		name, data := s.Wheel()
		local := filepath.Join(t.TempDir(), name)
		require.NoError(t, os.WriteFile(local, data, 0o644))
		cmd = exec.Command(twine, "upload", "--non-interactive", "--disable-progress-bar",
			"--repository-url", f.legacy("pypi"), "-u", "__token__", "-p", writer, local)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
		out, err = cmd.CombinedOutput()
		require.Error(t, err, "%s: %s", name, out)
		require.Contains(t, strings.Join(strings.Fields(string(out)), " "),
			"File already exists: "+name+" is the same file as "+fn, string(out))
	}
	require.Equal(t, 1, f.head())
}

// An upload form may not hold the server's memory with its text fields:
// too many fields are answered 400, too many bytes of them 413, both
// before the rest of the form is read.
func TestLegacyUploadFormBounds(t *testing.T) {
	f := newUpFixture(t)
	writer := f.token("ci", "repo:pyrepo:write")
	send := func(fields, size int) (*http.Response, string, uint64) {
		t.Helper()
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			chunk := bytes.Repeat([]byte("x"), size)
			_ = mw.WriteField(":action", "file_upload")
			for i := range fields {
				w, err := mw.CreateFormField(fmt.Sprintf("field%d", i))
				if err != nil {
					pw.CloseWithError(err)
					return
				}
				if _, err := w.Write(chunk); err != nil {
					pw.CloseWithError(err)
					return
				}
			}
			pw.CloseWithError(mw.Close())
		}()
		req, err := http.NewRequest(http.MethodPost, f.legacy("pypi"), pr)
		require.NoError(t, err)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.SetBasicAuth("__token__", writer)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		runtime.ReadMemStats(&after)
		pr.CloseWithError(io.ErrClosedPipe) // stops the writer
		return resp, string(b), after.TotalAlloc - before.TotalAlloc
	}
	resp, msg, alloc := send(100, 1<<20)
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, msg)
	require.Contains(t, msg, "form fields")
	t.Logf("100 fields of 1 MiB: %d MiB allocated", alloc>>20)
	require.Less(t, alloc, uint64(64<<20), "the fields are not all read into memory")

	resp, msg, _ = send(5000, 10)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, msg)
	require.Contains(t, msg, "form fields")
	require.Zero(t, f.head(), "nothing was committed")
}
