// Package publication publishes deb repositories as signed apt
// repositories: under dists/<suite>/, Release, InRelease and Release.gpg,
// and per component and architecture Packages, Packages.gz and
// Packages.xz, each also under by-hash/<hash>/<hex>; the pool files are
// the records themselves.
//
// A publication is updated from its predecessor's and the diff (see
// stored.go): a changed package rewrites only the chunks of the indexes
// that list it, and the by-hash files of earlier publications stay
// served for at least an hour after they were replaced, so that a
// client holding an older InRelease still finds what it names.
//
// A publication is a function of its version and the distribution's
// settings: the Release's Date is the version's time (and Valid-Until
// counts from it). apt keeps the lists it has when a Release is dated
// before the one it read, so clients see a rollback made as a new
// version, not a distribution pinned back to an older one.
package publication

import (
	"bytes"
	"context"
	"slices"

	"github.com/pkgvc/pkgvc/kinds/deb"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/tree"
)

// Publisher generates the apt repository of deb versions.
type Publisher struct{}

var (
	_ publish.Publisher   = Publisher{}
	_ publish.Placer      = Publisher{}
	_ publish.Formatted   = Publisher{}
	_ publish.Incremental = Publisher{}
)

// Kind returns "deb".
func (Publisher) Kind() string { return deb.Kind{}.Name() }

// DistsDir holds every file a publication generates.
const DistsDir = "dists/"

// Places tells that the publication's files are under dists/.
func (Publisher) Places() []string { return []string{DistsDir} }

// PublicationFormat names the layout of stored publications.
func (Publisher) PublicationFormat() string { return "apt/chunked-1" }

// Publish returns the files of v's publication under the default
// settings, unsigned (what a checkout without a distribution gets),
// built in memory.
func (Publisher) Publish(ctx context.Context, st *repo.Store, v *repo.Version) ([]publish.File, error) {
	s, err := deb.DecodeDistSettings(nil)
	if err != nil {
		return nil, err
	}
	byComp := map[string]map[string][]pkg{}
	err = tree.Walk(ctx, st.Objects(), v.Tree, func(e tree.Entry) error {
		p, comp, ok := pkgOf(&e)
		if !ok || !slices.Contains(s.Components, comp) {
			return nil
		}
		if byComp[comp] == nil {
			byComp[comp] = map[string][]pkg{}
		}
		b := bucket(p.path)
		byComp[comp][b] = append(byComp[comp][b], p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var files []publish.File
	var listed []indexFile
	for _, comp := range s.Components {
		for _, a := range s.Architectures {
			var parts [3]bytes.Buffer
			xj := &xzJoiner{w: &parts[2]}
			n := 0
			for _, b := range sortedKeys(byComp[comp]) {
				var plain bytes.Buffer
				for _, p := range byComp[comp][b] {
					if listedIn(p.arch, a) {
						p.stanza(&plain)
					}
				}
				if plain.Len() == 0 {
					continue
				}
				c, err := compress(plain.Bytes())
				if err != nil {
					return nil, err
				}
				parts[0].Write(c.plain)
				parts[1].Write(c.gz)
				if err := xj.add(c.xz); err != nil {
					return nil, err
				}
				n++
			}
			if err := xj.close(); err != nil {
				return nil, err
			}
			dir := indexDir(s, comp, a)
			for i, in := range indexNames {
				data := parts[i].Bytes()
				if n == 0 && i < 2 {
					data = emptyIndex.part(i)
				}
				f := sums(data)
				f.rel = comp + "/binary-" + a + "/" + in.name
				listed = append(listed, f)
				files = append(files, publish.File{Path: dir + in.name, ContentType: in.ctype, Content: data})
				for _, bh := range byHashPaths(dir, f) {
					files = append(files, publish.File{Path: bh, ContentType: in.ctype, Content: data})
				}
			}
		}
	}
	rel, err := releaseText(s, v.Time, listed)
	if err != nil {
		return nil, err
	}
	return append(files, publish.File{Path: suiteDir(s) + "Release", ContentType: textPlain, Content: rel}), nil
}
