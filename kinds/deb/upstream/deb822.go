package upstream

// A tiny deb822 reader for Release files and Packages indexes, to be
// replaced by kinds/deb/format's parser.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxLine bounds one line of an index (a long Depends is a few KiB).
const maxLine = 1 << 20

// field is one field of a paragraph.
type field struct {
	Name  string
	Value string // first line trimmed; continuation lines follow after "\n", as written
	Raw   string // the field's text as written, without the final newline
}

// paragraph is one deb822 paragraph.
type paragraph struct {
	Fields []field
	Line   int // where it starts, for errors
}

// Get returns the value of field name (case-insensitive), "" if absent.
func (p paragraph) Get(name string) string {
	for _, f := range p.Fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Has reports whether p has field name.
func (p paragraph) Has(name string) bool {
	for _, f := range p.Fields {
		if strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// errSyntax marks a text that is not deb822.
var errSyntax = errors.New("not a deb822 text")

// readParagraphs calls fn for each paragraph of r, in order.
func readParagraphs(r io.Reader, fn func(paragraph) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var cur paragraph
	n := 0
	flush := func() error {
		if len(cur.Fields) == 0 {
			return nil
		}
		p := cur
		cur = paragraph{}
		return fn(p)
	}
	for sc.Scan() {
		n++
		line := strings.TrimSuffix(sc.Text(), "\r")
		switch {
		case strings.TrimSpace(line) == "":
			if err := flush(); err != nil {
				return err
			}
		case line[0] == ' ' || line[0] == '\t':
			if len(cur.Fields) == 0 {
				return fmt.Errorf("%w: line %d: continuation line outside a field", errSyntax, n)
			}
			f := &cur.Fields[len(cur.Fields)-1]
			f.Value += "\n" + line
			f.Raw += "\n" + line
		default:
			name, val, ok := strings.Cut(line, ":")
			if !ok || name == "" || strings.ContainsAny(name, " \t") {
				return fmt.Errorf("%w: line %d: %q is not a field", errSyntax, n, trunc(line))
			}
			if cur.Has(name) {
				return fmt.Errorf("%w: line %d: field %s given twice", errSyntax, n, name)
			}
			if len(cur.Fields) == 0 {
				cur.Line = n
			}
			cur.Fields = append(cur.Fields, field{Name: name, Value: strings.TrimSpace(val), Raw: line})
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%w: line %d longer than %d bytes", errSyntax, n+1, maxLine)
		}
		return err
	}
	return flush()
}

func trunc(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
