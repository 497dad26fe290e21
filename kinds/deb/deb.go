// Package deb is the "deb" content kind: Debian binary packages (.deb),
// laid out as a Debian archive's pool, published as a signed apt
// repository.
//
// # Layout
//
//	pool/<component>/<prefix>/<source>/<package>_<version>_<arch>.deb
//
// where <prefix> is the source name's first letter ("lib" and the next
// letter for names starting with "lib"), <source> the Source field's
// name (without a version) or else the Package, and <version> the
// Version without its epoch, as Debian names pool files.
//
// # Record metadata
//
// A .deb record carries the control fields apt needs, read from the file
// (or, for a synced file, from the upstream's Packages stanza, verified
// against the file's SHA256 and size):
//
//	MetaControl       the control paragraph, as in the .deb's control
//	                  file (or the upstream stanza without Filename,
//	                  Size and the checksum fields), no trailing newline
//	MetaPackage       Package
//	MetaVersion       Version (with its epoch)
//	MetaArchitecture  Architecture
//	MetaSource        Source's name, when it differs from Package
//	MetaMD5           MD5sum of the file (hex)
//	MetaSHA1          SHA1 of the file (hex)
//
// The publication writes a Packages stanza as MetaControl plus
// Filename (the record's path), Size, MD5sum, SHA1 and SHA256.
//
// # Commits
//
// `commit REPO --add FILE|DIR [--component C]` checks each .deb (see
// format.ReadDeb: ar members, control.tar and data.tar read through with
// their entry names checked) and places it at its pool path in component
// C (default main); a file already under pool/ must lie at its own pool
// path. The pool file name (package, version without epoch, arch) keys a
// file: the same name with other bytes is refused in any component.
// Versions are ordered as dpkg orders them, so `diff --by-package` tells
// upgrades from downgrades per package and architecture.
package deb

import "strings"

// Record metadata keys (see the package doc).
const (
	MetaControl      = "control"
	MetaPackage      = "Package"
	MetaVersion      = "Version"
	MetaArchitecture = "Architecture"
	MetaSource       = "Source"
	MetaMD5          = "MD5sum"
	MetaSHA1         = "SHA1"
)

// PoolDir is the directory of every package file.
const PoolDir = "pool/"

// DefaultComponent is the component of a package committed without one.
const DefaultComponent = "main"

// PoolPrefix is the pool directory letter(s) of source name src.
func PoolPrefix(src string) string {
	if strings.HasPrefix(src, "lib") && len(src) > 3 {
		return src[:4]
	}
	if src == "" {
		return ""
	}
	return src[:1]
}

// PoolPath is the path of the .deb of package pkg, version ver (epoch
// dropped), architecture arch, from source src, in component comp.
func PoolPath(comp, src, pkg, ver, arch string) string {
	if _, v, ok := strings.Cut(ver, ":"); ok {
		ver = v
	}
	return PoolDir + comp + "/" + PoolPrefix(src) + "/" + src + "/" + pkg + "_" + ver + "_" + arch + ".deb"
}

// ComponentOf returns the component of a pool path, "" for another path.
func ComponentOf(p string) string {
	rest, ok := strings.CutPrefix(p, PoolDir)
	if !ok {
		return ""
	}
	comp, _, ok := strings.Cut(rest, "/")
	if !ok {
		return ""
	}
	return comp
}
