package format_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/container/format"
)

func TestIsNonDistributable(t *testing.T) {
	for _, mt := range []string{
		"application/vnd.oci.image.layer.nondistributable.v1.tar",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
		"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
	} {
		require.True(t, format.IsNonDistributable(mt), mt)
	}
	for _, mt := range []string{
		"application/vnd.oci.image.layer.v1.tar+gzip",
		"application/vnd.docker.image.rootfs.diff.tar.gzip",
		"application/vnd.oci.image.config.v1+json",
		"",
	} {
		require.False(t, format.IsNonDistributable(mt), mt)
	}
}
