package all_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/all"
)

// Default, which commands offer for --kind and distributions pinned by an
// older pkgvc get, is the kind registry's default, and a kind of each
// registry.
func TestDefault(t *testing.T) {
	require.Equal(t, all.Default, all.Kinds().Default())
	_, err := all.Syncers().Lookup(all.Default)
	require.NoError(t, err)
	_, ok := all.Publishers().Lookup(all.Default)
	require.True(t, ok)
}
