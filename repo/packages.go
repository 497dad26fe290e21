package repo

import (
	"context"
	"errors"
	"maps"
	"slices"
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

// ArchPackager is an optional capability of a Packager whose packages are
// built per architecture (a deb's or an rpm's arch): a package is then a
// name and an arch, and versions pair within one arch only. Its name and
// version agree with Package's.
type ArchPackager interface {
	PackageArch(rec Record) (name, arch, version string, ok bool)
}

// VersionComparer is an optional Kind capability that orders the versions
// its Packager returns (-1, 0 or +1, as strings.Compare), so that a
// package diff can tell an upgrade from a downgrade. Versions it finds
// equal, or cannot order, count as unordered. Kinds without it (a
// container tag's version is a digest) report a version change as the old
// version removed and the new one added.
type VersionComparer interface {
	CompareVersions(a, b string) int
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

// The values of PackageEntry.Change.
const (
	ChangeAdded      = "added"
	ChangeRemoved    = "removed"
	ChangeUpgraded   = "upgraded"
	ChangeDowngraded = "downgraded"
)

// PackageEntry is one version change of one package (name and arch). A
// package holding exactly one version on each side is one entry, upgraded
// or downgraded by its kind's VersionComparer; otherwise each version
// present on one side only is an entry of its own: added (Old is "") or
// removed (New is "").
type PackageEntry struct {
	Name   string `json:"name"`
	Arch   string `json:"arch,omitempty"`
	Old    string `json:"old"`
	New    string `json:"new"`
	Change string `json:"change"`
}

// PackageDiff lists the packages that differ between two versions.
// Added, Removed and Changed group versions by package name (all arches,
// sorted as strings); Packages lists each change of a (name, arch), sorted
// by name, arch, then removed before added, in version order.
type PackageDiff struct {
	Added    []PackageChange `json:"added"`
	Removed  []PackageChange `json:"removed"`
	Changed  []PackageChange `json:"changed"`
	Packages []PackageEntry  `json:"packages"`
}

// pkgKey is a package: its name and, for an ArchPackager, its arch.
type pkgKey struct{ name, arch string }

// versionSets maps each package to the set of its versions.
type versionSets map[pkgKey]map[string]bool

func (vs versionSets) add(k pkgKey, v string) {
	if vs[k] == nil {
		vs[k] = map[string]bool{}
	}
	vs[k][v] = true
}

// identify names rec's package with pk, with its arch when pk has one.
func identify(pk Packager, rec Record) (pkgKey, string, bool) {
	if ap, ok := pk.(ArchPackager); ok {
		name, arch, ver, ok := ap.PackageArch(rec)
		return pkgKey{name, arch}, ver, ok
	}
	name, ver, ok := pk.Package(rec)
	return pkgKey{name: name}, ver, ok
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
	pk, cmp, err := s.packager(ctx, b, a)
	if err != nil {
		return nil, err
	}
	// A package touched by the diff may keep other records on both sides
	// (a python project gaining a release keeps the old one): its full
	// version sets are read from both trees.
	touched := map[string]bool{}
	before, after := versionSets{}, versionSets{}
	_, single := pk.(SingleRecordPackager)
	err = tree.Diff(ctx, s.objects, a.Tree, b.Tree, func(o, n *tree.Entry) error {
		for _, e := range []*tree.Entry{o, n} {
			if e == nil {
				continue
			}
			if k, ver, ok := identify(pk, *e); ok {
				touched[k.name] = true
				if single && e == o {
					before.add(k, ver)
				} else if single {
					after.add(k, ver)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	d := &PackageDiff{Added: []PackageChange{}, Removed: []PackageChange{}, Changed: []PackageChange{}, Packages: []PackageEntry{}}
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
	byName := func(vs versionSets) map[string][]string {
		sets := map[string]map[string]bool{}
		for k, set := range vs {
			if sets[k.name] == nil {
				sets[k.name] = map[string]bool{}
			}
			maps.Copy(sets[k.name], set)
		}
		out := make(map[string][]string, len(sets))
		for n, set := range sets {
			out[n] = slices.Sorted(maps.Keys(set))
		}
		return out
	}
	fromNames, toNames := byName(before), byName(after)
	names := slices.Sorted(maps.Keys(touched))
	for _, n := range names {
		c := PackageChange{Name: n, From: fromNames[n], To: toNames[n]}
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
	d.Packages = packageEntries(before, after, cmp)
	return d, nil
}

// packageEntries pairs each package's versions on both sides into
// PackageEntry values; cmp is nil for a kind without an order.
func packageEntries(before, after versionSets, cmp VersionComparer) []PackageEntry {
	keys := map[pkgKey]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	sorted := slices.SortedFunc(maps.Keys(keys), func(x, y pkgKey) int {
		if c := strings.Compare(x.name, y.name); c != 0 {
			return c
		}
		return strings.Compare(x.arch, y.arch)
	})
	order := func(vs []string) []string {
		if cmp != nil {
			// Stable on a string-sorted slice: versions the kind finds
			// equal keep a fixed order.
			slices.SortStableFunc(vs, cmp.CompareVersions)
		}
		return vs
	}
	out := []PackageEntry{}
	for _, k := range sorted {
		olds, news := slices.Sorted(maps.Keys(before[k])), slices.Sorted(maps.Keys(after[k]))
		if slices.Equal(olds, news) {
			continue
		}
		if len(olds) == 1 && len(news) == 1 && cmp != nil {
			switch c := cmp.CompareVersions(olds[0], news[0]); {
			case c < 0:
				out = append(out, PackageEntry{Name: k.name, Arch: k.arch, Old: olds[0], New: news[0], Change: ChangeUpgraded})
				continue
			case c > 0:
				out = append(out, PackageEntry{Name: k.name, Arch: k.arch, Old: olds[0], New: news[0], Change: ChangeDowngraded})
				continue
			}
		}
		for _, v := range order(olds) {
			if !after[k][v] {
				out = append(out, PackageEntry{Name: k.name, Arch: k.arch, Old: v, Change: ChangeRemoved})
			}
		}
		for _, v := range order(news) {
			if !before[k][v] {
				out = append(out, PackageEntry{Name: k.name, Arch: k.arch, New: v, Change: ChangeAdded})
			}
		}
	}
	return out
}

// packageVersions returns the versions in v of the packages (of every
// arch) with the given names.
func (s *Store) packageVersions(ctx context.Context, v *Version, pk Packager, names map[string]bool) (versionSets, error) {
	sets := versionSets{}
	err := tree.Walk(ctx, s.objects, v.Tree, func(e tree.Entry) error {
		k, ver, ok := identify(pk, e)
		if ok && names[k.name] {
			sets.add(k, ver)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sets, nil
}

// packager returns the Packager of the first version's repository kind
// that has one, with the kind's VersionComparer (nil without one);
// versions reached by id use the path-per-package default, which has no
// order.
func (s *Store) packager(ctx context.Context, vs ...*Version) (Packager, VersionComparer, error) {
	for _, v := range vs {
		if v.Repo == "" {
			continue
		}
		st, err := s.loadRepo(ctx, v.Repo)
		if errors.Is(err, ErrRepoNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		k, err := s.kinds.Lookup(st.config.Kind)
		if err != nil {
			continue
		}
		if pk, ok := k.(Packager); ok {
			cmp, _ := k.(VersionComparer)
			return pk, cmp, nil
		}
		break
	}
	return pathPackager{}, nil, nil
}

// pathPackager makes every path a package whose version is its digest.
type pathPackager struct{}

func (pathPackager) SingleRecordPackages() {}

func (pathPackager) Package(rec Record) (string, string, bool) {
	return strings.TrimPrefix(rec.Path, "/"), rec.SHA256.String(), true
}
