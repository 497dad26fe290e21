// Package format reads Debian binary packages and archive indexes without
// a repository: the ar container of a .deb, its control.tar member and
// control file, deb822 paragraphs (control files, Packages, Release),
// dpkg versions and their order, and dependency fields.
//
// Every reader is bounded: sizes are checked against the file's size and
// against limits before anything is allocated, so that a truncated or
// hostile file is an error, never a panic or an unbounded read.
package format
