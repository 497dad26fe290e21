// Package location opens a store by where it is: a registry of openers
// keyed by scheme ("file" today; object stores and databases plug in the
// same way), each yielding the parts a repo.Store is built on. The
// registry is filled explicitly (see package location/all), never by
// init functions.
package location

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
	"github.com/pkgvc/pkgvc/repo"
)

// ErrUnknownScheme reports a location whose scheme no opener handles.
// It matches repo.ErrInvalid.
var ErrUnknownScheme error = &invalid{"unknown store scheme"}

type invalid struct{ msg string }

func (e *invalid) Error() string { return e.msg }
func (e *invalid) Unwrap() error { return repo.ErrInvalid }

// Mode says what Open does with a store that does not exist yet, and
// with one in an older format.
type Mode int

const (
	// Create makes the store if there is none.
	Create Mode = iota
	// Existing refuses a missing store with repo.ErrNoStore.
	Existing
	// Upgrade is Existing that also accepts an older format, for
	// repo.Upgrade.
	Upgrade
)

// Location is a parsed store location: SCHEME://REST, or a bare path,
// which is the file scheme.
type Location struct {
	Scheme string
	// Rest is what follows "SCHEME://"; for file: the directory, its
	// percent-escapes decoded.
	Rest string
	// Raw is the location as given.
	Raw string
}

func (l Location) String() string { return l.Raw }

var schemeRE = regexp.MustCompile(`^[a-z][a-z0-9+.-]*$`)

// Parse parses a store location: a file URI (RFC 8089: file:///DIR,
// file://localhost/DIR or file:/DIR), SCHEME://REST, or else a directory.
func Parse(s string) (Location, error) {
	if s == "" {
		return Location{}, fmt.Errorf("%w: empty store location", repo.ErrInvalid)
	}
	if len(s) >= 5 && strings.EqualFold(s[:5], "file:") {
		return parseFileURI(s)
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return Location{Scheme: "file", Rest: s, Raw: s}, nil
	}
	scheme = strings.ToLower(scheme)
	if !schemeRE.MatchString(scheme) {
		return Location{}, fmt.Errorf("%w: store location %q: bad scheme %q", repo.ErrInvalid, s, scheme)
	}
	if rest == "" {
		return Location{}, fmt.Errorf("%w: store location %q names nothing after %s://", repo.ErrInvalid, s, scheme)
	}
	return Location{Scheme: scheme, Rest: rest, Raw: s}, nil
}

// parseFileURI parses a file URI: its host is empty or localhost (another
// host names a directory of another machine, not of the working
// directory), its path absolute once decoded.
func parseFileURI(s string) (Location, error) {
	bad := func(why string) (Location, error) {
		return Location{}, fmt.Errorf("%w: store location %q: %s", repo.ErrInvalid, s, why)
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad(err.Error())
	}
	switch {
	case u.Opaque != "":
		return bad("a file URI names an absolute directory: file:///DIR")
	case u.User != nil || u.Port() != "" || (u.Host != "" && !strings.EqualFold(u.Hostname(), "localhost")):
		return bad("file URI with a remote host: only file:///DIR or file://localhost/DIR name a local directory")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.HasSuffix(s, "#"):
		return bad("a file URI has no query or fragment (escape '?' as %3F, '#' as %23)")
	case strings.ContainsRune(u.Path, 0):
		return bad("the directory holds a NUL byte")
	case !strings.HasPrefix(u.Path, "/"):
		return bad("a file URI names an absolute directory: file:///DIR")
	}
	return Location{Scheme: "file", Rest: u.Path, Raw: s}, nil
}

// Parts are what an opener yields: the backends of a store and the
// optional capabilities of its medium.
type Parts struct {
	Objects objects.Backend
	Refs    refs.Backend
	Meta    meta.Store
	// Format records the store's format.
	Format repo.FormatMarker
	// TempDir, if set, is a local directory for staging files on the
	// store's file system.
	TempDir string
	// Watch, if set, tells cheaply whether refs or documents changed.
	Watch repo.RefsWatch
	// Closers are released by Close.
	Closers []io.Closer
}

// Store builds the repo.Store over the parts.
func (p *Parts) Store(kinds *repo.Kinds, opts ...repo.Option) *repo.Store {
	var oo []objects.Option
	if p.TempDir != "" {
		oo = append(oo, objects.WithTempDir(p.TempDir))
	}
	opts = append([]repo.Option{repo.WithMeta(p.Meta)}, opts...)
	return repo.New(objects.New(p.Objects, oo...), p.Refs, kinds, opts...)
}

// Close releases the watch and what else the opener holds open.
func (p *Parts) Close() error {
	var errs []error
	if p.Watch != nil {
		errs = append(errs, p.Watch.Close())
	}
	for _, c := range p.Closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Opener opens the store at loc.
type Opener func(ctx context.Context, loc Location, mode Mode) (*Parts, error)

// Registry maps schemes to openers.
type Registry struct {
	openers map[string]Opener
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{openers: map[string]Opener{}} }

// Register adds the opener of scheme; registering a scheme twice is a
// programming error and panics.
func (r *Registry) Register(scheme string, open Opener) {
	if !schemeRE.MatchString(scheme) || open == nil {
		panic(fmt.Sprintf("location: bad registration of scheme %q", scheme))
	}
	if _, dup := r.openers[scheme]; dup {
		panic(fmt.Sprintf("location: scheme %q registered twice", scheme))
	}
	r.openers[scheme] = open
}

// Schemes lists the registered schemes, sorted.
func (r *Registry) Schemes() []string {
	s := make([]string, 0, len(r.openers))
	for k := range r.openers {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

// Open parses s and opens the store there.
func (r *Registry) Open(ctx context.Context, s string, mode Mode) (*Parts, error) {
	loc, err := Parse(s)
	if err != nil {
		return nil, err
	}
	open, ok := r.openers[loc.Scheme]
	if !ok {
		return nil, fmt.Errorf("%w %q in %s (known: %s)", ErrUnknownScheme, loc.Scheme, s, strings.Join(r.Schemes(), ", "))
	}
	return open(ctx, loc, mode)
}
