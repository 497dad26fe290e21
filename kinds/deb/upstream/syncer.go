package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/pkgvc/pkgvc/kinds/deb"
	"github.com/pkgvc/pkgvc/kinds/deb/format"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/remote"
)

// Kind is the upstream and content kind name.
const Kind = "deb"

// Syncer reads apt repositories.
type Syncer struct{}

var (
	_ remote.Syncer           = Syncer{}
	_ remote.OptionDeclarer   = Syncer{}
	_ remote.RemoteValidator  = Syncer{}
	_ remote.ContentDescriber = Syncer{}
)

// Kind returns "deb".
func (Syncer) Kind() string { return Kind }

// DescribesFromContent makes a sync fill what an upstream stanza leaves
// out (the SHA1 Debian's own indexes no longer carry) from the .deb it
// stores, as a commit of the file would.
func (Syncer) DescribesFromContent() {}

// Index reads the suite's signed Release and its Packages indexes, and
// returns the .debs the remote selects, each at its pool path.
func (Syncer) Index(ctx context.Context, up remote.Upstream) ([]remote.Package, error) {
	o, err := RemoteOptionsOf(&up.Remote)
	if err != nil {
		return nil, err
	}
	base := strings.TrimRight(up.Remote.URL, "/")
	if _, err := url.Parse(base); err != nil {
		return nil, err
	}
	dists := base + "/dists/" + o.Suite + "/"
	rel, err := fetchRelease(ctx, up, o, dists)
	if err != nil {
		return nil, err
	}
	es, err := readIndexes(ctx, up, rel, o, dists)
	if err != nil {
		return nil, err
	}
	sel, err := selectEntries(es, o)
	if err != nil {
		return nil, err
	}
	out := make([]remote.Package, 0, len(sel))
	for _, e := range sel {
		id, err := objects.ParseID(e.SHA256)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Package, err)
		}
		out = append(out, remote.Package{Path: e.PoolPath(), URL: fileURL(base, e.Filename), SHA256: id, Size: e.Size, Metadata: e.metadata()})
	}
	return out, nil
}

// readIndexes reads the Packages of each component and architecture and
// returns their entries, one per pool path (an "all" package listed
// under several architectures comes once).
func readIndexes(ctx context.Context, up remote.Upstream, rel *release, o Options, dists string) ([]*entry, error) {
	comps, explicitComps := o.Components, true
	if len(comps) == 0 {
		comps, explicitComps = strings.Fields(rel.p.Value("Components")), false
	}
	archs, explicitArchs := o.Architectures, true
	if len(archs) == 0 {
		archs, explicitArchs = strings.Fields(rel.p.Value("Architectures")), false
	}
	if len(comps) == 0 || len(archs) == 0 {
		return nil, fmt.Errorf("%s: the Release lists no components or architectures: give --component and --arch", dists)
	}
	extraAll := explicitArchs && withAllIndex(rel, archs)
	if extraAll {
		archs = append(slices.Clone(archs), "all")
	}
	var es []*entry
	byPath := map[string]*entry{}
	for _, c := range comps {
		if !deb.ValidComponent(c) {
			return nil, fmt.Errorf("%s: component %q: bad name", dists, c)
		}
		for _, a := range archs {
			if !format.ValidArchitecture(a) {
				return nil, fmt.Errorf("%s: architecture %q: bad name", dists, a)
			}
			p := rel.pickIndex(c, a)
			if p == "" {
				if explicitComps && explicitArchs && !(extraAll && a == "all") {
					return nil, fmt.Errorf("%sRelease lists no Packages index of %s/binary-%s", dists, c, a)
				}
				continue
			}
			text, release, err := fetchIndex(ctx, up, rel, dists, p)
			if err != nil {
				return nil, err
			}
			err = readEntries(text, c, a, func(e *entry) error {
				pp := e.PoolPath()
				if prev := byPath[pp]; prev != nil {
					if prev.SHA256 != e.SHA256 || prev.Size != e.Size {
						return fmt.Errorf("%s is listed twice with other bytes", pp)
					}
					return nil
				}
				byPath[pp] = e
				es = append(es, e)
				return nil
			})
			release()
			if err != nil {
				return nil, fmt.Errorf("%s%s: %w", dists, p, err)
			}
		}
	}
	return es, nil
}

// withAllIndex reports whether a sync of archs (without "all") reads
// binary-all too, as apt does: when the Release lists "all" among its
// architectures and does not say its arch indexes list the Architecture:
// all packages as well (No-Support-for-Architecture-all: Packages).
func withAllIndex(rel *release, archs []string) bool {
	if slices.Contains(archs, "all") || !slices.Contains(strings.Fields(rel.p.Value("Architectures")), "all") {
		return false
	}
	return !strings.EqualFold(strings.TrimSpace(rel.p.Value("No-Support-for-Architecture-all")), "Packages")
}

// readEntries calls fn for each stanza of a Packages text, checked.
func readEntries(text io.Reader, comp, arch string, fn func(*entry) error) error {
	r := format.NewReader(text)
	for {
		p, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		e, err := parseEntry(p, comp, arch)
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}

// fileURL is the URL of the archive's file at relative path f.
func fileURL(base, f string) string {
	segs := strings.Split(f, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return base + "/" + strings.Join(segs, "/")
}
