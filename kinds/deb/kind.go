package deb

import (
	"context"
	"crypto/md5"  //nolint:gosec // apt's Packages index lists MD5sum
	"crypto/sha1" //nolint:gosec // and SHA1, beside SHA256
	"encoding/hex"
	"fmt"
	"io"

	"github.com/pkgvc/pkgvc/kinds/deb/format"
	"github.com/pkgvc/pkgvc/repo"
)

// Kind is the deb content kind.
type Kind struct{}

var (
	_ repo.Kind            = Kind{}
	_ repo.PathChecker     = Kind{}
	_ repo.Placer          = Kind{}
	_ repo.CommitOptioner  = Kind{}
	_ repo.FileKeyer       = Kind{}
	_ repo.Packager        = Kind{}
	_ repo.ArchPackager    = Kind{}
	_ repo.VersionComparer = Kind{}
)

// Name returns "deb".
func (Kind) Name() string { return "deb" }

// Inspect reads and checks the .deb that will lie at p (its ar members,
// control.tar and data.tar, see format.ReadDeb) and returns its record
// metadata: the control fields, MD5sum and SHA1 of the whole file. A file
// already under pool/ must lie at its own pool path there.
func (k Kind) Inspect(ctx context.Context, p string, content io.ReaderAt, size int64) (map[string]string, error) {
	if err := k.CheckPath(p); err != nil {
		return nil, err
	}
	d, err := format.ReadDeb(ctx, content, size, format.Limits{})
	if err != nil {
		return nil, err
	}
	meta, err := RecordMetadata(d.Control)
	if err != nil {
		return nil, err
	}
	if err := checkInPool(p, meta); err != nil {
		return nil, err
	}
	md5sum, sha1sum, err := hashes(content, size)
	if err != nil {
		return nil, err
	}
	meta[MetaMD5], meta[MetaSHA1] = md5sum, sha1sum
	return meta, nil
}

// hashes returns the MD5 and SHA1 (hex) of the size bytes of r.
func hashes(r io.ReaderAt, size int64) (string, string, error) {
	m, s := md5.New(), sha1.New() //nolint:gosec // index checksums, not security
	n, err := io.Copy(io.MultiWriter(m, s), io.NewSectionReader(r, 0, size))
	if err != nil {
		return "", "", fmt.Errorf("hash the .deb: %w", err)
	}
	if n != size {
		return "", "", fmt.Errorf("hash the .deb: read %d of %d bytes", n, size)
	}
	return hex.EncodeToString(m.Sum(nil)), hex.EncodeToString(s.Sum(nil)), nil
}

// CompareVersions orders versions as dpkg does (repo.VersionComparer).
func (Kind) CompareVersions(a, b string) int { return format.CompareVersions(a, b) }

// Package names a record's package and version (repo.Packager).
func (k Kind) Package(rec repo.Record) (name, version string, ok bool) {
	name, _, version, ok = k.PackageArch(rec)
	return name, version, ok
}

// PackageArch names a record's package, architecture and version
// (repo.ArchPackager): a package built for amd64 and for arm64 is two.
// A record without metadata is named by its pool file name (its version
// then lacks an epoch).
func (Kind) PackageArch(rec repo.Record) (name, arch, version string, ok bool) {
	name, arch, version = rec.Metadata[MetaPackage], rec.Metadata[MetaArchitecture], rec.Metadata[MetaVersion]
	if name != "" && arch != "" && version != "" {
		return name, arch, version, true
	}
	f, err := parsePoolPath(rec.Path)
	if err != nil {
		return "", "", "", false
	}
	return f.pkg, f.arch, f.ver, true
}

// FileKey names a .deb by its package, version without epoch and
// architecture, as its pool file name does (repo.FileKeyer): the same
// package file under another component, or another spelling of its path,
// with other bytes is refused, as the Debian archive never reuses a file
// name.
func (k Kind) FileKey(rec repo.Record) (string, bool) {
	name, arch, version, ok := k.PackageArch(rec)
	if !ok {
		return "", false
	}
	v, err := format.ParseVersion(version)
	if err != nil {
		return "", false
	}
	return name + "_" + v.NoEpoch() + "_" + arch, true
}
