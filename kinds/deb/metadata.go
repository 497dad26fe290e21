package deb

import (
	"fmt"
	"strings"

	"github.com/pkgvc/pkgvc/kinds/deb/format"
)

// IndexFields are the fields a Packages stanza adds to a control
// paragraph: where the file lies and its checksums. A record's
// MetaControl holds none of them.
var IndexFields = []string{"Filename", "Size", "MD5sum", "SHA1", "SHA256", "SHA512"}

// RecordMetadata checks a binary package's control paragraph (a .deb's
// control file, or an upstream Packages stanza) and returns the record
// metadata it gives: MetaControl (without IndexFields), MetaPackage,
// MetaVersion, MetaArchitecture and MetaSource. Package, Version and
// Architecture must be present and valid; MD5sum and SHA1 are the
// caller's to add.
func RecordMetadata(control format.Paragraph) (map[string]string, error) {
	pkg, ver, arch := control.Value("Package"), control.Value("Version"), control.Value("Architecture")
	switch {
	case pkg == "":
		return nil, fmt.Errorf("control file has no Package field")
	case !format.ValidPackageName(pkg):
		return nil, fmt.Errorf("invalid package name %q: lower case letters, digits and + - ., at least two", pkg)
	case ver == "":
		return nil, fmt.Errorf("package %s: control file has no Version field", pkg)
	case arch == "":
		return nil, fmt.Errorf("package %s: control file has no Architecture field", pkg)
	case !format.ValidArchitecture(arch):
		return nil, fmt.Errorf("package %s: invalid architecture %q", pkg, arch)
	}
	if _, err := format.ParseVersion(ver); err != nil {
		return nil, fmt.Errorf("package %s: %w", pkg, err)
	}
	meta := map[string]string{
		MetaControl:      control.Without(IndexFields...).String(),
		MetaPackage:      pkg,
		MetaVersion:      ver,
		MetaArchitecture: arch,
	}
	if s := control.Value("Source"); s != "" {
		src, err := sourceName(s)
		if err != nil {
			return nil, fmt.Errorf("package %s: %w", pkg, err)
		}
		if src != pkg {
			meta[MetaSource] = src
		}
	}
	return meta, nil
}

// sourceName reads the name of a Source field, "name" or "name (version)".
func sourceName(s string) (string, error) {
	name, rest, _ := strings.Cut(s, " ")
	rest = strings.TrimSpace(rest)
	if !format.ValidPackageName(name) {
		return "", fmt.Errorf("invalid Source %q", s)
	}
	if rest != "" {
		v, open := strings.CutPrefix(rest, "(")
		v, closed := strings.CutSuffix(v, ")")
		if !open || !closed {
			return "", fmt.Errorf("invalid Source %q: expected NAME (VERSION)", s)
		}
		if _, err := format.ParseVersion(strings.TrimSpace(v)); err != nil {
			return "", fmt.Errorf("invalid Source %q: %w", s, err)
		}
	}
	return name, nil
}
