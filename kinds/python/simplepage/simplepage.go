package simplepage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	pyformat "github.com/pkgvc/pkgvc/kinds/python/format"
)

// Limits.
const (
	// MaxPageSize bounds a page's bytes.
	MaxPageSize = 64 << 20
	// MaxFilenameLen bounds a file name.
	MaxFilenameLen = 1024
)

// Accept is the Accept header a client sends to get PEP 691 JSON from
// an index that offers it and HTML from one that does not.
const Accept = pyformat.ContentTypeJSON + ", " + pyformat.ContentTypeHTML + ";q=0.2, text/html;q=0.1"

// ErrInvalid marks a page that cannot be read or trusted.
var ErrInvalid = errors.New("invalid simple index page")

// ErrTooLarge marks a page over MaxPageSize; it wraps ErrInvalid.
var ErrTooLarge = fmt.Errorf("%w: over %d bytes", ErrInvalid, MaxPageSize)

// File is one distribution file linked from a project page.
type File struct {
	// Filename is the file's name: the link text (HTML) or "filename"
	// (JSON), else the URL's last path segment.
	Filename string
	// URL is absolute (http or https), resolved against the page's URL,
	// without its fragment.
	URL *url.URL
	// Hashes maps hash names (lower case) to hex digests, from the URL's
	// "#name=digest" fragment (HTML) or "hashes" (JSON).
	Hashes         map[string]string
	RequiresPython string
	Yanked         bool
	YankedReason   string
	// Size is the file's size, -1 if the page does not say.
	Size int64
	// UploadTime is PEP 700's upload-time, if given (JSON only).
	UploadTime string
	// CoreMetadataSHA256 is the PEP 658 metadata file's hex SHA-256, if
	// the page gives one.
	CoreMetadataSHA256 string
}

// IsJSON reports whether a response's Content-Type is PEP 691 JSON.
func IsJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && strings.EqualFold(mt, pyformat.ContentTypeJSON)
}

// limited reads at most MaxPageSize bytes, then fails with ErrTooLarge.
type limited struct {
	r io.Reader
	n int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.n <= 0 {
		var one [1]byte
		if n, _ := io.ReadFull(l.r, one[:]); n > 0 {
			return 0, ErrTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

func limit(r io.Reader) io.Reader { return &limited{r: r, n: MaxPageSize} }

// ParseProjectList reads a root page and returns the project names it
// lists, as written (the caller normalizes them). JSON is read when
// contentType is PEP 691's, HTML otherwise (each link's text is a name).
func ParseProjectList(r io.Reader, contentType string) ([]string, error) {
	r = limit(r)
	if IsJSON(contentType) {
		var l pyformat.ProjectList
		if err := json.NewDecoder(r).Decode(&l); err != nil {
			return nil, invalid("project list", err)
		}
		names := make([]string, 0, len(l.Projects))
		for _, p := range l.Projects {
			names = append(names, p.Name)
		}
		return names, nil
	}
	var names []string
	err := eachLink(r, func(attrs map[string]string, text string) error {
		names = append(names, strings.TrimSpace(text))
		return nil
	})
	if err != nil {
		return nil, invalid("project list", err)
	}
	return names, nil
}

// ParseProject reads one project's page, fetched from page, and returns
// its files: JSON when contentType is PEP 691's, HTML otherwise.
func ParseProject(r io.Reader, contentType string, page *url.URL) ([]File, error) {
	r = limit(r)
	if IsJSON(contentType) {
		return parseProjectJSON(r, page)
	}
	return parseProjectHTML(r, page)
}

func parseProjectJSON(r io.Reader, page *url.URL) ([]File, error) {
	var p pyformat.ProjectPage
	if err := json.NewDecoder(r).Decode(&p); err != nil {
		return nil, invalid("project page", err)
	}
	out := make([]File, 0, len(p.Files))
	for _, jf := range p.Files {
		u, err := resolve(page, jf.URL)
		if err != nil {
			return nil, invalid("project page", err)
		}
		f := File{
			URL: u, Filename: jf.Filename, Hashes: lowerKeys(jf.Hashes), RequiresPython: jf.RequiresPython,
			Yanked: jf.Yanked.Yanked, YankedReason: jf.Yanked.Reason, Size: -1,
		}
		if jf.Size > 0 {
			f.Size = jf.Size
		}
		if !jf.UploadTime.IsZero() {
			f.UploadTime = jf.UploadTime.UTC().Format(pyformat.UploadTimeFormat)
		}
		f.CoreMetadataSHA256 = jf.CoreMetadata.Hashes["sha256"]
		if err := f.finish(); err != nil {
			return nil, invalid("project page", err)
		}
		out = append(out, f)
	}
	return out, nil
}

func parseProjectHTML(r io.Reader, page *url.URL) ([]File, error) {
	var out []File
	err := eachLink(r, func(attrs map[string]string, text string) error {
		href, ok := attrs["href"]
		if !ok {
			return nil // an anchor, not a link
		}
		u, err := resolve(page, href)
		if err != nil {
			return err
		}
		f := File{URL: u, Filename: strings.TrimSpace(text), RequiresPython: attrs["data-requires-python"], Size: -1}
		if frag := u.Fragment; frag != "" {
			if name, digest, ok := strings.Cut(frag, "="); ok && name != "" && digest != "" {
				f.Hashes = map[string]string{strings.ToLower(name): digest}
			}
		}
		u.Fragment, u.RawFragment = "", ""
		if reason, ok := attrs["data-yanked"]; ok {
			f.Yanked, f.YankedReason = true, reason
		}
		for _, k := range []string{"data-core-metadata", "data-dist-info-metadata"} {
			if v, ok := strings.CutPrefix(attrs[k], "sha256="); ok && f.CoreMetadataSHA256 == "" {
				f.CoreMetadataSHA256 = v
			}
		}
		if err := f.finish(); err != nil {
			return err
		}
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, invalid("project page", err)
	}
	return out, nil
}

// finish fills a missing file name from the URL and checks it.
func (f *File) finish() error {
	if f.Filename == "" {
		seg := f.URL.Path[strings.LastIndexByte(f.URL.Path, '/')+1:]
		f.Filename = seg
	}
	return CheckFilename(f.Filename)
}

// CheckFilename refuses a file name that is empty, too long, holds a
// path separator, control characters or "..", or starts with a dot.
func CheckFilename(name string) error {
	switch {
	case name == "":
		return errors.New("empty file name")
	case len(name) > MaxFilenameLen:
		return fmt.Errorf("file name of %d bytes is too long", len(name))
	case strings.ContainsAny(name, `/\`), strings.Contains(name, ".."), name[0] == '.':
		return fmt.Errorf("unsafe file name %q", name)
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f {
			return fmt.Errorf("file name %q has control characters", name)
		}
	}
	return nil
}

// resolve resolves href against page and refuses anything but an
// absolute http or https URL with a host and no user info.
func resolve(page *url.URL, href string) (*url.URL, error) {
	href = strings.TrimSpace(href)
	if href == "" {
		return nil, errors.New("empty link")
	}
	ref, err := url.Parse(href)
	if err != nil {
		return nil, fmt.Errorf("link %q: %w", href, err)
	}
	u := page.ResolveReference(ref)
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("link %q: scheme %q refused (want http or https)", href, u.Scheme)
	case u.Host == "":
		return nil, fmt.Errorf("link %q: no host", href)
	case u.User != nil:
		return nil, fmt.Errorf("link %q: credentials in a link are refused", href)
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == ".." {
			return nil, fmt.Errorf("link %q: '..' in its path", href)
		}
	}
	return u, nil
}

// eachLink calls fn for every <a> element with its attributes (names
// lower case, values unescaped) and its text.
func eachLink(r io.Reader, fn func(attrs map[string]string, text string) error) error {
	z := html.NewTokenizer(r)
	z.SetMaxBuf(MaxPageSize)
	var (
		in    bool
		attrs map[string]string
		text  strings.Builder
	)
	end := func() error {
		if !in {
			return nil
		}
		in = false
		return fn(attrs, text.String())
	}
	for {
		switch z.Next() {
		case html.ErrorToken:
			if err := z.Err(); !errors.Is(err, io.EOF) {
				return err
			}
			return end()
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if atom.Lookup(name) != atom.A {
				continue
			}
			if err := end(); err != nil { // an unclosed <a> ends at the next
				return err
			}
			in, attrs = true, make(map[string]string)
			text.Reset()
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				if _, dup := attrs[string(k)]; !dup {
					attrs[string(k)] = string(v)
				}
			}
		case html.EndTagToken:
			if name, _ := z.TagName(); atom.Lookup(name) == atom.A {
				if err := end(); err != nil {
					return err
				}
			}
		case html.TextToken:
			if in && text.Len() < MaxFilenameLen*2 {
				text.Write(z.Text())
			}
		}
	}
}

func lowerKeys(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

func invalid(what string, err error) error {
	if errors.Is(err, ErrInvalid) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrInvalid, what, err)
}
