// Package repo is pkgvc's porcelain: repositories, their immutable versions,
// and the operations on them (commit, log, ls, cat, diff, promote, rollback,
// retention, gc, fsck).
//
// A repository is two refs: "config/repos/NAME" names its configuration
// object (content kind, retention, shallow boundary) and "repos/NAME" its
// head version. A version is a commit object over a [tree] of package
// records; every change makes a new commit and moves the head with a
// compare-and-swap, so concurrent writers never lose each other's work.
//
// # Revisions
//
// NAME (the head), NAME@N (version N in NAME's first-parent history),
// NAME@{K} (where NAME pointed K moves ago, from the reflog), any of them
// followed by ~K (K first parents back), or a commit id or unique id prefix of
// at least 8 hex digits.
package repo
