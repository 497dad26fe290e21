// Package repo is pkgvc's porcelain: repositories, their immutable versions,
// and the operations on them (commit, log, ls, cat, diff, promote, rollback,
// retention, gc, fsck).
//
// A repository is its configuration (content kind, retention, shallow
// boundary), the document "repos/NAME" of the store's metadata store
// (package meta), whose presence makes it exist, and the ref "repos/NAME",
// its head version, made by its first commit. A version is a commit object over a [tree] of package
// records; every change makes a new commit and moves the head with a
// compare-and-swap, so concurrent writers never lose each other's work.
//
// # Revisions
//
// NAME (the head), NAME@N (version N in NAME's first-parent history),
// NAME@{K} (where NAME pointed K moves ago, from the reflog), any of them
// followed by ~K (K first parents back), or a commit id or unique id prefix of
// at least 8 hex digits.
//
// # Store formats
//
// A local store (package location/fsstore) records its format in pkgvc-store.json. Format 2
// keeps configuration documents, tasks and pins in "meta" (package
// meta/fs) and only refs in "refs"; format 1 kept documents as objects
// named by refs under "config/". A format 1 store is refused until
// Upgrade (`pkgvc upgrade`) converts it.
package repo
