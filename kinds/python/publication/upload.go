package publication

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/objects"
)

// UploadDir is the path, inside a python distribution, of the legacy
// upload endpoint that twine posts to: content.ContentPrefix + base path
// + "/legacy/".
const UploadDir = "legacy/"

// Bounds of the form fields of an upload other than the file: twine sends
// a few dozen, the long description the largest.
const (
	maxUploadField      = 1 << 20
	maxUploadFields     = 1000
	maxUploadFieldBytes = 4 << 20
)

// UploadDir is where twine posts uploads (content.Uploader).
func (Publisher) UploadDir() string { return UploadDir }

// ReadUpload reads a twine-compatible legacy upload (content.Uploader):
// multipart/form-data, ":action" = "file_upload", the file in field
// "content", optionally "sha256_digest", which must match it. The file
// goes to stage as it streams, under its file name.
func (Publisher) ReadUpload(r *http.Request, stage func(name string, body io.Reader) (*content.Staged, error)) (*content.Staged, error) {
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "multipart/form-data" {
		return nil, refuse(http.StatusBadRequest, "bad request: send multipart/form-data, as twine does")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "bad request: send multipart/form-data, as twine does")
	}
	fields := map[string]string{}
	var up *content.Staged
	count, total := 0, 0
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, content.BodyError(err)
		}
		name := part.FormName()
		if name != "content" {
			if count++; count > maxUploadFields {
				return nil, refuse(http.StatusBadRequest, fmt.Sprintf("bad request: more than %d form fields", maxUploadFields))
			}
			b, err := io.ReadAll(io.LimitReader(part, maxUploadField+1))
			if err != nil {
				return nil, content.BodyError(err)
			}
			if len(b) > maxUploadField {
				return nil, refuse(http.StatusBadRequest, fmt.Sprintf("bad request: form field %q is over %d bytes", name, maxUploadField))
			}
			if total += len(b); total > maxUploadFieldBytes {
				return nil, refuse(http.StatusRequestEntityTooLarge, fmt.Sprintf("request entity too large: the form fields besides the file are over %d bytes", maxUploadFieldBytes))
			}
			if _, dup := fields[name]; !dup {
				fields[name] = string(b)
			}
			continue
		}
		if up != nil {
			return nil, refuse(http.StatusBadRequest, "bad request: give one file in field content")
		}
		// part.FileName strips directories; the server refuses them
		// instead.
		_, params, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		if up, err = stage(params["filename"], part); err != nil {
			return nil, err
		}
	}
	if a := fields[":action"]; a != "file_upload" {
		return nil, refuse(http.StatusBadRequest, fmt.Sprintf("bad request: :action %q: only file_upload is supported", a))
	}
	if up == nil {
		return nil, refuse(http.StatusBadRequest, "bad request: no file in field content")
	}
	if d := strings.TrimSpace(fields["sha256_digest"]); d != "" {
		want, err := objects.ParseID(d)
		if err != nil {
			return nil, refuse(http.StatusBadRequest, "bad request: sha256_digest is not a hex SHA-256")
		}
		if want != up.SHA256 {
			return nil, refuse(http.StatusBadRequest, fmt.Sprintf("bad request: sha256_digest %s does not match the received file (%s)", strings.ToLower(d), up.SHA256))
		}
	}
	return up, nil
}

func refuse(code int, msg string) error { return &content.UploadError{Code: code, Msg: msg} }
