package format

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Field is one field of a deb822 paragraph. Value is the text after the
// colon with the first line's surrounding whitespace trimmed; each
// continuation line follows a "\n" as written (with its leading space or
// tab), without trailing whitespace.
type Field struct {
	Name  string
	Value string
}

// Paragraph is one deb822 paragraph (a control file, a Packages stanza, a
// Release file), its fields in file order.
type Paragraph struct {
	Fields []Field
	Line   int // line number of its first field
}

// Get returns the value of field name, matched case-insensitively as
// Debian field names are.
func (p Paragraph) Get(name string) (string, bool) {
	for _, f := range p.Fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// Value returns the value of field name, "" when absent.
func (p Paragraph) Value(name string) string {
	v, _ := p.Get(name)
	return v
}

// Without returns p without the named fields (case-insensitive).
func (p Paragraph) Without(names ...string) Paragraph {
	out := Paragraph{Line: p.Line, Fields: make([]Field, 0, len(p.Fields))}
next:
	for _, f := range p.Fields {
		for _, n := range names {
			if strings.EqualFold(f.Name, n) {
				continue next
			}
		}
		out.Fields = append(out.Fields, f)
	}
	return out
}

// String writes p back as deb822 text, one "Name: value" per field and
// its continuation lines, with no trailing newline.
func (p Paragraph) String() string {
	var b strings.Builder
	for i, f := range p.Fields {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(f.Name)
		b.WriteByte(':')
		if f.Value != "" && f.Value[0] != '\n' {
			b.WriteByte(' ')
		}
		b.WriteString(f.Value)
	}
	return b.String()
}

// Limits on deb822 input: a longer line or paragraph is an error.
const (
	MaxLineBytes      = 1 << 20
	MaxParagraphBytes = 64 << 20
)

// ErrSyntax reports malformed deb822 text.
var ErrSyntax = errors.New("deb822 syntax error")

// Reader reads deb822 paragraphs one at a time, so that an index of any
// number of stanzas is read in bounded memory.
type Reader struct {
	r    *bufio.Reader
	line int
	err  error
}

// NewReader reads paragraphs from r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, 64<<10)} }

// ParseParagraphs reads every paragraph of r.
func ParseParagraphs(r io.Reader) ([]Paragraph, error) {
	pr := NewReader(r)
	var out []Paragraph
	for {
		p, err := pr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
}

// ParseControl reads a control file: exactly one paragraph.
func ParseControl(b []byte) (Paragraph, error) {
	ps, err := ParseParagraphs(bytes.NewReader(b))
	if err != nil {
		return Paragraph{}, err
	}
	switch len(ps) {
	case 0:
		return Paragraph{}, fmt.Errorf("%w: control file holds no fields", ErrSyntax)
	case 1:
		return ps[0], nil
	}
	return Paragraph{}, fmt.Errorf("%w: line %d: control file holds a second paragraph", ErrSyntax, ps[1].Line)
}

// Next returns the next paragraph, io.EOF after the last.
func (r *Reader) Next() (Paragraph, error) {
	if r.err != nil {
		return Paragraph{}, r.err
	}
	p, err := r.next()
	if err != nil {
		r.err = err
	}
	return p, err
}

func (r *Reader) next() (Paragraph, error) {
	var p Paragraph
	size := 0
	for {
		line, err := r.readLine()
		if errors.Is(err, io.EOF) {
			if len(p.Fields) > 0 {
				return p, nil
			}
			return p, io.EOF
		}
		if err != nil {
			return p, err
		}
		size += len(line) + 1
		if size > MaxParagraphBytes {
			return p, r.errorf("paragraph longer than %d bytes", MaxParagraphBytes)
		}
		line = strings.TrimRight(line, " \t\r")
		switch {
		case line == "":
			if len(p.Fields) > 0 {
				return p, nil
			}
		case line[0] == ' ' || line[0] == '\t':
			if len(p.Fields) == 0 {
				return p, r.errorf("continuation line outside a field")
			}
			f := &p.Fields[len(p.Fields)-1]
			f.Value += "\n" + line
		case line[0] == '#':
			return p, r.errorf("comment lines are not allowed")
		default:
			name, value, ok := strings.Cut(line, ":")
			if !ok {
				return p, r.errorf("line is neither a field nor a continuation: %.40q", line)
			}
			if err := checkFieldName(name); err != nil {
				return p, r.errorf("%v", err)
			}
			if _, dup := p.Get(name); dup {
				return p, r.errorf("field %s given twice in one paragraph", name)
			}
			if len(p.Fields) == 0 {
				p.Line = r.line
			}
			p.Fields = append(p.Fields, Field{Name: name, Value: strings.TrimSpace(value)})
		}
	}
}

// readLine returns the next line without its newline, counting lines.
func (r *Reader) readLine() (string, error) {
	var buf []byte
	for {
		chunk, err := r.r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > MaxLineBytes {
			r.line++
			return "", r.errorf("line longer than %d bytes", MaxLineBytes)
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(buf) == 0:
			return "", io.EOF
		case err != nil && !errors.Is(err, io.EOF):
			return "", err
		}
		r.line++
		return strings.TrimSuffix(string(buf), "\n"), nil
	}
}

func (r *Reader) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: line %d: %s", ErrSyntax, r.line, fmt.Sprintf(format, args...))
}

// checkFieldName checks a field name as deb822(5) defines it: printable
// US-ASCII but for colon and space, not starting with # or -.
func checkFieldName(n string) error {
	if n == "" {
		return fmt.Errorf("empty field name")
	}
	if n[0] == '-' {
		return fmt.Errorf("field name %q starts with -", n)
	}
	for _, c := range []byte(n) {
		if c <= ' ' || c > '~' {
			return fmt.Errorf("invalid character %q in field name %.40q", c, n)
		}
	}
	return nil
}
