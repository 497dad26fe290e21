// Package oci reads what the OCI Distribution and Image specifications
// define for a container registry: manifest and index media types (and
// their Docker v2 schema 2 equivalents), the descriptors a manifest or
// index references, and the grammar of repository names, tags and digests.
//
// # Digests
//
// Only sha256 digests are supported: a pkgvc blob id is the SHA-256 of the
// raw bytes, so "sha256:<hex>" names the same content in both worlds.
// Other registered algorithms (sha512) are refused with ErrUnsupportedDigest,
// anything else with ErrInvalidDigest.
//
// # Limits
//
// Manifests are read whole (they are small); MaxManifestSize bounds them,
// as registries commonly do.
package format
