// Package python is the "python" content kind: wheels and sdists, each
// validated when committed and described by the core metadata read from the
// file itself (internal/format/python), as in Pulp's python plugin.
//
// # Record metadata
//
// Inspect gives every record these keys:
//
//	name             project name, PEP 503 normalized ("my-pkg")
//	version          PEP 440 normalized version ("1.0rc1")
//	filename         the file name (the path's last segment)
//	packagetype      "bdist_wheel" or "sdist"
//	requires_python  Requires-Python, if the metadata has it
//	metadata_sha256  hex SHA-256 of the METADATA (wheel) or PKG-INFO (sdist)
//	                 file, the digest PEP 658 advertises
//	yanked           "false" (PEP 592); "true", with the reason in
//	                 yanked_reason, once Yank marks it (or a record committed
//	                 by digest says so)
//
// Records committed by digest (a sync) may also carry upload_time (RFC 3339);
// otherwise the publication uses the time of the version it publishes.
//
// # Reserved paths
//
// The publication writes the Simple API under simple/ and each wheel's
// metadata at its path plus ".metadata", so no package may sit there.
package python

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	pyformat "github.com/pkgvc/pkgvc/kinds/python/format"
	"github.com/pkgvc/pkgvc/repo"
)

// Record metadata keys.
const (
	MetaName           = "name"
	MetaVersion        = "version"
	MetaFilename       = "filename"
	MetaPackageType    = "packagetype"
	MetaRequiresPython = "requires_python"
	MetaMetadataSHA256 = "metadata_sha256"
	MetaYanked         = "yanked"
	MetaYankedReason   = "yanked_reason"
	MetaUploadTime     = "upload_time"
)

// Paths the publication generates.
const (
	// SimpleDir is the directory of the Simple Repository API.
	SimpleDir = "simple"
	// MetadataSuffix follows a wheel's path to name its core metadata
	// file (PEP 658).
	MetadataSuffix = ".metadata"
)

// Kind validates wheels and sdists.
type Kind struct{}

var (
	_ repo.Kind        = Kind{}
	_ repo.PathChecker = Kind{}
	_ repo.FileKeyer   = Kind{}

	_ repo.Packager        = Kind{}
	_ repo.VersionComparer = Kind{}
)

// Name returns "python".
func (Kind) Name() string { return "python" }

// Package makes a project a package and its releases the package's
// versions (repo.Packager).
func (Kind) Package(rec repo.Record) (name, version string, ok bool) {
	name, version = rec.Metadata[MetaName], rec.Metadata[MetaVersion]
	return name, version, name != "" && version != ""
}

// CompareVersions orders two releases as PEP 440 does (1.10 after 1.9,
// 1.0rc1 before 1.0), so that package diffs tell upgrades from downgrades
// (repo.VersionComparer). A project has no arch: its wheels for several
// platforms are files of one release.
func (Kind) CompareVersions(a, b string) int { return pyformat.CompareVersions(a, b) }

// Inspect reads the wheel or sdist that will sit at p and returns its record
// metadata. It refuses a file whose name and metadata disagree, a broken or
// unsafe archive, and one over pyformat's default Limits.
func (k Kind) Inspect(ctx context.Context, p string, content io.ReaderAt, size int64) (map[string]string, error) {
	if err := k.CheckPath(p); err != nil {
		return nil, err
	}
	d, err := pyformat.ReadDist(ctx, content, size, path.Base(p), pyformat.Limits{})
	if err != nil {
		return nil, err
	}
	return metadata(d), nil
}

// metadata returns the record metadata describing d.
func metadata(d *pyformat.Dist) map[string]string {
	sum := d.MetadataSHA256()
	m := map[string]string{
		MetaName:           d.Name,
		MetaVersion:        d.Version,
		MetaFilename:       d.Filename,
		MetaPackageType:    d.Type,
		MetaMetadataSHA256: hex.EncodeToString(sum[:]),
		MetaYanked:         "false",
	}
	if d.RequiresPython != "" {
		m[MetaRequiresPython] = d.RequiresPython
	}
	return m
}

// FileKey names a distribution file as PyPI compares them when it refuses
// a reused file name: its PEP 503 normalized project, its version in one
// spelling for the versions PEP 440 calls equal ("1.0", "01.0" and "1.0.0"
// are one), and for a wheel its build tag and compatibility tag sets
// ("py2.py3" is "py3.py2"), and for an sdist its archive format (PyPI
// holds old releases with both a .tar.gz and a .zip, which are different
// files). Files that are not python distributions have no key.
func (Kind) FileKey(rec repo.Record) (string, bool) {
	file := path.Base(rec.Path)
	name, version := rec.Metadata[MetaName], rec.Metadata[MetaVersion]
	w, werr := pyformat.ParseWheelName(file)
	if name == "" || version == "" {
		switch {
		case werr == nil:
			name, version = w.Name, w.Version
		default:
			stem, ok := pyformat.SdistStem(file)
			if !ok {
				return "", false
			}
			if name, version, ok = pyformat.GuessSdistName(stem); !ok {
				return "", false
			}
		}
	}
	v, err := pyformat.CanonicalVersion(version)
	if err != nil || !pyformat.ValidName(name) {
		return "", false
	}
	key := pyformat.NormalizeName(name) + " " + v
	switch {
	case werr == nil:
		key += " " + tagSet(w.Python) + "-" + tagSet(w.ABI) + "-" + tagSet(w.Platform)
		if w.Build != "" {
			key += " build " + strings.ToLower(w.Build)
		}
		return key, true
	case strings.HasSuffix(file, pyformat.WheelExt):
		return "", false
	}
	stem, ok := pyformat.SdistStem(file)
	if !ok {
		return "", false
	}
	return key + " sdist " + file[len(stem):], true
}

// tagSet writes a compressed tag set ("py3.py2") in one order, lower case.
func tagSet(t string) string {
	tags := strings.Split(strings.ToLower(t), ".")
	slices.Sort(tags)
	return strings.Join(slices.Compact(tags), ".")
}

// CheckPath refuses paths under SimpleDir and paths ending in
// MetadataSuffix, where the publication writes its own files.
func (Kind) CheckPath(p string) error {
	switch {
	case p == SimpleDir || strings.HasPrefix(p, SimpleDir+"/"):
		return fmt.Errorf("%w %q: a python repository's publication writes the Simple API under %s/; give the package another path", repo.ErrReservedPath, p, SimpleDir)
	case strings.HasSuffix(p, MetadataSuffix):
		return fmt.Errorf("%w %q: a python repository's publication writes each wheel's core metadata at its path plus %s", repo.ErrReservedPath, p, MetadataSuffix)
	}
	return nil
}

// ClientAccess gives pip the distribution's index (content.ClientGuide).
func (Kind) ClientAccess(contentURL, _ string) (string, []string) {
	index := contentURL + "simple/"
	return index, []string{"pip install --index-url " + index + " PROJECT"}
}
