package publication

import (
	"strings"

	pyformat "github.com/pkgvc/pkgvc/kinds/python/format"
)

// PullProject returns the normalized project a request for sub inside a
// python distribution is about: SimpleDir/<name>/ (or without the '/'),
// its page, or packages/<name>/<file> (content.ProjectPaths).
func (Publisher) PullProject(sub string) (project string, page bool) {
	if rest, ok := strings.CutPrefix(sub, SimpleDir+"/"); ok {
		n, tail, _ := strings.Cut(rest, "/")
		if tail != "" || !pyformat.ValidName(n) {
			return "", false
		}
		return pyformat.NormalizeName(n), true
	}
	if rest, ok := strings.CutPrefix(sub, "packages/"); ok {
		n, tail, _ := strings.Cut(rest, "/")
		if tail == "" || strings.Contains(tail, "/") || !pyformat.ValidName(n) {
			return "", false
		}
		return pyformat.NormalizeName(n), false
	}
	return "", false
}

// ProjectPage is the Simple API page of project (normalized), which the
// publication has once the version holds one of its files.
func (Publisher) ProjectPage(project string) string {
	return SimpleDir + "/" + project + "/" + IndexHTML
}

// DerivedFrom returns the wheel whose core metadata file (PEP 658) sub
// is.
func (Publisher) DerivedFrom(sub string) (string, bool) {
	return strings.CutSuffix(sub, MetadataSuffix)
}
