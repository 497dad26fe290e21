package publish

import (
	"bytes"
	"context"
	"html"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/pkgvc/pkgvc/repo/tree"
)

// listItem is one line of a directory listing.
type listItem struct {
	name string // without a trailing '/'
	dir  bool
	size int64
}

// children lists the immediate children of directory dir ("" or ending in
// '/') in q's version, publication files included; ok is false when
// nothing lies under dir. A version of up to listMax records is listed
// from its cached sorted records; a larger one is walked, keeping only
// dir's children.
func (s *Server) children(ctx context.Context, q *request, dir string) ([]listItem, bool, error) {
	var items []listItem
	index := map[string]int{} // name (with a trailing '/' for a directory) -> position in items
	add := func(p string, size int64) {
		rest := p[len(dir):]
		it := listItem{name: rest, size: size}
		key := rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			it = listItem{name: rest[:i], dir: true}
			key = rest[:i+1]
		}
		if _, dup := index[key]; !dup {
			index[key] = len(items)
			items = append(items, it)
		}
	}
	n, err := s.count(ctx, q.vs)
	if err != nil {
		return nil, false, err
	}
	if n <= s.listMax {
		rs, err := s.records(ctx, q.vs)
		if err != nil {
			return nil, false, err
		}
		for i := sort.Search(len(rs), func(i int) bool { return rs[i].Path >= dir }); i < len(rs) && strings.HasPrefix(rs[i].Path, dir); i++ {
			add(rs[i].Path, rs[i].Size)
		}
	} else if err := tree.Walk(ctx, s.st.Objects(), q.vs.v.Tree, func(e tree.Entry) error {
		if strings.HasPrefix(e.Path, dir) {
			add(e.Path, e.Size)
		}
		return nil
	}); err != nil {
		return nil, false, err
	}
	pub, err := s.publication(ctx, q)
	if err != nil {
		return nil, false, err
	}
	if pub != nil {
		for _, p := range pub.Paths() {
			if strings.HasPrefix(p, dir) {
				f, _ := pub.File(p)
				add(p, int64(len(f.Content)))
			}
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].name < items[j].name })
	return items, len(items) > 0, nil
}

// isDir reports whether anything lies under directory p. For a version
// too large to list from memory it answers false, so that a request for a
// missing path never walks a whole version.
func (s *Server) isDir(ctx context.Context, q *request, p string) (bool, error) {
	if n, err := s.count(ctx, q.vs); err != nil || n > s.listMax {
		return false, err
	}
	_, ok, err := s.children(ctx, q, p+"/")
	return ok, err
}

// serveListing writes a simple HTML index of a directory.
func (s *Server) serveListing(w http.ResponseWriter, r *http.Request, q *request, cc []string) {
	items, ok, err := s.children(r.Context(), q, q.sub)
	if err != nil {
		s.internal(w, r, "list "+q.sub, err)
		return
	}
	if !ok && q.sub != "" {
		textError(w, http.StatusNotFound, "not found: no directory "+q.sub+" in distribution "+q.dist.name)
		return
	}
	title := html.EscapeString(q.prefix + escapePath(q.sub))
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of ")
	b.WriteString(title)
	b.WriteString("</title></head>\n<body><h1>Index of ")
	b.WriteString(title)
	b.WriteString("</h1>\n<pre>\n")
	if q.sub != "" {
		b.WriteString("<a href=\"../\">../</a>\n")
	}
	for _, it := range items {
		// Always relative: a name such as "javascript:x" stays a path.
		href, name := "./"+url.PathEscape(it.name), it.name
		if it.dir {
			href, name = href+"/", name+"/"
		}
		b.WriteString(`<a href="`)
		b.WriteString(html.EscapeString(href))
		b.WriteString(`">`)
		b.WriteString(html.EscapeString(name))
		b.WriteString("</a>")
		if !it.dir {
			b.WriteString(strings.Repeat(" ", max(1, 50-len(name))))
			b.WriteString(strconv.FormatInt(it.size, 10))
		}
		b.WriteByte('\n')
	}
	b.WriteString("</pre>\n</body></html>\n")
	h := w.Header()
	h["Content-Type"] = htmlType
	h["Cache-Control"] = cc
	h["Content-Length"] = []string{strconv.Itoa(b.Len())}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b.Bytes()) // a client that went away is not an error
	}
}

// escapePath escapes each segment of a '/'-separated path for a URL.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
