package remote

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/pkgvc/pkgvc/httpx"
	"github.com/pkgvc/pkgvc/objects"
)

// Package is one file an upstream offers.
type Package struct {
	Path     string            `json:"path"` // where it goes in the repository
	URL      string            `json:"url"`  // absolute URL of its bytes
	SHA256   objects.ID        `json:"sha256"`
	Size     int64             `json:"size"`
	Metadata map[string]string `json:"metadata,omitempty"` // kind metadata for the record
	// Data, when set, holds the bytes already, read while indexing (a
	// small document such as a container manifest): the engine stores
	// them, checked like a download, whatever the remote's policy.
	Data []byte `json:"-"`
}

// Upstream is what a Syncer reads an index with.
type Upstream struct {
	Remote Remote
	// Client is built from the remote's settings (TLS, proxy, auth,
	// timeouts) and retries as the remote says.
	Client *httpx.Client
	// KnownSize, when set, gives the size of content the store already
	// holds, so an index that omits sizes needs no request for it.
	KnownSize func(ctx context.Context, id objects.ID) (int64, bool)
	// OpenStored, when set, reads content the store already holds (it is
	// verified as it is read), so an index need not fetch a document it
	// synced before.
	OpenStored func(ctx context.Context, id objects.ID) (io.ReadCloser, error)
	// Waiting says a client waits on this index (a pull-through): the
	// Syncer makes only the requests it cannot do without.
	Waiting bool
}

// Syncer reads one kind of upstream. Implementations live in
// remote/<kind> and are registered by remote/all.
type Syncer interface {
	// Kind names the upstream kind (a content kind); remotes and the
	// repositories they sync into have this kind.
	Kind() string
	// Index returns every package the upstream offers, unfiltered. An
	// index it cannot read completely or trust (bad syntax, unsafe or
	// duplicate paths) is an error: a sync never acts on part of one.
	Index(ctx context.Context, up Upstream) ([]Package, error)
}

// Opener is implemented by Syncers whose package bytes need the kind's
// own client rather than a GET of Package.URL (a container registry's
// token auth). Sync and FetchBlob read through it; they still check the
// sha256 and size of what it returns.
type Opener interface {
	// Open returns the bytes of p, a package Index listed (or one rebuilt
	// from an on-demand record: Path, URL, SHA256, Size).
	Open(ctx context.Context, up Upstream, p Package) (io.ReadCloser, error)
}

// RefIndexer is implemented by Syncers that can index one reference of
// an upstream (a container registry's tag or manifest digest), for
// pull-through (Manager.PullRefs).
type RefIndexer interface {
	// IndexRef returns the packages that make up ref, as Index lists
	// them. A reference the upstream lacks is an error matching
	// ErrRefNotFound.
	IndexRef(ctx context.Context, up Upstream, ref string) ([]Package, error)
}

// ContentDescriber is implemented by Syncers whose indexes may say less
// about a package than its bytes do (a python index page without
// data-requires-python): a sync then gives each package it stores the
// metadata the repository's kind reads from its bytes where the index
// said nothing, as a commit of the same file would
// (repo.CommitRequest.FillMetadata).
type ContentDescriber interface {
	DescribesFromContent()
}

// RemoteValidator is implemented by Syncers that check kind-specific
// remote settings (their Options, decoded) when a remote is created or
// updated.
type RemoteValidator interface {
	ValidateRemote(r *Remote) error
}

// Registry maps kind names to Syncers. Build it explicitly (see
// remote/all); there is no global registry.
type Registry struct {
	syncers map[string]Syncer
	order   []string // kinds as registered
}

// NewRegistry returns a registry holding syncers.
func NewRegistry(syncers ...Syncer) *Registry {
	r := &Registry{syncers: make(map[string]Syncer)}
	for _, s := range syncers {
		r.Register(s)
	}
	return r
}

// Register adds s; it panics if its kind is already registered or empty.
func (r *Registry) Register(s Syncer) {
	k := s.Kind()
	if k == "" {
		panic("remote: Register of a Syncer with an empty kind")
	}
	if _, dup := r.syncers[k]; dup {
		panic(fmt.Sprintf("remote: Register called twice for kind %q", k))
	}
	r.syncers[k] = s
	r.order = append(r.order, k)
}

// Registered returns the kinds in the order they were registered (a
// command line lists their settings in it).
func (r *Registry) Registered() []string { return slices.Clone(r.order) }

// Lookup returns the Syncer for kind, or an error matching ErrUnknownKind.
func (r *Registry) Lookup(kind string) (Syncer, error) {
	if s, ok := r.syncers[kind]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("%w %q (known: %v)", ErrUnknownKind, kind, r.Kinds())
}

// Kinds returns the registered kinds, sorted.
func (r *Registry) Kinds() []string {
	out := make([]string, 0, len(r.syncers))
	for k := range r.syncers {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
