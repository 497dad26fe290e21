package objects_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
)

func TestObjectCache(t *testing.T) {
	forEach(t, func(t *testing.T, e env) {
		ctx := t.Context()
		n, w := e.s.ObjectCacheSize()
		require.Zero(t, n)
		require.Zero(t, w)
		plain := putObject(t, e.s, []byte("read before the cache"))
		_, err := e.s.GetObject(ctx, plain.ID)
		require.NoError(t, err)
		n, _ = e.s.ObjectCacheSize()
		require.Zero(t, n, "no cache unless asked for")

		e.s.CacheObjects(1 << 20)
		e.s.CacheObjects(1) // the first bound stays
		data := textBytes(5000)
		res := putObject(t, e.s, data)
		got, err := e.s.GetObject(ctx, res.ID)
		require.NoError(t, err)
		require.Equal(t, data, got)
		n, w = e.s.ObjectCacheSize()
		require.Equal(t, 1, n)
		require.Greater(t, w, int64(len(data)))

		// The stored bytes go bad: the verified copy still answers, and a
		// read that asks for the stored bytes sees the damage.
		rewrite(t, e.b, objectKey(res.ID), flip(-3))
		got, err = e.s.GetObject(ctx, res.ID)
		require.NoError(t, err)
		require.Equal(t, data, got)
		_, err = e.s.GetObject(objects.Uncached(ctx), res.ID)
		require.ErrorIs(t, err, objects.ErrCorrupt)

		// A corrupt object is never cached.
		bad := putObject(t, e.s, []byte("never cached"))
		rewrite(t, e.b, objectKey(bad.ID), flip(-1))
		_, err = e.s.GetObject(ctx, bad.ID)
		require.ErrorIs(t, err, objects.ErrCorrupt)
		_, err = e.s.GetObject(ctx, bad.ID)
		require.ErrorIs(t, err, objects.ErrCorrupt)

		// Deleting an object drops it from the cache.
		deleted, err := e.s.DeleteObject(ctx, res.ID, time.Time{})
		require.NoError(t, err)
		require.True(t, deleted)
		_, err = e.s.GetObject(ctx, res.ID)
		require.ErrorIs(t, err, objects.ErrNotFound)
	})
}
