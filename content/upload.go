package content

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/httpx"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/uploads"
)

// Upload limits.
const (
	// MaxUploadBytes is the largest upload request body accepted by
	// default (see WithMaxBodyBytes).
	MaxUploadBytes = 1 << 30
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

// serveUpload answers a POST under ContentPrefix to the upload path of a
// content kind (its publisher's Uploader; python's twine legacy upload):
// an upload to the repository a distribution follows, with a token
// granting repo:<repository>:write as the password of HTTP Basic
// authentication (any user name, as in PyPI's "__token__") or as a Bearer
// token. The kind reads the request; the file is streamed to a temporary
// file, validated by the repository's kind and committed at the name the
// kind gave as one new version. Re-uploading a name with other bytes is
// refused; the same bytes again change nothing.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request, dir string) {
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
	u := s.uploader(de.d.Kind)
	if u != nil {
		dir = u.UploadDir()
	}
	if sub != dir && sub+"/" != dir {
		w.Header().Set("Allow", "GET, HEAD")
		reasonError(w, http.StatusMethodNotAllowed, "method not allowed: the content server is read-only; uploads go to "+ContentPrefix+de.basePath+"/"+dir)
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
	if u == nil {
		var kinds []string
		for _, p := range s.uploaders() {
			kinds = append(kinds, p.Kind())
		}
		reasonError(w, http.StatusBadRequest, fmt.Sprintf("bad request: repository %s holds %s content; uploads take %s packages only", repoName, de.d.Kind, strings.Join(kinds, " or ")))
		return
	}
	if s.up == nil {
		reasonError(w, http.StatusServiceUnavailable, "service unavailable: this server takes no uploads (it was started without an upload engine)")
		return
	}
	limit := s.maxBodyBytes()
	if r.ContentLength > limit {
		reasonError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request entity too large: uploads are limited to %d bytes", limit))
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
	var staged *Staged
	stage := func(name string, body io.Reader) (*Staged, error) {
		if msg := checkUploadName(name); msg != "" {
			return nil, &UploadError{http.StatusBadRequest, "bad request: file name " + strconv.Quote(name) + ": " + msg}
		}
		if sess != "" {
			return nil, &UploadError{http.StatusBadRequest, "bad request: give one file"}
		}
		ss, err := s.up.Create(ctx, owner, de.d.Kind+":"+repoName, uploadSessionTTL)
		if err != nil {
			return nil, &UploadError{http.StatusInternalServerError, "internal error: cannot store the upload"}
		}
		sess = ss.ID
		h := sha256.New()
		cr := &countingReader{r: io.TeeReader(body, h)}
		_, err = s.up.Append(ctx, ss.ID, cr, uploads.AppendOptions{Start: 0, Size: -1})
		switch {
		case cr.err != nil:
			return nil, BodyError(cr.err)
		case err != nil:
			return nil, &UploadError{http.StatusInternalServerError, "internal error: cannot store the upload"}
		}
		staged = &Staged{Name: name, File: s.up.File(ss.ID), Size: cr.n}
		copy(staged.SHA256[:], h.Sum(nil))
		return staged, nil
	}
	up, err := u.ReadUpload(r, stage)
	if err == nil && (up == nil || up != staged) {
		// Only what stage checked and stored is committed.
		err = &UploadError{http.StatusInternalServerError, "internal error: the upload was not stored"}
	}
	if ue := (*UploadError)(nil); errors.As(err, &ue) {
		reasonError(w, ue.Code, ue.Msg)
		return
	} else if err != nil {
		s.internal(w, r, "read the upload", err)
		return
	}

	// An existing file name may only be uploaded again with the same bytes.
	prev, err := s.st.Stat(ctx, repoName, up.Name)
	switch {
	case err == nil && prev.SHA256 == up.SHA256:
		uploadOK(w, fmt.Sprintf("OK: %s is already in repository %s with these bytes; nothing changed\n", up.Name, repoName))
		return
	case err == nil:
		reasonError(w, http.StatusBadRequest, fmt.Sprintf("bad request: file already exists ('%s') in repository %s with other contents; a file name cannot be reused", up.Name, repoName))
		return
	case !errors.Is(err, repo.ErrNotFound):
		s.internal(w, r, "look up "+up.Name, err)
		return
	}

	author := ""
	if tok != nil && tok.Name != "" {
		author = "token " + tok.Name
	}
	res, err := s.st.Commit(ctx, repoName, repo.CommitRequest{
		Adds:      []repo.Add{{Path: up.Name, File: up.File, Size: up.Size}},
		Message:   "upload " + up.Name,
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
		reasonError(w, http.StatusBadRequest, "bad request: "+oneLine(strings.ReplaceAll(err.Error(), up.File, up.Name)))
		return
	case errors.Is(err, repo.ErrNotFound):
		reasonError(w, http.StatusNotFound, "not found: "+err.Error())
		return
	default:
		s.internal(w, r, "commit "+up.Name, err)
		return
	}
	if !res.Changed {
		uploadOK(w, fmt.Sprintf("OK: %s is already in repository %s; nothing changed\n", up.Name, repoName))
		return
	}
	uploadOK(w, fmt.Sprintf("OK: uploaded %s as version %d (%s) of repository %s\n", up.Name, res.Version, res.ID, repoName))
}

// uploadDir returns the upload directory of a content kind that a POST to
// p is for: p ends in "/" + the directory (or without its final '/');
// "" if none.
func (s *Server) uploadDir(p string) string {
	for _, pub := range s.uploaders() {
		d := pub.(Uploader).UploadDir()
		if strings.HasSuffix(p, "/"+d) || strings.HasSuffix(p, "/"+strings.TrimSuffix(d, "/")) {
			return d
		}
	}
	return ""
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
			httpx.SetRetryAfter(w.Header(), wait)
			reasonError(w, http.StatusTooManyRequests, "too many requests: too many failed authentications from this address")
			return nil, false
		}
		challenge(w, "unauthorized: unknown, revoked or expired token")
	default:
		s.internal(w, r, "authenticate", err)
	}
	return nil, false
}

// uploadSessionTTL bounds the life of an upload's session, which lasts
// one request: a longer one was left by a process that died.
const uploadSessionTTL = time.Hour

// BodyError refuses an upload whose request body could not be read
// (err): 413 if it is over the server's limit, else 400. Uploaders use it
// for their own reads of the body.
func BodyError(err error) *UploadError {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &UploadError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request entity too large: uploads are limited to %d bytes", mbe.Limit)}
	}
	return &UploadError{http.StatusBadRequest, "bad request: reading the form: " + oneLine(err.Error())}
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
