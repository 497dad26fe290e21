package repo

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"

	"github.com/pkgvc/pkgvc/repo/tree"
)

// Packager is an optional Kind capability: it says which package a record
// belongs to, so that diffs can speak of packages rather than files. A
// python repository's package is a project (version: its release), a
// container repository's is a tag (version: the manifest digest). Records
// that are no package of their own (layers, generated metadata) return
// ok false. Kinds without it treat every path as a package whose version
// is its content digest.
type Packager interface {
	Package(rec Record) (name, version string, ok bool)
}

// SingleRecordPackager is a Packager whose every package is one record (a
// container tag): its package diff needs no walk of the two versions.
type SingleRecordPackager interface {
	Packager
	SingleRecordPackages()
}

// PackageChange is one package that differs between two versions: From
// and To list its versions on each side (sorted; empty when absent).
type PackageChange struct {
	Name string   `json:"name"`
	From []string `json:"from"`
	To   []string `json:"to"`
}

// PackageDiff lists the packages that differ between two versions.
type PackageDiff struct {
	Added   []PackageChange `json:"added"`
	Removed []PackageChange `json:"removed"`
	Changed []PackageChange `json:"changed"`
}

// DiffPackages compares two revisions package by package, using the
// Packager of the content kind of to's repository (or from's). With one
// record per package its cost follows the size of the difference;
// otherwise the versions of the packages touched are read from a walk of
// both versions.
func (s *Store) DiffPackages(ctx context.Context, from, to string) (*PackageDiff, error) {
	a, err := s.Resolve(ctx, from)
	if err != nil {
		return nil, err
	}
	b, err := s.Resolve(ctx, to)
	if err != nil {
		return nil, err
	}
	pk, err := s.packager(ctx, b, a)
	if err != nil {
		return nil, err
	}
	// A package touched by the diff may keep other records on both sides
	// (a python project gaining a release keeps the old one): its full
	// version sets are read from both trees.
	touched := map[string]bool{}
	before, after := map[string][]string{}, map[string][]string{}
	_, single := pk.(SingleRecordPackager)
	err = tree.Diff(ctx, s.objects, a.Tree, b.Tree, func(o, n *tree.Entry) error {
		for _, e := range []*tree.Entry{o, n} {
			if e == nil {
				continue
			}
			if name, ver, ok := pk.Package(*e); ok {
				touched[name] = true
				if single && e == o {
					before[name] = []string{ver}
				} else if single {
					after[name] = []string{ver}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	d := &PackageDiff{Added: []PackageChange{}, Removed: []PackageChange{}, Changed: []PackageChange{}}
	if len(touched) == 0 {
		return d, nil
	}
	if !single {
		if before, err = s.packageVersions(ctx, a, pk, touched); err != nil {
			return nil, err
		}
		if after, err = s.packageVersions(ctx, b, pk, touched); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(touched))
	for n := range touched {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := PackageChange{Name: n, From: before[n], To: after[n]}
		if c.From == nil {
			c.From = []string{}
		}
		if c.To == nil {
			c.To = []string{}
		}
		switch {
		case len(c.From) == 0 && len(c.To) > 0:
			d.Added = append(d.Added, c)
		case len(c.To) == 0 && len(c.From) > 0:
			d.Removed = append(d.Removed, c)
		case !slices.Equal(c.From, c.To):
			d.Changed = append(d.Changed, c)
		}
	}
	return d, nil
}

// packageVersions returns the sorted distinct versions in v of the named
// packages.
func (s *Store) packageVersions(ctx context.Context, v *Version, pk Packager, names map[string]bool) (map[string][]string, error) {
	sets := map[string]map[string]bool{}
	err := tree.Walk(ctx, s.objects, v.Tree, func(e tree.Entry) error {
		name, ver, ok := pk.Package(e)
		if !ok || !names[name] {
			return nil
		}
		if sets[name] == nil {
			sets[name] = map[string]bool{}
		}
		sets[name][ver] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(sets))
	for n, set := range sets {
		vs := make([]string, 0, len(set))
		for v := range set {
			vs = append(vs, v)
		}
		sort.Strings(vs)
		out[n] = vs
	}
	return out, nil
}

// packager returns the Packager of the first version's repository kind
// that has one; versions reached by id use the path-per-package default.
func (s *Store) packager(ctx context.Context, vs ...*Version) (Packager, error) {
	for _, v := range vs {
		if v.Repo == "" {
			continue
		}
		st, err := s.loadRepo(ctx, v.Repo)
		if errors.Is(err, ErrRepoNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		k, err := s.kinds.Lookup(st.config.Kind)
		if err != nil {
			continue
		}
		if pk, ok := k.(Packager); ok {
			return pk, nil
		}
		break
	}
	return pathPackager{}, nil
}

// pathPackager makes every path a package whose version is its digest.
type pathPackager struct{}

func (pathPackager) SingleRecordPackages() {}

func (pathPackager) Package(rec Record) (string, string, bool) {
	return strings.TrimPrefix(rec.Path, "/"), rec.SHA256.String(), true
}
