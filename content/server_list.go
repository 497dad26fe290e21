package content

import (
	"bytes"
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/pkgvc/pkgvc/publish"
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
// nothing lies under dir. The tree lists dir by seeking past each
// subdirectory, so a listing reads what dir holds, not the version; a
// version-1 tree, unordered, is listed from its cached sorted records.
func (s *Server) children(ctx context.Context, q *request, dir string) ([]listItem, bool, error) {
	var items []listItem
	index := map[string]int{} // name (with a trailing '/' for a directory) -> position in items
	add := func(it listItem) {
		key := it.name
		if it.dir {
			key += "/"
		}
		if _, dup := index[key]; !dup {
			index[key] = len(items)
			items = append(items, it)
		}
	}
	objs, root := s.st.Objects(), q.vs.v.Tree
	format, err := tree.Format(ctx, objs, root)
	if err != nil {
		return nil, false, err
	}
	if format == 1 {
		rs, err := s.records(ctx, q.vs)
		if err != nil {
			return nil, false, err
		}
		for i := sort.Search(len(rs), func(i int) bool { return rs[i].Path >= dir }); i < len(rs) && strings.HasPrefix(rs[i].Path, dir); i++ {
			name, isDir := childOf(dir, rs[i].Path)
			add(listItem{name: name, dir: isDir, size: rs[i].Size})
		}
	} else if err := tree.List(ctx, objs, root, dir, func(name string, isDir bool, e *tree.Entry) error {
		it := listItem{name: name, dir: isDir}
		if e != nil {
			it.size = e.Size
		}
		add(it)
		return nil
	}); err != nil {
		return nil, false, err
	}
	pub, err := s.publicationUnder(ctx, q, dir)
	if err != nil {
		return nil, false, err
	}
	if pub != nil {
		// The publication is a tree too: listed by range, as the version.
		if err := pub.List(ctx, dir, func(name string, isDir bool, f *publish.File) error {
			it := listItem{name: name, dir: isDir}
			if f != nil {
				it.size = f.Size
			}
			add(it)
			return nil
		}); err != nil {
			return nil, false, err
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].name < items[j].name })
	return items, len(items) > 0, nil
}

// childOf names the child of directory dir ("" or ending in '/') that p
// lies in, and whether it is a directory.
func childOf(dir, p string) (string, bool) {
	rest := p[len(dir):]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i], true
	}
	return rest, false
}

// publicationUnder returns q's publication if it can hold files under
// directory dir; nil when its publisher places none there, so that such a
// listing does not generate it.
func (s *Server) publicationUnder(ctx context.Context, q *request, dir string) (*publish.Publication, error) {
	if s.pubs == nil || !s.pubs.Touches(q.dist.d.Kind, dir) {
		return nil, nil
	}
	return s.publication(ctx, q)
}

// errFound ends a search at its first hit.
var errFound = errors.New("found")

// isDir reports whether anything lies under directory p: one seek in an
// ordered tree, so a request for a missing path costs O(log n).
func (s *Server) isDir(ctx context.Context, q *request, p string) (bool, error) {
	dir := p + "/"
	format, err := tree.Format(ctx, s.st.Objects(), q.vs.v.Tree)
	if err != nil {
		return false, err
	}
	if format == 1 {
		// Unordered: answer from the cached listing when it fits, and
		// never walk a large version for a missing path.
		if n, err := s.count(ctx, q.vs); err != nil || n > maxListed {
			return false, err
		}
		_, ok, err := s.children(ctx, q, dir)
		return ok, err
	}
	err = tree.Prefix(ctx, s.st.Objects(), q.vs.v.Tree, dir, func(tree.Entry) error { return errFound })
	if errors.Is(err, errFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	pub, err := s.publicationUnder(ctx, q, dir)
	if err != nil || pub == nil {
		return false, err
	}
	return pub.HasDir(ctx, dir)
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
