// Package oci reads what the OCI Distribution and Image specifications
// define for a container registry: manifest and index media types (and
// their Docker v2 schema 2 equivalents), the descriptors a manifest or
// index references, and the grammar of repository names, tags and digests.
//
// # Digests
//
// A pkgvc blob id is the SHA-256 of the raw bytes, so "sha256:<hex>" names
// the same content in both worlds. sha512 digests are read too
// (ParseDigestAlg; descriptors of manifests may use them): the container
// kind records a sha512 name as an alias of the SHA-256 blob. ParseDigest
// takes sha256 only. Other algorithms are refused with
// ErrUnsupportedDigest, anything else with ErrInvalidDigest.
//
// # Limits
//
// Manifests are read whole (they are small); MaxManifestSize bounds them,
// as registries commonly do.
package format
