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
)

// listItem is one line of a directory listing.
type listItem struct {
	name string // without a trailing '/'
	dir  bool
	size int64
}

// children lists the immediate children of directory dir ("" or ending in
// '/') in q's version, publication files included; ok is false when
// nothing lies under dir.
func (s *Server) children(ctx context.Context, q *request, dir string) ([]listItem, bool, error) {
	rs, err := s.records(ctx, q.vs)
	if err != nil {
		return nil, false, err
	}
	var items []listItem
	add := func(p string, size int64) {
		rest := p[len(dir):]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			name := rest[:i]
			if n := len(items); n > 0 && items[n-1].dir && items[n-1].name == name {
				return
			}
			items = append(items, listItem{name: name, dir: true})
			return
		}
		items = append(items, listItem{name: rest, size: size})
	}
	for i := sort.Search(len(rs), func(i int) bool { return rs[i].Path >= dir }); i < len(rs) && strings.HasPrefix(rs[i].Path, dir); i++ {
		add(rs[i].Path, rs[i].Size)
	}
	pub, err := s.publication(ctx, q)
	if err != nil {
		return nil, false, err
	}
	if pub != nil {
		n := len(items)
		for _, p := range pub.Paths() {
			if strings.HasPrefix(p, dir) {
				f, _ := pub.File(p)
				add(p, int64(len(f.Content)))
			}
		}
		if len(items) > n {
			sort.SliceStable(items, func(i, j int) bool { return items[i].name < items[j].name })
			out := items[:0]
			for i, it := range items {
				if i > 0 && it.dir && out[len(out)-1].dir && out[len(out)-1].name == it.name {
					continue
				}
				out = append(out, it)
			}
			items = out
		}
	}
	return items, len(items) > 0, nil
}

// isDir reports whether anything lies under directory p.
func (s *Server) isDir(ctx context.Context, q *request, p string) (bool, error) {
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
		href, name := url.PathEscape(it.name), it.name
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
