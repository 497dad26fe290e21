package clockcache

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCacheBounds(t *testing.T) {
	c := New[string, int](4, 100)
	for i := 0; i < 10; i++ {
		c.Add(fmt.Sprint(i), i, 10)
		require.LessOrEqual(t, c.Len(), 4)
	}
	v, ok := c.Get("9")
	require.True(t, ok, "the newest entry stays")
	require.Equal(t, 9, v)

	// a recently read entry gets a second chance
	c = New[string, int](3, 0)
	c.Add("a", 1, 1)
	c.Add("b", 2, 1)
	c.Add("c", 3, 1)
	_, _ = c.Get("a")
	c.Add("d", 4, 1)
	_, ok = c.Get("a")
	require.True(t, ok)
	require.Equal(t, 3, c.Len())

	// weight
	c = New[string, int](100, 50)
	c.Add("x", 1, 30)
	c.Add("y", 2, 30)
	_, okx := c.Get("x")
	_, oky := c.Get("y")
	require.False(t, okx && oky, "over the weight bound")
	require.True(t, oky)
	c.Add("huge", 3, 51)
	_, ok = c.Get("huge")
	require.False(t, ok, "heavier than the whole budget")

	// replace and remove
	c.Add("y", 5, 10)
	v, _ = c.Get("y")
	require.Equal(t, 5, v)
	c.Remove("y")
	_, ok = c.Get("y")
	require.False(t, ok)
	require.Equal(t, 0, c.Len())
}

func TestCacheConcurrent(t *testing.T) {
	c := New[int, int](64, 0)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				k := (i*7 + g) % 200
				if v, ok := c.Get(k); ok {
					require.Equal(t, k*2, v)
				} else {
					c.Add(k, k*2, 1)
				}
			}
		}(g)
	}
	wg.Wait()
	require.LessOrEqual(t, c.Len(), 64)
}
