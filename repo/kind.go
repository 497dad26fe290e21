package repo

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/pkgvc/pkgvc/objects"
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
