// Package python reads Python package files and writes the Simple
// Repository API, for the python content kind (repo/kinds/python) and its
// publication (publish/pypi).
//
// # Names and versions
//
// NormalizeName is PEP 503's normalization (lower case, runs of '-', '_'
// and '.' become one '-'); ValidName is PEP 508's name grammar.
// NormalizeVersion parses a PEP 440 version and returns its normalized form
// ("1.0-ALPHA.1" → "1.0a1", "1.0+Ubuntu-1" → "1.0+ubuntu.1"); CompareVersions
// orders them as PEP 440 does.
//
// # Distributions
//
// ReadDist validates one wheel or sdist and returns its core metadata:
//
//   - A wheel is named {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl
//     and is a zip holding exactly one top-level {name}-{version}.dist-info
//     directory, whose METADATA names the same project and version as the
//     file name (after normalization).
//   - An sdist is {name}-{version}.tar.gz or .zip and holds
//     {name}-{version}/PKG-INFO, naming the same project and version.
//
// Every archive entry is checked for path traversal (absolute paths, ".."
// segments, backslashes; for tarballs also links leaving the archive and
// device files). Work is bounded by Limits: the size of METADATA or PKG-INFO
// (1 MiB), the number of archive entries (100 000; a zip's count is read
// from its end record before the directory is loaded) and the bytes an sdist
// tarball decompresses to (4 GiB). A package is streamed, never read into
// memory whole. Errors match ErrInvalid, and ErrMismatch, ErrLimit or
// ErrUnsafePath when those apply.
//
// # Simple Repository API
//
// ProjectList and ProjectPage are the PEP 691 JSON documents (API version
// 1.1: PEP 700's versions, size and upload-time; PEP 714's core-metadata,
// read from the older dist-info-metadata too, never written as it); their
// WriteHTML methods write the PEP 503 HTML pages with the same content.
package format
