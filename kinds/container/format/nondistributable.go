package format

import "strings"

// Media types of layers a registry need not hold: their content is
// fetched from the descriptor's urls (a Windows base layer, say).
const (
	// MediaTypeNonDistributablePrefix starts the OCI non-distributable
	// layer types (.v1.tar, .v1.tar+gzip, .v1.tar+zstd).
	MediaTypeNonDistributablePrefix = "application/vnd.oci.image.layer.nondistributable."
	// MediaTypeDockerForeignLayer is Docker's foreign layer.
	MediaTypeDockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
)

// IsNonDistributable reports whether a descriptor of media type mt names
// a layer that registries are not expected to hold: a manifest may
// reference it without it being pushed, and mirrors do not fetch it.
func IsNonDistributable(mt string) bool {
	return strings.HasPrefix(mt, MediaTypeNonDistributablePrefix) || mt == MediaTypeDockerForeignLayer
}
