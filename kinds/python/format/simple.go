package format

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"sort"
	"strings"
	"time"
)

// Simple Repository API constants.
const (
	// APIVersion is the API version the pages declare: 1.1 has PEP 700's
	// versions, size and upload-time.
	APIVersion = "1.1"
	// ContentTypeJSON and ContentTypeHTML are the PEP 691 media types;
	// ContentTypeTextHTML is the PEP 503 one.
	ContentTypeJSON     = "application/vnd.pypi.simple.v1+json"
	ContentTypeHTML     = "application/vnd.pypi.simple.v1+html"
	ContentTypeTextHTML = "text/html; charset=utf-8"
	// UploadTimeFormat is PEP 700's upload-time layout (always UTC).
	UploadTimeFormat = "2006-01-02T15:04:05.000000Z"
)

// Meta is the "meta" member of every PEP 691 response.
type Meta struct {
	APIVersion string `json:"api-version"`
}

// ProjectList is the PEP 691 root page: every project.
type ProjectList struct {
	Meta     Meta         `json:"meta"`
	Projects []ProjectRef `json:"projects"`
}

// ProjectRef names one project of a ProjectList.
type ProjectRef struct {
	Name string `json:"name"`
}

// ProjectPage is the PEP 691 page of one project.
type ProjectPage struct {
	Meta Meta   `json:"meta"`
	Name string `json:"name"`
	// Versions lists every version of the project (PEP 700).
	Versions []string `json:"versions"`
	Files    []File   `json:"files"`
}

// File is one distribution file of a ProjectPage. URL is relative to the
// page or absolute, without a fragment; Hashes maps hash names to hex
// digests.
type File struct {
	Filename       string            `json:"filename"`
	URL            string            `json:"url"`
	Hashes         map[string]string `json:"hashes"`
	RequiresPython string            `json:"requires-python,omitempty"`
	// CoreMetadata is PEP 714's "core-metadata". It is read from PEP
	// 658's older "dist-info-metadata" too, but only "core-metadata" is
	// written: pip 22.3 to 23.1 crash on a dist-info-metadata object.
	CoreMetadata CoreMetadata `json:"core-metadata,omitzero"`
	Yanked       Yanked       `json:"yanked,omitzero"`
	// Size and UploadTime are PEP 700's; a zero UploadTime is left out.
	Size       int64      `json:"size"`
	UploadTime UploadTime `json:"upload-time,omitzero"`
}

// UnmarshalJSON reads a file, taking "dist-info-metadata" for
// "core-metadata" when only the older key is given (PEP 714).
func (f *File) UnmarshalJSON(b []byte) error {
	type plain File // without this method
	var v struct {
		plain
		DistInfoMetadata *CoreMetadata `json:"dist-info-metadata"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = File(v.plain)
	if !f.CoreMetadata.Available && v.DistInfoMetadata != nil {
		f.CoreMetadata = *v.DistInfoMetadata
	}
	return nil
}

// CoreMetadata tells whether a file's core metadata is served at its URL
// plus ".metadata" (PEP 658), with the metadata file's hashes when known.
// In JSON it is false, true or {"sha256": "…"}.
type CoreMetadata struct {
	Available bool
	Hashes    map[string]string
}

// IsZero reports an unavailable CoreMetadata, which JSON leaves out.
func (c CoreMetadata) IsZero() bool { return !c.Available }

// MarshalJSON writes false, true or the hashes.
func (c CoreMetadata) MarshalJSON() ([]byte, error) {
	switch {
	case !c.Available:
		return []byte("false"), nil
	case len(c.Hashes) == 0:
		return []byte("true"), nil
	}
	return json.Marshal(c.Hashes)
}

// UnmarshalJSON reads false, true or a hashes object.
func (c *CoreMetadata) UnmarshalJSON(b []byte) error {
	var v bool
	if err := json.Unmarshal(b, &v); err == nil {
		*c = CoreMetadata{Available: v}
		return nil
	}
	var h map[string]string
	if err := json.Unmarshal(b, &h); err != nil {
		return fmt.Errorf("core metadata: want a boolean or a hashes object: %w", err)
	}
	*c = CoreMetadata{Available: true, Hashes: h}
	return nil
}

// attr is the value of the HTML data-core-metadata attribute: "true" or
// "sha256=…".
func (c CoreMetadata) attr() string {
	if name, digest, ok := preferredHash(c.Hashes); ok {
		return name + "=" + digest
	}
	return "true"
}

// Yanked is PEP 592's mark of a file the installer should not pick unless
// pinned to it. In JSON it is false, true or the reason.
type Yanked struct {
	Yanked bool
	Reason string
}

// IsZero reports a file that is not yanked, which JSON leaves out.
func (y Yanked) IsZero() bool { return !y.Yanked }

// MarshalJSON writes false, true or the reason.
func (y Yanked) MarshalJSON() ([]byte, error) {
	switch {
	case !y.Yanked:
		return []byte("false"), nil
	case y.Reason == "":
		return []byte("true"), nil
	}
	return json.Marshal(y.Reason)
}

// UnmarshalJSON reads false, true or a reason.
func (y *Yanked) UnmarshalJSON(b []byte) error {
	var v bool
	if err := json.Unmarshal(b, &v); err == nil {
		*y = Yanked{Yanked: v}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("yanked: want a boolean or a string: %w", err)
	}
	*y = Yanked{Yanked: true, Reason: s}
	return nil
}

// UploadTime is a PEP 700 upload-time, written in UploadTimeFormat.
type UploadTime struct{ time.Time }

// MarshalJSON writes the time in UTC, in UploadTimeFormat.
func (u UploadTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(u.UTC().Format(UploadTimeFormat))
}

// UnmarshalJSON reads an ISO 8601 time (RFC 3339, fractions optional).
func (u *UploadTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("upload-time: %w", err)
	}
	u.Time = t
	return nil
}

// preferredHash picks the hash HTML links carry: sha256 if given, else
// the first by name.
func preferredHash(h map[string]string) (name, digest string, ok bool) {
	if d, ok := h["sha256"]; ok {
		return "sha256", d, true
	}
	names := make([]string, 0, len(h))
	for n := range h {
		names = append(names, n)
	}
	if len(names) == 0 {
		return "", "", false
	}
	sort.Strings(names)
	return names[0], h[names[0]], true
}

// writeJSON writes v as one line of JSON, '<' and '&' unescaped.
func writeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// WriteJSON writes l as PEP 691 JSON.
func (l *ProjectList) WriteJSON(w io.Writer) error { return writeJSON(w, l) }

// WriteJSON writes p as PEP 691 JSON.
func (p *ProjectPage) WriteJSON(w io.Writer) error { return writeJSON(w, p) }

const htmlHead = "<!DOCTYPE html>\n<html>\n  <head>\n" +
	`    <meta name="pypi:repository-version" content="` + APIVersion + "\">\n"

// WriteHTML writes l as a PEP 503 page: one link per project, to
// "{name}/" (names as given, which should be normalized).
func (l *ProjectList) WriteHTML(w io.Writer) error {
	var b strings.Builder
	b.WriteString(htmlHead)
	b.WriteString("    <title>Simple index</title>\n  </head>\n  <body>\n")
	for _, p := range l.Projects {
		e := html.EscapeString(p.Name)
		fmt.Fprintf(&b, "    <a href=\"%s/\">%s</a><br>\n", e, e)
	}
	b.WriteString("  </body>\n</html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteHTML writes p as a PEP 503 page: one link per file, the URL with a
// #name=digest fragment, and the data-requires-python, data-yanked,
// data-core-metadata and data-dist-info-metadata attributes (PEP 714 lets
// HTML keep the older name, with the same value, for older clients).
func (p *ProjectPage) WriteHTML(w io.Writer) error {
	var b strings.Builder
	e := html.EscapeString(p.Name)
	b.WriteString(htmlHead)
	fmt.Fprintf(&b, "    <title>Links for %s</title>\n  </head>\n  <body>\n    <h1>Links for %s</h1>\n", e, e)
	for _, f := range p.Files {
		href := f.URL
		if name, digest, ok := preferredHash(f.Hashes); ok {
			href += "#" + name + "=" + digest
		}
		fmt.Fprintf(&b, "    <a href=\"%s\"", html.EscapeString(href))
		if f.RequiresPython != "" {
			fmt.Fprintf(&b, " data-requires-python=\"%s\"", html.EscapeString(f.RequiresPython))
		}
		if f.Yanked.Yanked {
			fmt.Fprintf(&b, " data-yanked=\"%s\"", html.EscapeString(f.Yanked.Reason))
		}
		if f.CoreMetadata.Available {
			a := html.EscapeString(f.CoreMetadata.attr())
			fmt.Fprintf(&b, " data-dist-info-metadata=\"%s\" data-core-metadata=\"%s\"", a, a)
		}
		fmt.Fprintf(&b, ">%s</a><br>\n", html.EscapeString(f.Filename))
	}
	b.WriteString("  </body>\n</html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
