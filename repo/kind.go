package repo

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// Kind is a content type's plugin: it checks one package file and extracts
// its metadata before the file joins a version. Python, container, deb, rpm
// and Go module kinds implement it beside the file kind.
type Kind interface {
	// Name is the kind's identifier, as given to `repo create --kind`.
	Name() string
	// Inspect validates the package that will sit at path and returns the
	// metadata stored in its record. content holds size bytes.
	Inspect(ctx context.Context, path string, content io.ReaderAt, size int64) (map[string]string, error)
}

// DigestChecker is an optional capability of a Kind whose paths name their
// content by digest (a container repository's blobs/sha256/<hex>). Commit
// calls CheckDigest after ingesting a file, with the SHA-256 the store
// computed while storing it and the metadata Inspect returned, so that
// Inspect need not hash large files again; and for every record added by
// digest, with its SHA256 and Metadata. An error refuses the commit.
type DigestChecker interface {
	CheckDigest(path string, sha256 objects.ID, meta map[string]string) error
}

// FileKeyer is an optional capability of a Kind whose files are named by
// more than their path (a python wheel by its normalized project, version
// and tags, however its file name spells them). Commit refuses a record
// whose FileKey is that of another record of the new version with other
// content (ErrExists): a file is never reused with other bytes under
// another spelling. Records without a key (ok false) are not compared,
// nor records from a remote's index (CommitRequest.FromUpstream).
type FileKeyer interface {
	FileKey(rec Record) (key string, ok bool)
}

// Placer is an optional capability of a Kind whose files lie where their
// metadata says (a .deb under pool/<component>/<prefix>/<source>/): Place
// returns where the file added at path, with the metadata Inspect read
// and the commit's options (CommitRequest.Options), lies in the version;
// a path already where it belongs is returned as it is. Commit places
// every added file and every record whose metadata it inspects.
type Placer interface {
	Place(path string, meta map[string]string, opts map[string]string) (string, error)
}

// CommitOption is an option a commit to a repository of some kind takes
// (a deb's component): `commit --NAME VALUE`, CommitRequest.Options.
type CommitOption struct {
	Name  string
	Usage string
}

// CommitOptioner is an optional capability of a Kind whose commits take
// options; a commit giving an option its kind does not declare is refused.
type CommitOptioner interface {
	CommitOptions() []CommitOption
}

// checkOptions refuses options k does not declare.
func checkOptions(k Kind, opts map[string]string) error {
	if len(opts) == 0 {
		return nil
	}
	known := map[string]bool{}
	if co, ok := k.(CommitOptioner); ok {
		for _, o := range co.CommitOptions() {
			known[o.Name] = true
		}
	}
	for name := range opts {
		if !known[name] {
			return fmt.Errorf("%w: a commit to a %s repository takes no option %q", ErrInvalid, k.Name(), name)
		}
	}
	return nil
}

// place returns where k puts the file added at path, if k is a Placer.
func place(k Kind, path string, meta, opts map[string]string) (string, error) {
	pl, ok := k.(Placer)
	if !ok {
		return path, nil
	}
	placed, err := pl.Place(path, meta, opts)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrInvalid, path, err)
	}
	if placed != path {
		if err := tree.ValidatePath(placed); err != nil {
			return "", fmt.Errorf("%w: %s placed at %s: %w", ErrInvalid, path, placed, err)
		}
		if err := checkPath(k, placed); err != nil {
			return "", err
		}
	}
	return placed, nil
}

// checkDigest asks k about a record if k is a DigestChecker.
func checkDigest(k Kind, path string, id objects.ID, meta map[string]string) error {
	if dc, ok := k.(DigestChecker); ok {
		return dc.CheckDigest(path, id, meta)
	}
	return nil
}

// Kinds is a registry of content kinds, built explicitly by its owner.
type Kinds struct {
	m   map[string]Kind
	def string
}

// NewKinds returns a registry holding ks, whose first kind is the default
// (the kind of a repository created without one); it panics on a
// duplicate name.
func NewKinds(ks ...Kind) *Kinds {
	r := &Kinds{m: map[string]Kind{}}
	if len(ks) > 0 {
		r.def = ks[0].Name()
	}
	for _, k := range ks {
		if _, dup := r.m[k.Name()]; dup {
			panic("repo: kind registered twice: " + k.Name())
		}
		r.m[k.Name()] = k
	}
	return r
}

// Lookup returns the kind called name.
func (r *Kinds) Lookup(name string) (Kind, error) {
	k, ok := r.m[name]
	if !ok {
		return nil, fmt.Errorf("%w: unknown content kind %q (known: %v)", ErrInvalid, name, r.Names())
	}
	return k, nil
}

// Default names the kind of a repository created without one.
func (r *Kinds) Default() string { return r.def }

// Names lists the registered kinds.
func (r *Kinds) Names() []string {
	out := make([]string, 0, len(r.m))
	for n := range r.m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
