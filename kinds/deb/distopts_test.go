package deb_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/deb"
)

// TestValidSuite: a suite is a relative path of plain segments, the same
// rule for a distribution and for the upstream a remote reads.
func TestValidSuite(t *testing.T) {
	for _, s := range []string{"stable", "bookworm-updates", "bookworm/updates", "1.0~rc+1_x", "Stable"} {
		require.True(t, deb.ValidSuite(s), s)
	}
	for _, s := range []string{"", ".", "..", "../x", "x/..", "x/./y", "/x", "x/", "x//y", "a b", "x?y"} {
		require.False(t, deb.ValidSuite(s), s)
	}
}
