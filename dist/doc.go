// Package dist manages distributions: a named ref at a base path, through
// which package clients reach a repository's head or a pinned version.
//
// A distribution is a document in the store's metadata store (package
// meta) under the key "dists/NAME"; one that pins a version also has the
// pin "pins/dists/NAME" (see repo.PinPrefix), changed in the same batch, so
// gc keeps the pinned version. One that follows a repository resolves its
// head at every request, so a commit or a promotion is served at once.
// Every change of distributions also changes "dist-set", so that changes
// checked against the same distributions (base paths may not contain each
// other) land one at a time.
package dist
