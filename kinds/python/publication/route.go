package publication

import (
	"net/http"
	"strconv"
	"strings"

	pyformat "github.com/pkgvc/pkgvc/kinds/python/format"
	"github.com/pkgvc/pkgvc/publish"
)

// Route maps Simple API requests to the generated pages:
//
//   - "simple/" and "simple/NAME/" are answered with the index.html,
//     index.v1.html or index.v1.json of that directory, negotiated as PEP
//     691 says (see below), with vary "Accept".
//   - "simple", "simple/NAME" and "simple/Other_Spelling/" of a known
//     project redirect to the normalized "simple/NAME/".
//   - Anything else, such as an unknown project, a generated file asked for
//     by its own name, or a package, is not Route's (ok false).
//
// The format is picked from the "format" query parameter when it names one
// of the media types below (or is "json" or "html"), else from the Accept
// header (PEP 691): each of
// text/html, application/vnd.pypi.simple.v1+html and
// application/vnd.pypi.simple.v1+json gets the q value of the most specific
// media range matching it (the "latest" aliases, latest+html and
// latest+json, count when named exactly); the highest q wins, then the more
// specific match, then the order text/html, v1+html, v1+json. No Accept
// header, */*, or nothing acceptable gives text/html. The chosen file's
// Content-Type is the format's media type (text/html; charset=utf-8 for
// PEP 503 HTML).
func (Publisher) Route(r *http.Request, rel string, pub *publish.Publication) (target string, redirect bool, vary string, ok bool) {
	if pub == nil {
		return "", false, "", false
	}
	if rel == SimpleDir {
		if _, ok := pub.File(SimpleDir + "/" + IndexHTML); ok {
			return SimpleDir + "/", true, "", true
		}
		return "", false, "", false
	}
	rest, under := strings.CutPrefix(rel, SimpleDir+"/")
	if !under {
		return "", false, "", false
	}
	if _, ok := pub.File(rel); ok {
		return "", false, "", false // a generated file, asked for by name
	}
	dir := SimpleDir + "/"
	if rest != "" {
		name, tail, slash := strings.Cut(rest, "/")
		if tail != "" {
			return "", false, "", false
		}
		norm := pyformat.NormalizeName(name)
		dir += norm + "/"
		if _, ok := pub.File(dir + IndexHTML); !ok {
			return "", false, "", false
		}
		if norm != name || !slash {
			return dir, true, "", true
		}
	}
	if _, ok := pub.File(dir + IndexHTML); !ok {
		return "", false, "", false
	}
	switch negotiate(r) {
	case formatJSON:
		return dir + IndexJSON, false, "Accept", true
	case formatV1HTML:
		return dir + IndexV1HTML, false, "Accept", true
	}
	return dir + IndexHTML, false, "Accept", true
}

// format is one of the Simple API's representations.
type format int

const (
	formatHTML   format = iota // text/html (PEP 503)
	formatV1HTML               // application/vnd.pypi.simple.v1+html
	formatJSON                 // application/vnd.pypi.simple.v1+json
)

// offers lists the media types of each format (its own, then the "latest"
// alias), in the server's order of preference for ties. Read-only.
var offers = [...]struct {
	f     format
	types []string
}{
	{formatHTML, []string{"text/html"}},
	{formatV1HTML, []string{pyformat.ContentTypeHTML, "application/vnd.pypi.simple.latest+html"}},
	{formatJSON, []string{pyformat.ContentTypeJSON, "application/vnd.pypi.simple.latest+json"}},
}

// negotiate picks the format of a Simple API response.
func negotiate(r *http.Request) format {
	if v := r.URL.Query().Get("format"); v != "" {
		mt, _, _ := strings.Cut(v, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		switch mt {
		case "json":
			return formatJSON
		case "html":
			return formatHTML
		}
		for _, o := range offers {
			for _, t := range o.types {
				if mt == t {
					return o.f
				}
			}
		}
	}
	ranges := parseAccept(strings.Join(r.Header.Values("Accept"), ","))
	if len(ranges) == 0 {
		return formatHTML
	}
	best, bestQ, bestSpec := formatHTML, 0.0, -1
	for _, o := range offers {
		q, spec := 0.0, -1
		for i, t := range o.types {
			tq, ts := quality(ranges, t)
			if i > 0 && ts < 2 {
				continue // "latest" counts only when named: the response is v1
			}
			if tq > q || (tq == q && ts > spec) {
				q, spec = tq, ts
			}
		}
		if q > bestQ || (q == bestQ && q > 0 && spec > bestSpec) {
			best, bestQ, bestSpec = o.f, q, spec
		}
	}
	return best
}

// mediaRange is one element of an Accept header.
type mediaRange struct {
	typ, sub string // lower case; "*" for a wildcard
	q        float64
}

// maxAcceptRanges bounds the media ranges read from one request.
const maxAcceptRanges = 64

// parseAccept reads an Accept header (RFC 9110 12.5.1), skipping malformed
// ranges and those past maxAcceptRanges.
func parseAccept(h string) []mediaRange {
	var out []mediaRange
	for part := range strings.SplitSeq(h, ",") {
		if len(out) == maxAcceptRanges {
			break
		}
		params := strings.Split(part, ";")
		mt := strings.ToLower(strings.TrimSpace(params[0]))
		if mt == "" {
			continue
		}
		if mt == "*" {
			mt = "*/*" // as some clients send it
		}
		typ, sub, ok := strings.Cut(mt, "/")
		if !ok || typ == "" || sub == "" || (typ == "*" && sub != "*") {
			continue
		}
		m := mediaRange{typ: typ, sub: sub, q: 1}
		for _, p := range params[1:] {
			k, v, _ := strings.Cut(p, "=")
			if strings.ToLower(strings.TrimSpace(k)) != "q" {
				continue
			}
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || q < 0 || q > 1 {
				m.q = -1 // malformed: skip the range
			} else {
				m.q = q
			}
			break // parameters after q are accept-extensions
		}
		if m.q >= 0 {
			out = append(out, m)
		}
	}
	return out
}

// quality returns the q of media type t ("type/subtype") under ranges, from
// the most specific range matching it, and that specificity: 2 for
// type/subtype, 1 for type/*, 0 for */*; -1 when none matches.
func quality(ranges []mediaRange, t string) (q float64, spec int) {
	typ, sub, _ := strings.Cut(t, "/")
	spec = -1
	for _, m := range ranges {
		s := -1
		switch {
		case m.typ == typ && m.sub == sub:
			s = 2
		case m.typ == typ && m.sub == "*":
			s = 1
		case m.typ == "*":
			s = 0
		}
		if s > spec {
			q, spec = m.q, s
		}
	}
	return q, spec
}
