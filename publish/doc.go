// Package publish exposes repository versions to package clients:
// distributions (a named ref at a base path), publications (the metadata a
// content kind needs beside its packages, such as PULP_MANIFEST), the HTTP
// content server, and checkout into a plain directory.
//
// A distribution is a document named by the ref "config/dists/NAME"; one
// that pins a version also holds the ref "dists/NAME" on it, so gc keeps the
// pinned version. One that follows a repository resolves its head at every
// request, so a commit or a promotion is served at once. Every change of
// distributions also moves "config/dist-set", so that changes checked
// against the same distributions (base paths may not contain each other)
// land one at a time.
package publish
