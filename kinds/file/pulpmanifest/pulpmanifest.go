// Package pulpmanifest reads and writes PULP_MANIFEST, the index of a
// Pulp file repository: one line per file, "relative_path,sha256,size",
// as CSV (a path holding a comma or a quote is quoted).
//
// # Reading
//
// Parse streams the manifest line by line and is strict: a malformed line
// (wrong field count, a digest that is not 64 hex digits, a size that is
// not a non-negative decimal), an unsafe path (absolute, with "." or ".."
// or empty segments, backslashes or control characters; see
// tree.ValidatePath) or a path listed twice fails the whole manifest with
// a *LineError naming the line. Empty lines are skipped.
//
// # Writing
//
// Write emits entries in the order given, one line each, refusing the same
// things Parse refuses, so whatever Write produces Parse reads back.
package pulpmanifest

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// Name is the file name a manifest is published under.
const Name = "PULP_MANIFEST"

// MaxLineLen bounds one manifest line in bytes; longer lines are refused
// rather than buffered.
const MaxLineLen = 16 << 10

// ErrInvalid is matched (errors.Is) by every error about the manifest's
// content.
var ErrInvalid = errors.New("invalid PULP_MANIFEST")

// Entry is one file listed by a manifest.
type Entry struct {
	Path   string     // relative, '/'-separated
	SHA256 objects.ID // digest of the content
	Size   int64      // content size in bytes
}

// LineError reports a bad manifest line. It matches ErrInvalid and the
// underlying cause (e.g. tree.ErrInvalidPath) with errors.Is.
type LineError struct {
	Line int // 1-based
	Err  error
}

func (e *LineError) Error() string {
	return fmt.Sprintf("PULP_MANIFEST line %d: %s", e.Line, e.Err.Error())
}

// Unwrap returns ErrInvalid and the cause.
func (e *LineError) Unwrap() []error { return []error{ErrInvalid, e.Err} }

// Parse reads a whole manifest. See Read for the rules.
func Parse(r io.Reader) ([]Entry, error) {
	var out []Entry
	err := Read(r, func(e Entry) error {
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Read streams a manifest, calling fn once per entry in file order. It
// stops at the first bad line, returning a *LineError, or at the first
// error fn returns, returning it. Entries already passed to fn are not
// taken back: a caller that must not act on a bad manifest collects first
// (Parse does).
func Read(r io.Reader, fn func(Entry) error) error {
	lr := &lineLimiter{r: bufio.NewReaderSize(r, 64<<10)}
	cr := csv.NewReader(lr)
	cr.FieldsPerRecord = 3
	cr.ReuseRecord = true
	seen := make(map[string]int)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return &LineError{Line: pe.StartLine, Err: describeCSV(pe)}
			}
			if errors.Is(err, errLineTooLong) {
				return &LineError{Line: lr.line, Err: err}
			}
			return fmt.Errorf("read PULP_MANIFEST: %w", err)
		}
		line, _ := cr.FieldPos(0)
		e, err := parseFields(rec)
		if err != nil {
			return &LineError{Line: line, Err: err}
		}
		if prev, dup := seen[e.Path]; dup {
			return &LineError{Line: line, Err: fmt.Errorf("path %q is listed twice (first on line %d)", e.Path, prev)}
		}
		seen[e.Path] = line
		if err := fn(e); err != nil {
			return err
		}
	}
}

func describeCSV(pe *csv.ParseError) error {
	if errors.Is(pe.Err, csv.ErrFieldCount) {
		return errors.New("want 3 comma-separated fields: relative_path,sha256,size")
	}
	return fmt.Errorf("column %d: %w", pe.Column, pe.Err)
}

func parseFields(rec []string) (Entry, error) {
	p, digest, size := rec[0], rec[1], rec[2]
	if err := tree.ValidatePath(p); err != nil {
		return Entry{}, err
	}
	id, err := parseDigest(digest)
	if err != nil {
		return Entry{}, err
	}
	n, err := parseSize(size)
	if err != nil {
		return Entry{}, err
	}
	return Entry{Path: p, SHA256: id, Size: n}, nil
}

func parseDigest(s string) (objects.ID, error) {
	if len(s) != 64 {
		return objects.ID{}, fmt.Errorf("sha256 %q: want 64 hex digits, got %d characters", s, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return objects.ID{}, fmt.Errorf("sha256 %q: %q is not a hex digit", s, c)
		}
	}
	return objects.ParseID(strings.ToLower(s))
}

func parseSize(s string) (int64, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("size %q: want a non-negative decimal number of bytes", s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: too large", s)
	}
	return n, nil
}

// Write writes entries as a manifest, one line each in the order given
// (pass them sorted by path for a stable output). It refuses, before
// writing anything, an entry Parse would refuse: an unsafe path, a
// negative size, a path given twice.
func Write(w io.Writer, entries []Entry) error {
	seen := make(map[string]int, len(entries))
	for i, e := range entries {
		if err := tree.ValidatePath(e.Path); err != nil {
			return fmt.Errorf("%w: entry %d: %w", ErrInvalid, i+1, err)
		}
		if e.Size < 0 {
			return fmt.Errorf("%w: entry %d (%s): negative size %d", ErrInvalid, i+1, e.Path, e.Size)
		}
		if prev, dup := seen[e.Path]; dup {
			return fmt.Errorf("%w: path %q given twice (entries %d and %d)", ErrInvalid, e.Path, prev, i+1)
		}
		seen[e.Path] = i + 1
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	rec := make([]string, 3)
	for _, e := range entries {
		rec[0], rec[1], rec[2] = e.Path, e.SHA256.String(), strconv.FormatInt(e.Size, 10)
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write PULP_MANIFEST: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write PULP_MANIFEST: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write PULP_MANIFEST: %w", err)
	}
	return nil
}

var errLineTooLong = fmt.Errorf("line longer than %d bytes", MaxLineLen)

// lineLimiter fails a read once a line grows beyond MaxLineLen, so that a
// hostile manifest cannot make the CSV reader buffer without bound.
type lineLimiter struct {
	r    *bufio.Reader
	cur  int // bytes of the current line so far
	line int // 1-based number of the current line
	err  error
}

func (l *lineLimiter) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if l.line == 0 {
		l.line = 1
	}
	n, err := l.r.Read(p)
	for i, c := range p[:n] {
		if c == '\n' {
			l.cur = 0
			l.line++
			continue
		}
		l.cur++
		if l.cur > MaxLineLen {
			l.err = errLineTooLong
			return i, l.err
		}
	}
	return n, err
}
