package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/pkgvc/pkgvc/internal/parallel"
	"github.com/pkgvc/pkgvc/kinds/container"
	ocifmt "github.com/pkgvc/pkgvc/kinds/container/format"
	"github.com/pkgvc/pkgvc/remote"
)

// Kind is the upstream and content kind name.
const Kind = "container"

// Paths of the layout (see the package doc and repo/kinds/container).
const (
	BlobsDir     = container.BlobsDir
	ManifestsDir = container.ManifestsDir
	TagsDir      = container.TagsDir
)

// Metadata keys of the records.
const (
	MetaMediaType    = container.MetaMediaType
	MetaDigest       = container.MetaDigest
	MetaSubject      = container.MetaSubject
	MetaArtifactType = container.MetaArtifactType
)

// MaxManifestSize bounds a manifest or index read from upstream, as
// registries bound what they accept.
const MaxManifestSize = ocifmt.MaxManifestSize

// ErrUnsupported marks a manifest pkgvc does not sync (Docker schema 1,
// a digest algorithm other than sha256 and sha512).
var ErrUnsupported = errors.New("unsupported manifest")

// Syncer reads container registries. Use New: it keeps the registry
// sessions (authenticated transports, tokens) of the remotes it reads.
type Syncer struct {
	mu       sync.Mutex
	sessions map[sessionKey]*session
}

var (
	_ remote.Syncer          = (*Syncer)(nil)
	_ remote.RemoteValidator = (*Syncer)(nil)
	_ remote.Opener          = (*Syncer)(nil)
	_ remote.RefIndexer      = (*Syncer)(nil)
	_ remote.OptionDeclarer  = (*Syncer)(nil)
)

// New returns a Syncer.
func New() *Syncer { return &Syncer{sessions: make(map[sessionKey]*session)} }

// Kind returns "container".
func (*Syncer) Kind() string { return Kind }

// ValidateRemote checks the registry URL, the upstream repository name,
// the tag patterns and the platforms.
func (*Syncer) ValidateRemote(r *remote.Remote) error {
	_, err := parseOptions(r)
	return err
}

// options are a remote's settings, parsed.
type options struct {
	repo      name.Repository
	base      string // registry root URL, no trailing slash
	include   []string
	exclude   []string
	platforms []platform
}

type platform struct{ os, arch, variant string }

func parseOptions(r *remote.Remote) (*options, error) {
	u, err := url.Parse(r.URL)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if p := strings.TrimSuffix(u.Path, "/"); p != "" && p != "/v2" {
		return nil, fmt.Errorf("url %q: want the registry's root, such as https://registry-1.docker.io (the repository goes in --upstream-name)", r.URL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("url %q: want the registry's root, without a query", r.URL)
	}
	ro, err := RemoteOptionsOf(r)
	if err != nil {
		return nil, err
	}
	for _, p := range ro.Platforms {
		if p == "" || strings.ContainsAny(p, " \t\r\n") {
			return nil, fmt.Errorf("platform %q: empty or white space", p)
		}
	}
	o := &options{base: u.Scheme + "://" + u.Host, include: ro.IncludeTags, exclude: ro.ExcludeTags}
	// Without an upstream name the remote stands for the whole registry
	// (namespace.go).
	if o.repo, err = upstreamRepo(u, ro.UpstreamName); err != nil {
		return nil, err
	}
	for _, list := range [][]string{ro.IncludeTags, ro.ExcludeTags} {
		for _, p := range list {
			if _, err := path.Match(p, ""); err != nil || p == "" {
				return nil, fmt.Errorf("tag pattern %q: want a path.Match pattern such as 'v1.*'", p)
			}
		}
	}
	for _, p := range ro.Platforms {
		parts := strings.Split(p, "/")
		if len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
			return nil, fmt.Errorf("platform %q: want os/arch or os/arch/variant, such as linux/amd64 or linux/arm/v7", p)
		}
		pl := platform{os: parts[0], arch: parts[1]}
		if len(parts) == 3 {
			pl.variant = parts[2]
		}
		o.platforms = append(o.platforms, pl)
	}
	return o, nil
}

// keepTag reports whether the remote's tag patterns select tag.
func (o *options) keepTag(tag string) bool {
	match := func(pats []string) bool {
		for _, p := range pats {
			if ok, _ := path.Match(p, tag); ok {
				return true
			}
		}
		return false
	}
	return (len(o.include) == 0 || match(o.include)) && !match(o.exclude)
}

// keepPlatform reports whether an index child for os/arch/variant is
// wanted. Without a filter every child is; with one, a child naming no
// platform is not.
func (o *options) keepPlatform(os, arch, variant string, known bool) bool {
	if len(o.platforms) == 0 {
		return true
	}
	if !known {
		return false
	}
	for _, p := range o.platforms {
		if p.os == os && p.arch == arch && (p.variant == "" || p.variant == variant) {
			return true
		}
	}
	return false
}

// Index lists the packages of every selected tag (see the package doc).
func (s *Syncer) Index(ctx context.Context, up remote.Upstream) ([]remote.Package, error) {
	o, err := parseNamed(&up.Remote)
	if err != nil {
		return nil, err
	}
	sess, err := s.session(up, o.repo)
	if err != nil {
		return nil, err
	}
	tags, err := sess.puller.List(ctx, o.repo)
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", o.repo, notFound(err))
	}
	var keep []string
	for _, t := range tags {
		if !ocifmt.ValidTag(t) {
			return nil, fmt.Errorf("upstream lists the invalid tag %q", t)
		}
		if o.keepTag(t) {
			keep = append(keep, t)
		}
	}
	sort.Strings(keep)
	w := newWalker(sess, up, o)
	work := make(chan string)
	errs := make([]error, len(keep))
	var wg sync.WaitGroup
	for range min(max(up.Remote.DownloadConcurrency, 1), max(len(keep), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range work {
				i := sort.SearchStrings(keep, t)
				if err := parallel.Safe(func() error { return w.tag(ctx, t) }); err != nil {
					errs[i] = fmt.Errorf("tag %s: %w", t, err)
				}
			}
		}()
	}
feed:
	for _, t := range keep {
		select {
		case work <- t:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return w.packages(), nil
}

// IndexRef lists the packages of one tag or manifest digest
// ("sha256:<hex>", "sha512:<hex>"). A tag the remote's patterns leave out, like one the
// registry lacks, matches remote.ErrRefNotFound.
func (s *Syncer) IndexRef(ctx context.Context, up remote.Upstream, ref string) ([]remote.Package, error) {
	o, err := parseNamed(&up.Remote)
	if err != nil {
		return nil, err
	}
	sess, err := s.session(up, o.repo)
	if err != nil {
		return nil, err
	}
	w := newWalker(sess, up, o)
	switch {
	case strings.HasPrefix(ref, "sha256:"):
		id, err := parseDigest(ref)
		if err != nil {
			return nil, err
		}
		if err := w.manifest(ctx, id); err != nil {
			return nil, err
		}
	case strings.HasPrefix(ref, ocifmt.SHA512+":"):
		hx, ok := isSHA512(ref)
		if !ok {
			return nil, fmt.Errorf("reference %q: want sha512:<128 hex digits>: %w", ref, remote.ErrRefNotFound)
		}
		if err := w.manifest512(ctx, ref, hx); err != nil {
			return nil, err
		}
	case ocifmt.ValidTag(ref):
		if !o.keepTag(ref) {
			return nil, fmt.Errorf("tag %s: %w (the remote's tag patterns leave it out)", ref, remote.ErrRefNotFound)
		}
		if err := w.tag(ctx, ref); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("reference %q: want a tag or sha256:<hex>: %w", ref, remote.ErrRefNotFound)
	}
	return w.packages(), nil
}
