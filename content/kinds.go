package content

import (
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/publish"
)

// What a content kind adds to the content server is an optional capability
// of its Publisher (publish.Registry), as Mounter is: the server looks the
// capability up by the distribution's kind and knows no kind by name.

// ProjectPaths is an optional Publisher capability for content kinds
// whose distributions pull through a project at a time (see
// WithPullThrough): it says which paths inside a distribution are about
// a project.
type ProjectPaths interface {
	// PullProject returns the project, in its canonical spelling, that a
	// request for sub (a path inside a distribution) is about, and
	// whether sub is the publication's page of the project rather than
	// one of its files; project is "" when sub is about none.
	PullProject(sub string) (project string, page bool)
	// ProjectPage is the path of the publication's page of project,
	// which it has once the version holds the project.
	ProjectPage(project string) string
	// DerivedFrom returns, for a path the publication derives from a
	// package (a wheel's PEP 658 metadata file), the package's path: the
	// store answers it once the version holds the package, without a
	// pull.
	DerivedFrom(sub string) (pkg string, ok bool)
}

// Uploader is an optional Publisher capability for content kinds whose
// clients upload files with a POST under ContentPrefix (python's twine,
// to the legacy API). The server routes the POST, refuses a pinned
// distribution, checks the token (repo:<repository>:write), bounds the
// body (WithMaxBodyBytes), stores the file in its upload area and
// commits it as one new version; the kind reads the request.
type Uploader interface {
	// UploadDir is the path, inside a distribution, that uploads are
	// posted to, ending in '/' ("legacy/").
	UploadDir() string
	// ReadUpload reads upload request r, whose body the server bounds.
	// It passes the file's name (its path in the repository) and bytes
	// to stage, which checks the name and stores the bytes, and returns
	// what stage returned. A refused request is an *UploadError; stage's
	// errors are.
	ReadUpload(r *http.Request, stage func(name string, body io.Reader) (*Staged, error)) (*Staged, error)
}

// Staged is an uploaded file the server stored, to be committed.
type Staged struct {
	// Name is the file's path in the repository.
	Name string
	// File is the temporary file holding its bytes.
	File   string
	Size   int64
	SHA256 objects.ID
}

// UploadError refuses an upload request: the status and the message
// answered (the message is also the status line's reason).
type UploadError struct {
	Code int
	Msg  string
}

func (e *UploadError) Error() string { return e.Msg }

// capability returns kind's publisher as a T (ProjectPaths, Uploader),
// the zero T if it is none.
func capability[T any](s *Server, kind string) T {
	var c T
	if s.pubs != nil {
		p, _ := s.pubs.Registry().Lookup(kind)
		c, _ = p.(T)
	}
	return c
}

// projectPaths returns the ProjectPaths of kind, nil if it has none.
func (s *Server) projectPaths(kind string) ProjectPaths { return capability[ProjectPaths](s, kind) }

// uploader returns the Uploader of kind, nil if it has none.
func (s *Server) uploader(kind string) Uploader { return capability[Uploader](s, kind) }

// uploaders returns the publishers of the kinds that take uploads
// (Uploader), sorted by kind.
func (s *Server) uploaders() []publish.Publisher {
	if s.pubs == nil {
		return nil
	}
	var ps []publish.Publisher
	for _, p := range s.pubs.Registry().Publishers() {
		if _, ok := p.(Uploader); ok {
			ps = append(ps, p)
		}
	}
	slices.SortFunc(ps, func(a, b publish.Publisher) int { return strings.Compare(a.Kind(), b.Kind()) })
	return ps
}
