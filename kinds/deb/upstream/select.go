package upstream

import (
	"cmp"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/pkgvc/pkgvc/kinds/deb/format"
)

// selectEntries returns the entries o selects: those --package names or
// matches (all without one), and with --with-deps their dependency
// closure within es.
func selectEntries(es []*entry, o Options) ([]*entry, error) {
	if len(o.Packages) == 0 {
		return es, nil
	}
	var picked []*entry
	matched := make([]bool, len(o.Packages))
	for _, e := range es {
		for i, pat := range o.Packages {
			if ok, _ := path.Match(pat, e.Package); ok {
				matched[i] = true
				picked = append(picked, e)
				break
			}
		}
	}
	for i, ok := range matched {
		if !ok {
			return nil, fmt.Errorf("no package of suite %s is named or matches %q", o.Suite, o.Packages[i])
		}
	}
	if !o.WithDeps {
		return picked, nil
	}
	return closure(es, picked, o.WithRecommends)
}

// closure adds to picked what it depends on within es, as aptly's
// -filter-with-deps does: for each dependency, the first alternative
// some package satisfies (the highest version of the package named,
// else a package that Provides it), for each architecture on its own
// (an "all" package's dependencies are resolved in each).
func closure(es, picked []*entry, recommends bool) ([]*entry, error) {
	archs := map[string]bool{}
	for _, e := range es {
		if e.Arch != "all" {
			archs[e.Arch] = true
		}
	}
	if len(archs) == 0 {
		archs["all"] = true
	}
	in := map[*entry]bool{}
	var out []*entry
	add := func(e *entry) {
		if !in[e] {
			in[e] = true
			out = append(out, e)
		}
	}
	for _, e := range picked {
		add(e)
	}
	for _, a := range slices.Sorted(maps.Keys(archs)) {
		u := newUniverse(es, a)
		var queue []*entry
		for _, e := range picked {
			if u.has(e) {
				queue = append(queue, e)
			}
		}
		seen := map[*entry]bool{}
		for len(queue) > 0 {
			e := queue[0]
			queue = queue[1:]
			if seen[e] {
				continue
			}
			seen[e] = true
			fields := []string{e.PreDepends, e.Depends}
			if recommends {
				fields = append(fields, e.Recommends)
			}
			for _, f := range fields {
				groups, err := format.ParseRelations(f)
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", e.Package, e.Version, err)
				}
				for _, alts := range groups {
					if d := u.resolve(alts); d != nil {
						add(d)
						queue = append(queue, d)
					}
				}
			}
		}
	}
	return out, nil
}

// universe is the packages one architecture sees: its own and "all".
type universe struct {
	byName     map[string][]*entry // highest version first
	byProvides map[string][]provider
}

type provider struct {
	e       *entry
	version string // the provided version, "" if unversioned
}

func newUniverse(es []*entry, arch string) *universe {
	u := &universe{byName: map[string][]*entry{}, byProvides: map[string][]provider{}}
	for _, e := range es {
		if e.Arch != arch && e.Arch != "all" {
			continue
		}
		u.byName[e.Package] = append(u.byName[e.Package], e)
		if e.Provides == "" {
			continue
		}
		groups, err := format.ParseRelations(e.Provides)
		if err != nil {
			continue // a bad Provides provides nothing
		}
		for _, g := range groups {
			for _, r := range g {
				v := ""
				if r.Op == "=" {
					v = r.Version
				}
				u.byProvides[r.Name] = append(u.byProvides[r.Name], provider{e, v})
			}
		}
	}
	for _, l := range u.byName {
		slices.SortStableFunc(l, func(a, b *entry) int {
			return cmp.Or(format.CompareVersions(b.Version, a.Version), strings.Compare(a.Component, b.Component))
		})
	}
	for _, l := range u.byProvides {
		slices.SortStableFunc(l, func(a, b provider) int {
			return cmp.Or(strings.Compare(a.e.Package, b.e.Package), format.CompareVersions(b.e.Version, a.e.Version))
		})
	}
	return u
}

func (u *universe) has(e *entry) bool { return slices.Contains(u.byName[e.Package], e) }

// resolve returns the package that satisfies the first satisfiable
// alternative, nil if none does.
func (u *universe) resolve(alts format.Alternatives) *entry {
	for _, r := range alts {
		for _, e := range u.byName[r.Name] {
			if r.SatisfiedBy(e.Version) {
				return e
			}
		}
		for _, p := range u.byProvides[r.Name] {
			if r.Op == "" || p.version != "" && r.SatisfiedBy(p.version) {
				return p.e
			}
		}
	}
	return nil
}
