// Package publish generates publications: the metadata a content kind
// needs beside its packages (the PEP 503 index of a python repository,
// PULP_MANIFEST of a file one), one Publisher per kind under kinds/.
//
// A publication is a function of its version and its publisher's format
// (Formatted), so it is stored once (see stored.go): its files are blobs,
// listed by a tree of the kind versions use (package repo/tree), named by
// the ref publications/<kind>/<version id>/<options>. The content server
// and checkout read the same stored publications, by lookups and ranges,
// never whole; they survive restarts. An Incremental publisher derives a
// version's publication from an ancestor's and the records that differ,
// so a commit of one file costs what that file touches; without one
// stored, it builds it whole, streaming. gc keeps the publications of
// served versions and of their parents. Distributions are in package
// dist, the HTTP content server in package content, checkout into a
// directory in package checkout.
package publish
