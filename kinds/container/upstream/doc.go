// Package oci is the "container" upstream kind: one repository of an OCI
// (or Docker v2) registry, read with go-containerregistry, as in Pulp's
// container plugin.
//
// # Remote
//
// The remote's URL is the registry's root ("https://registry-1.docker.io",
// "http://127.0.0.1:5000": plain HTTP is used when the URL says so) and
// Options.UpstreamName the repository on it ("library/alpine"). The
// registry's auth flow is followed as Docker does: anonymous, or with the
// remote's Username and PasswordFile, sent as Basic credentials to the
// registry or to the token service its Bearer challenge names (the
// password file is read again whenever a token is fetched). TLS, proxy,
// CA and client certificates and timeouts are the remote's, as for every
// kind.
//
// # Index
//
// Index lists the repository's tags, keeps those matching some
// Options.IncludeTags pattern (all when empty) and no Options.ExcludeTags
// pattern (path.Match syntax), and resolves each to its manifest. An image
// index (a multi-arch list) brings its child manifests: with
// Options.Platforms ("os/arch[/variant]"; a missing variant matches any)
// only the children of those platforms. The index's bytes are kept as
// upstream served them, so its digest does not change: a filtered index
// then names children the repository does not hold (Pulp accepts this
// too); clients asking for another platform get "manifest unknown". An
// image manifest brings its config and layers; layers that must be
// fetched from elsewhere (foreign "urls") are left out. Docker schema 1
// manifests are refused.
//
// # Layout
//
// A repository version holds, for the tags synced:
//
//   - blobs/sha256/<hex>: a config or layer blob, the raw bytes (a pkgvc
//     blob id is their sha256, that is the OCI digest); metadata
//     "mediaType" as the referring manifest gives it.
//   - manifests/sha256/<hex>: a manifest or index, exactly as upstream
//     served it; metadata "mediaType", and "subject" ("sha256:...") and
//     "artifactType" when it has them.
//   - tags/<tag>: the same bytes as the tag's manifest; metadata
//     "mediaType" and "digest" ("sha256:<hex>", or the sha512 digest the
//     registry gives for the tag).
//   - manifests/sha512/<hex>, blobs/sha512/<hex>: what upstream names by a
//     sha512 digest, as aliases of the SHA-256 blob (see
//     kinds/container): the manifest checked against its sha512 when
//     read, a blob read once while indexing to learn its SHA-256 (checked
//     against the sha512; the session remembers it), then fetched by it.
//
// # Fetching
//
// Manifests are read while indexing and stored whatever the remote's
// policy; blobs are fetched by the sync engine through Syncer.Open, with
// the registry's auth, resumed with Range after a dropped connection and
// verified while they stream (with the on_demand policy, when first
// served). A re-sync asks the registry for each tag's digest only (HEAD)
// and reads manifests it stored before from the store, so a sync that
// changes nothing costs one request per tag.
//
// # Rate limits
//
// A registry answering 429, or 503 with Retry-After (Docker Hub past its
// pull limit), is asked again after the wait it names, up to the remote's
// retries, if the context allows that wait (httpx.WithRetryWait); else
// the request fails with an *httpx.RateLimitError saying until when. A
// sync waits; pkgvc serve's pull-through does not, and answers its
// clients itself (content.Server.Pull).
//
// # Pull-through
//
// IndexRef resolves one tag or manifest digest the same way, for
// remote.Manager.PullRefs.
package upstream
