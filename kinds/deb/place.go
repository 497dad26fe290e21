package deb

import (
	"fmt"
	"strings"

	"github.com/pkgvc/pkgvc/kinds/deb/format"
	"github.com/pkgvc/pkgvc/repo"
)

// OptComponent is the commit option naming the component a .deb joins.
const OptComponent = "component"

// DistsDir is where a publication writes its indexes.
const DistsDir = "dists/"

// CommitOptions declares --component (repo.CommitOptioner).
func (Kind) CommitOptions() []repo.CommitOption {
	return []repo.CommitOption{{Name: OptComponent, Usage: "the component the added .deb files join, under pool/COMPONENT/ (default " + DefaultComponent + ")"}}
}

// Place puts a .deb added by name at its pool path in the commit's
// component (repo.Placer); a file already under pool/ stays where it is,
// which Inspect checked is its pool path there.
func (Kind) Place(p string, meta, opts map[string]string) (string, error) {
	comp, given := opts[OptComponent]
	if !given || comp == "" {
		comp = DefaultComponent
	}
	if !ValidComponent(comp) {
		return "", fmt.Errorf("invalid component %q: lower case letters, digits and - + . _", comp)
	}
	if strings.HasPrefix(p, PoolDir) {
		if err := checkInPool(p, meta); err != nil {
			return "", err
		}
		if have := ComponentOf(p); given && have != comp {
			return "", fmt.Errorf("%s lies in component %s, the commit asks for %s", p, have, comp)
		}
		return p, nil
	}
	want, err := PoolPathOf(comp, meta)
	if err != nil {
		return "", err
	}
	return want, nil
}

// CheckPath refuses what a deb repository cannot hold (repo.PathChecker):
// files that are not .deb, paths under dists/ where the publication
// writes, and paths under pool/ that are not pool/COMPONENT/PREFIX/SOURCE/
// PACKAGE_VERSION_ARCH.deb. Other .deb paths are names of files added to
// be placed under pool/ (Place).
func (Kind) CheckPath(p string) error {
	switch {
	case p == strings.TrimSuffix(DistsDir, "/") || strings.HasPrefix(p, DistsDir):
		return fmt.Errorf("%w %q: a deb repository's publication writes its indexes under %s", repo.ErrReservedPath, p, DistsDir)
	case !strings.HasSuffix(p, ".deb"):
		return fmt.Errorf("%w: %q: a deb repository holds .deb files only", repo.ErrInvalid, p)
	case strings.HasPrefix(p, PoolDir):
		if _, err := parsePoolPath(p); err != nil {
			return fmt.Errorf("%w: %w", repo.ErrInvalid, err)
		}
	}
	return nil
}

// ValidComponent says whether c can name a component: a single path
// segment of lower case letters, digits and - + . _ ("main",
// "non-free-firmware").
func ValidComponent(c string) bool {
	if c == "" || !isLowerAlnum(c[0]) {
		return false
	}
	for _, r := range []byte(c) {
		if !isLowerAlnum(r) && !strings.ContainsRune("-+._", rune(r)) {
			return false
		}
	}
	return true
}

func isLowerAlnum(c byte) bool { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') }

// poolFile is what a pool path says.
type poolFile struct{ comp, src, pkg, ver, arch string }

// parsePoolPath reads pool/COMPONENT/PREFIX/SOURCE/PACKAGE_VERSION_ARCH.deb.
func parsePoolPath(p string) (poolFile, error) {
	var f poolFile
	parts := strings.Split(strings.TrimPrefix(p, PoolDir), "/")
	if !strings.HasPrefix(p, PoolDir) || len(parts) != 4 {
		return f, fmt.Errorf("%s: a .deb under %s lies at %sCOMPONENT/PREFIX/SOURCE/PACKAGE_VERSION_ARCH.deb", p, PoolDir, PoolDir)
	}
	f.comp, f.src = parts[0], parts[2]
	if !ValidComponent(f.comp) {
		return f, fmt.Errorf("%s: invalid component %q", p, f.comp)
	}
	if !format.ValidPackageName(f.src) {
		return f, fmt.Errorf("%s: invalid source name %q", p, f.src)
	}
	if parts[1] != PoolPrefix(f.src) {
		return f, fmt.Errorf("%s: source %s lies under %s, not %s", p, f.src, PoolPrefix(f.src), parts[1])
	}
	fields := strings.Split(strings.TrimSuffix(parts[3], ".deb"), "_")
	if len(fields) != 3 {
		return f, fmt.Errorf("%s: file name is not PACKAGE_VERSION_ARCH.deb", p)
	}
	f.pkg, f.ver, f.arch = fields[0], fields[1], fields[2]
	if !format.ValidPackageName(f.pkg) {
		return f, fmt.Errorf("%s: invalid package name %q", p, f.pkg)
	}
	if _, err := format.ParseVersion("0:" + f.ver); err != nil {
		return f, fmt.Errorf("%s: %w", p, err)
	}
	if !format.ValidArchitecture(f.arch) {
		return f, fmt.Errorf("%s: invalid architecture %q", p, f.arch)
	}
	return f, nil
}

// PoolPathOf is the pool path in component comp of the package whose
// record metadata is meta (its Source, else its Package, names the
// directory).
func PoolPathOf(comp string, meta map[string]string) (string, error) {
	pkg, ver, arch := meta[MetaPackage], meta[MetaVersion], meta[MetaArchitecture]
	if pkg == "" || ver == "" || arch == "" {
		return "", fmt.Errorf("no Package, Version and Architecture to place the .deb by")
	}
	src := meta[MetaSource]
	if src == "" {
		src = pkg
	}
	return PoolPath(comp, src, pkg, ver, arch), nil
}

// checkInPool refuses a path under pool/ that is not the pool path, in
// its own component, of the package meta describes.
func checkInPool(p string, meta map[string]string) error {
	if !strings.HasPrefix(p, PoolDir) {
		return nil
	}
	want, err := PoolPathOf(ComponentOf(p), meta)
	if err != nil {
		return err
	}
	if p != want {
		return fmt.Errorf("%s: this package (%s %s %s) lies at %s", p, meta[MetaPackage], meta[MetaVersion], meta[MetaArchitecture], want)
	}
	return nil
}
