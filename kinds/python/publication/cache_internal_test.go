package publication

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
)

func TestMetaCacheEvictsOldest(t *testing.T) {
	c := newMetaCache(3 * (100 + entryOverhead))
	key := func(i int) metaKey { return metaKey{objects.Sum([]byte(fmt.Sprint(i))), "x.whl"} }
	for i := range 5 {
		c.add(key(i), make([]byte, 100))
		c.add(key(i), make([]byte, 100)) // again: no change
	}
	for i := range 5 {
		_, ok := c.get(key(i))
		require.Equal(t, i >= 2, ok, i)
	}
	require.Equal(t, int64(3*(100+entryOverhead)), c.size)
	c.add(key(9), make([]byte, 10_000)) // bigger than the cache: not kept
	_, ok := c.get(key(9))
	require.False(t, ok)
	c.add(key(10), nil) // "no metadata" is remembered too
	v, ok := c.get(key(10))
	require.True(t, ok)
	require.Nil(t, v)

	var none *metaCache // the zero Publisher's
	none.add(key(1), []byte("x"))
	_, ok = none.get(key(1))
	require.False(t, ok)
}
