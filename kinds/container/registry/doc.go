// Package oci serves container distributions as an OCI Distribution
// registry at /v2/, beside the content server's /content/.
//
// A distribution of kind "container" is the image repository named by its
// base path: `dist create img --base-path test/img --repo img` serves
// 127.0.0.1:8080/test/img:<tag>. Its repository holds the layout of
// repo/kinds/container (blobs/sha256/<hex>, manifests/sha256/<hex>,
// tags/<tag>).
//
// # Digests
//
// sha256 and sha512 digests are taken for blobs, uploads, mounts,
// manifests and referrers; responses carry the digest the client used.
// A blob is stored by its SHA-256 whatever its digest: an upload by
// sha512 is hashed both ways in one pass (a wrong sha512 keeps nothing),
// the upload engine remembers the alias until a manifest names it, and
// the manifest's version records it at blobs/sha512/<hex> (a manifest
// pushed by sha512 at manifests/sha512/<hex>).
//
// # Pull
//
// Manifests by tag or digest (GET, HEAD; the record's media type as
// Content-Type, Docker-Content-Digest), blobs with Range through the
// content server's verified blob serving, tags/list with n/last paging,
// and the OCI 1.1 referrers API. A distribution with a remote pulls a
// manifest it lacks through the server's pull-through (content.Server.Pull)
// and asks again for a tag it holds at most once per PullThroughTTL; with
// the upstream down it serves what it has.
//
// # Push
//
// Blob uploads (monolithic POST, chunked PATCH streamed to a temporary
// file in the store's temporary directory, PUT to finish, cross-repository
// mounts, with or without from) store a blob only once its digest is
// verified. A blob pushed is the repository's at once, readable by
// whoever may read the distribution, until a manifest names it (its
// version holds it then) or its pin against gc expires (pushedTTL). Each
// manifest PUT commits one new version: the manifest, its
// tag, and records of its config and layers (non-distributable layers
// the store lacks get none); tag and manifest DELETE commit versions too.
// Blob DELETE drops a pushed blob no manifest names yet (and a blob
// record no manifest references, as a version); a blob a manifest
// references goes with the manifest (405). A DELETE's removals are
// committed only if the head the commit builds on still asks for them
// (repo.CommitRequest.Precondition): a manifest pushed meanwhile keeps
// the blobs it references. Pinned distributions refuse writes.
// Upload sessions idle for longer than the upload timeout are removed.
// Sessions and pushed blobs live in the store (package uploads): a push
// may spread over every server of the store.
//
// # Authentication
//
// A 401 carries a Bearer challenge whose realm is /token, the registry
// token endpoint docker, crane and skopeo use: with HTTP Basic whose
// password is a pkgvc token, /token returns that token; without
// credentials, a short-lived anonymous token signed by the server, which
// pulls public distributions only. /v2/ accepts either as Bearer, and a
// pkgvc token as HTTP Basic password. Pushing needs repo:<repo>:write,
// pulling a private distribution dist:<dist>:read (or repo write).
package registry
