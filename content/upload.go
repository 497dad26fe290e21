package content

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pkgvc/pkgvc/internal/auth"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/uploads"
)

// UploadDir is the path, inside a python distribution, of the legacy
// upload endpoint that twine posts to: ContentPrefix + base path + "/legacy/".
const UploadDir = "legacy/"

// Upload limits.
const (
	// MaxUploadBytes is the largest upload request body accepted by
	// default (see WithMaxBodyBytes).
	MaxUploadBytes = 1 << 30
	// maxUploadField bounds each form field other than the file.
	maxUploadField = 1 << 20
	// maxUploadFields and maxUploadFieldBytes bound the form fields
	// other than the file, in number and in total: twine sends a few
	// dozen, the long description the largest.
	maxUploadFields     = 1000
	maxUploadFieldBytes = 4 << 20
)

// WithMaxBodyBytes sets the largest request body the server reads, such
// as an upload (default MaxUploadBytes): a larger one is answered 413
// Request Entity Too Large. Zero or less keeps the default.
func WithMaxBodyBytes(n int64) ServerOption { return func(s *Server) { s.maxBody = max(n, 0) } }

// maxBodyBytes is the body limit WithMaxBodyBytes set.
func (s *Server) maxBodyBytes() int64 {
	if s.maxBody > 0 {
		return s.maxBody
	}
	return MaxUploadBytes
}

// serveUpload answers a POST under ContentPrefix: a twine-compatible
// legacy upload (multipart/form-data, ":action" = "file_upload", the file
// in field "content", optionally "sha256_digest") to the repository a
// distribution follows, with a token granting repo:<repository>:write as
// the password of HTTP Basic authentication (any user name, as in PyPI's
// "__token__") or as a Bearer token. The file is streamed to a temporary
// file, validated by the repository's kind and committed at its file name
// as one new version. Re-uploading a file name with other bytes is refused;
// the same bytes again change nothing.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rest := r.URL.Path[len(ContentPrefix):]
	de, sub, _, _, err := s.resolve(ctx, rest)
	if nv := (*noVersionError)(nil); de != nil && errors.As(err, &nv) {
		err = nil // the first upload makes the first version
	}
	switch {
	case err != nil && errors.Is(err, repo.ErrNotFound):
		reasonError(w, http.StatusNotFound, "not found: "+err.Error())
		return
	case err != nil:
		s.internal(w, r, "distributions", err)
		return
	case de == nil:
		reasonError(w, http.StatusNotFound, "not found: no distribution serves "+rest)
		return
	}
	if sub != UploadDir && sub+"/" != UploadDir {
		w.Header().Set("Allow", "GET, HEAD")
		reasonError(w, http.StatusMethodNotAllowed, "method not allowed: the content server is read-only; uploads go to "+ContentPrefix+de.basePath+"/"+UploadDir)
		return
	}
	if de.d.Repo == "" || !de.d.Version.IsZero() {
		reasonError(w, http.StatusConflict, "conflict: distribution "+de.name+" is pinned to a version; upload to a distribution that follows a repository")
		return
	}
	repoName := de.d.Repo
	tok, ok := s.authorizeUpload(w, r, repoName)
	if !ok {
		return
	}
	if de.d.Kind != "python" {
		reasonError(w, http.StatusBadRequest, fmt.Sprintf("bad request: repository %s holds %s content; uploads take python packages only", repoName, de.d.Kind))
		return
	}
	limit := s.maxBodyBytes()
	if r.ContentLength > limit {
		reasonError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request entity too large: uploads are limited to %d bytes", limit))
		return
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "multipart/form-data" {
		reasonError(w, http.StatusBadRequest, "bad request: send multipart/form-data, as twine does")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	// The file goes to an upload session (see package uploads), in the
	// store's temporary area; it ends with the request, or is swept if
	// the process dies first.
	sess := ""
	defer func() {
		if sess != "" {
			_ = s.up.Delete(context.WithoutCancel(ctx), sess, "", "")
		}
	}()
	owner := ""
	if tok != nil {
		owner = tok.Name
	}
	stage := func(part io.Reader) (string, error) {
		ss, err := s.up.Create(ctx, owner, "twine:"+repoName, twineSessionTTL)
		if err != nil {
			return "", err
		}
		sess = ss.ID
		_, err = s.up.Append(ctx, ss.ID, part, uploads.AppendOptions{Start: 0, Size: -1})
		var ce *uploads.ChunkError
		if errors.As(err, &ce) {
			err = ce.Err // the body's error
		}
		return s.up.File(ss.ID), err
	}
	up, code, msg := readUpload(r, stage)
	if code != 0 {
		reasonError(w, code, msg)
		return
	}

	// An existing file name may only be uploaded again with the same bytes.
	prev, err := s.st.Stat(ctx, repoName, up.filename)
	switch {
	case err == nil && prev.SHA256 == up.sum:
		uploadOK(w, fmt.Sprintf("OK: %s is already in repository %s with these bytes; nothing changed\n", up.filename, repoName))
		return
	case err == nil:
		reasonError(w, http.StatusBadRequest, fmt.Sprintf("bad request: file already exists ('%s') in repository %s with other contents; a file name cannot be reused", up.filename, repoName))
		return
	case !errors.Is(err, repo.ErrNotFound):
		s.internal(w, r, "look up "+up.filename, err)
		return
	}

	author := ""
	if tok != nil && tok.Name != "" {
		author = "token " + tok.Name
	}
	res, err := s.st.Commit(ctx, repoName, repo.CommitRequest{
		Adds:      []repo.Add{{Path: up.filename, File: up.tmp, Size: up.size}},
		Message:   "upload " + up.filename,
		Author:    author,
		NoReplace: true, // another upload of this name may have landed meanwhile
	})
	switch {
	case err == nil:
	case errors.Is(err, repo.ErrExists): // "file already exists: …", as PyPI says
		reasonError(w, http.StatusBadRequest, "bad request: file "+oneLine(err.Error()))
		return
	case errors.Is(err, repo.ErrInvalid):
		// The kind's message names the temporary file; name the upload.
		reasonError(w, http.StatusBadRequest, "bad request: "+oneLine(strings.ReplaceAll(err.Error(), up.tmp, up.filename)))
		return
	case errors.Is(err, repo.ErrNotFound):
		reasonError(w, http.StatusNotFound, "not found: "+err.Error())
		return
	default:
		s.internal(w, r, "commit "+up.filename, err)
		return
	}
	if !res.Changed {
		uploadOK(w, fmt.Sprintf("OK: %s is already in repository %s; nothing changed\n", up.filename, repoName))
		return
	}
	uploadOK(w, fmt.Sprintf("OK: uploaded %s as version %d (%s) of repository %s\n", up.filename, res.Version, res.ID, repoName))
}

// isUploadPath reports whether a POST to p may be an upload: p ends in
// "/legacy/" (or "/legacy").
func isUploadPath(p string) bool {
	return strings.HasSuffix(p, "/"+UploadDir) || strings.HasSuffix(p, "/"+strings.TrimSuffix(UploadDir, "/"))
}

func uploadOK(w http.ResponseWriter, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(msg)))
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, msg)
}

// authorizeUpload reports whether r's token grants write on the repository;
// otherwise it has answered 401, 403, 429 or 500.
func (s *Server) authorizeUpload(w http.ResponseWriter, r *http.Request, repoName string) (*auth.Token, bool) {
	g := s.gate
	token, ok := auth.Credentials(r)
	if g == nil || g.authz == nil || !ok {
		challenge(w, "unauthorized: uploading needs a token granting repo:"+repoName+":write (HTTP Basic password, user __token__)")
		return nil, false
	}
	tok, err := g.authz.Authorize(r.Context(), token, auth.KindRepo, repoName, auth.Write)
	switch {
	case err == nil:
		return tok, true
	case errors.Is(err, auth.ErrForbidden):
		reasonError(w, http.StatusForbidden, "forbidden: the token does not grant repo:"+repoName+":write")
	case errors.Is(err, auth.ErrUnauthorized):
		if wait := g.limit.Fail(auth.ClientAddr(r)); wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
			reasonError(w, http.StatusTooManyRequests, "too many requests: too many failed authentications from this address")
			return nil, false
		}
		challenge(w, "unauthorized: unknown, revoked or expired token")
	default:
		s.internal(w, r, "authenticate", err)
	}
	return nil, false
}

// upload is a received upload form.
type upload struct {
	filename string
	tmp      string // temporary file holding the content
	size     int64
	sum      objects.ID
}

// twineSessionTTL bounds the life of a twine upload's session, which
// lasts one request: a longer one was left by a process that died.
const twineSessionTTL = time.Hour

// readUpload streams r's multipart form, the file through stage, which
// returns where it put it. It returns a status and message when the form
// is refused.
func readUpload(r *http.Request, stage func(io.Reader) (string, error)) (up *upload, code int, msg string) {
	up = &upload{}
	mr, err := r.MultipartReader()
	if err != nil {
		return up, http.StatusBadRequest, "bad request: send multipart/form-data, as twine does"
	}
	fields := map[string]string{}
	seen := false
	count, total := 0, 0
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return bodyError(up, err)
		}
		name := part.FormName()
		if name != "content" {
			if count++; count > maxUploadFields {
				return up, http.StatusBadRequest, fmt.Sprintf("bad request: more than %d form fields", maxUploadFields)
			}
			b, err := io.ReadAll(io.LimitReader(part, maxUploadField+1))
			if err != nil {
				return bodyError(up, err)
			}
			if len(b) > maxUploadField {
				return up, http.StatusBadRequest, fmt.Sprintf("bad request: form field %q is over %d bytes", name, maxUploadField)
			}
			if total += len(b); total > maxUploadFieldBytes {
				return up, http.StatusRequestEntityTooLarge, fmt.Sprintf("request entity too large: the form fields besides the file are over %d bytes", maxUploadFieldBytes)
			}
			if _, dup := fields[name]; !dup {
				fields[name] = string(b)
			}
			continue
		}
		if seen {
			return up, http.StatusBadRequest, "bad request: give one file in field content"
		}
		seen = true
		// part.FileName strips directories; refuse them instead.
		_, params, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		fn := params["filename"]
		if msg := checkUploadName(fn); msg != "" {
			return up, http.StatusBadRequest, "bad request: file name " + strconv.Quote(fn) + ": " + msg
		}
		up.filename = fn
		h := sha256.New()
		cr := &countingReader{r: io.TeeReader(part, h)}
		tmp, err := stage(cr)
		up.tmp = tmp
		if err != nil {
			if cr.err != nil {
				return bodyError(up, cr.err)
			}
			return up, http.StatusInternalServerError, "internal error: cannot store the upload"
		}
		up.size = cr.n
		copy(up.sum[:], h.Sum(nil))
	}
	if a := fields[":action"]; a != "file_upload" {
		return up, http.StatusBadRequest, fmt.Sprintf("bad request: :action %q: only file_upload is supported", a)
	}
	if !seen {
		return up, http.StatusBadRequest, "bad request: no file in field content"
	}
	if d := strings.TrimSpace(fields["sha256_digest"]); d != "" {
		want, err := hex.DecodeString(d)
		if err != nil || len(want) != sha256.Size {
			return up, http.StatusBadRequest, "bad request: sha256_digest is not a hex SHA-256"
		}
		if string(want) != string(up.sum[:]) {
			return up, http.StatusBadRequest, fmt.Sprintf("bad request: sha256_digest %s does not match the received file (%s)", strings.ToLower(d), up.sum)
		}
	}
	return up, 0, ""
}

// bodyError maps an error reading the request body to a status.
func bodyError(up *upload, err error) (*upload, int, string) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return up, http.StatusRequestEntityTooLarge, fmt.Sprintf("request entity too large: uploads are limited to %d bytes", mbe.Limit)
	}
	return up, http.StatusBadRequest, "bad request: reading the form: " + oneLine(err.Error())
}

// checkUploadName says why an uploaded file name is refused, or "".
func checkUploadName(fn string) string {
	switch {
	case fn == "":
		return "give the file a name"
	case len(fn) > 255:
		return "too long"
	case strings.ContainsAny(fn, "/\\"):
		return "give a base name, without '/' or '\\'"
	case strings.Contains(fn, ".."), strings.HasPrefix(fn, "."):
		return "'..' and a leading '.' are not allowed"
	}
	for i := 0; i < len(fn); i++ {
		if fn[i] < 0x20 || fn[i] == 0x7f {
			return "control character in name"
		}
	}
	return ""
}

// countingReader counts what it reads, and keeps the reader's error.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		c.err = err
	}
	return n, err
}
