package objectstest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
)

// Run runs the conformance suite; newBackend returns a fresh, empty
// backend for each subtest.
func Run(t *testing.T, newBackend func(t *testing.T) objects.Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b objects.Backend)
	}{
		{"PutOpen", testPutOpen},
		{"Overwrite", testOverwrite},
		{"Ranges", testRanges},
		{"Stat", testStat},
		{"NotFound", testNotFound},
		{"Delete", testDelete},
		{"List", testList},
		{"ListStops", testListStops},
		{"InvalidKeys", testInvalidKeys},
		{"SizeMismatch", testSizeMismatch},
		{"ConcurrentPut", testConcurrentPut},
		{"Stager", testStager},
		{"Syncer", testSyncer},
		{"Toucher", testToucher},
		{"LocalPather", testLocalPather},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newBackend(t))
		})
	}
}

func put(t *testing.T, b objects.Backend, key string, data []byte) {
	t.Helper()
	require.NoError(t, b.Put(t.Context(), key, bytes.NewReader(data), int64(len(data))))
}

func read(t *testing.T, b objects.Backend, key string, offset, length int64) []byte {
	t.Helper()
	rc, err := b.Open(t.Context(), key, offset, length)
	require.NoError(t, err)
	defer rc.Close()
	data, err := io.ReadAll(rc)
	require.NoError(t, err)
	return data
}

func keys(t *testing.T, b objects.Backend, prefix string) []string {
	t.Helper()
	var ks []string
	require.NoError(t, b.List(t.Context(), prefix, func(info objects.Info) error {
		ks = append(ks, info.Key)
		return nil
	}))
	slices.Sort(ks)
	return ks
}

func pattern(n int) []byte {
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i*7 + i/251)
	}
	return data
}

func testPutOpen(t *testing.T, b objects.Backend) {
	put(t, b, "blobs/ab/hello", []byte("hello world"))
	require.Equal(t, []byte("hello world"), read(t, b, "blobs/ab/hello", 0, -1))

	put(t, b, "empty", nil)
	require.Empty(t, read(t, b, "empty", 0, -1))

	// Unknown size.
	require.NoError(t, b.Put(t.Context(), "unknown", strings.NewReader("abc"), -1))
	require.Equal(t, []byte("abc"), read(t, b, "unknown", 0, -1))
}

func testOverwrite(t *testing.T, b objects.Backend) {
	put(t, b, "k/v", []byte("first version"))
	put(t, b, "k/v", []byte("second"))
	require.Equal(t, []byte("second"), read(t, b, "k/v", 0, -1))
	info, err := b.Stat(t.Context(), "k/v")
	require.NoError(t, err)
	require.EqualValues(t, 6, info.Size)
}

func testRanges(t *testing.T, b objects.Backend) {
	data := pattern(1000)
	put(t, b, "r/data", data)
	for _, tc := range []struct{ off, n, from, to int64 }{
		{0, -1, 0, 1000},
		{0, 10, 0, 10},
		{10, 20, 10, 30},
		{990, -1, 990, 1000},
		{990, 100, 990, 1000},
		{1000, -1, 1000, 1000},
		{0, 0, 0, 0},
		{500, 0, 500, 500},
	} {
		t.Run(fmt.Sprintf("%d+%d", tc.off, tc.n), func(t *testing.T) {
			require.Equal(t, data[tc.from:tc.to], read(t, b, "r/data", tc.off, tc.n))
		})
	}
}

func testStat(t *testing.T, b objects.Backend) {
	before := time.Now().Add(-2 * time.Second)
	put(t, b, "s/file", pattern(123))
	after := time.Now().Add(2 * time.Second)
	info, err := b.Stat(t.Context(), "s/file")
	require.NoError(t, err)
	require.Equal(t, "s/file", info.Key)
	require.EqualValues(t, 123, info.Size)
	require.True(t, info.ModTime.After(before) && info.ModTime.Before(after), "mtime %v", info.ModTime)
}

func testNotFound(t *testing.T, b objects.Backend) {
	ctx := t.Context()
	put(t, b, "x/file", []byte("x"))
	for _, key := range []string{"missing", "x/missing", "x/file/below", "x"} {
		t.Run(key, func(t *testing.T) {
			_, err := b.Open(ctx, key, 0, -1)
			require.ErrorIs(t, err, objects.ErrNotFound)
			_, err = b.Stat(ctx, key)
			require.ErrorIs(t, err, objects.ErrNotFound)
			require.ErrorIs(t, b.Delete(ctx, key), objects.ErrNotFound)
		})
	}
}

func testDelete(t *testing.T, b objects.Backend) {
	ctx := t.Context()
	put(t, b, "d/file", []byte("bye"))
	require.NoError(t, b.Delete(ctx, "d/file"))
	_, err := b.Stat(ctx, "d/file")
	require.ErrorIs(t, err, objects.ErrNotFound)
	require.ErrorIs(t, b.Delete(ctx, "d/file"), objects.ErrNotFound)
	require.Empty(t, keys(t, b, ""))
}

func testList(t *testing.T, b objects.Backend) {
	all := []string{
		"blobs/ab/cd01", "blobs/ab/cd02", "blobs/ab/ce03", "blobs/ac/cd04",
		"objects/ab/cd05", "top",
	}
	for i, k := range all {
		put(t, b, k, pattern(i))
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", all},
		{"blobs/", all[:4]},
		{"blobs", all[:4]},
		{"blobs/a", all[:4]},
		{"blobs/ab/", all[:3]},
		{"blobs/ab/cd", all[:2]},
		{"blobs/ab/cd01", all[:1]},
		{"blobs/ab/cd011", nil},
		{"objects/ab/c", all[4:5]},
		{"t", all[5:]},
		{"nope/", nil},
		{"blobs/zz/", nil},
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			require.Equal(t, tc.want, keys(t, b, tc.prefix))
		})
	}
	require.NoError(t, b.List(t.Context(), "", func(info objects.Info) error {
		i := slices.Index(all, info.Key)
		require.GreaterOrEqual(t, i, 0)
		require.EqualValues(t, i, info.Size)
		require.False(t, info.ModTime.IsZero())
		return nil
	}))
}

func testListStops(t *testing.T, b objects.Backend) {
	for i := range 5 {
		put(t, b, fmt.Sprintf("l/%d", i), nil)
	}
	errStop := errors.New("stop")
	calls := 0
	err := b.List(t.Context(), "l/", func(objects.Info) error {
		calls++
		return errStop
	})
	require.ErrorIs(t, err, errStop)
	require.Equal(t, 1, calls)
}

func testInvalidKeys(t *testing.T, b objects.Backend) {
	for _, key := range []string{"", "/abs", "a//b", "../x", "a/../b", "a/./b", "a/"} {
		t.Run(key, func(t *testing.T) {
			require.Error(t, b.Put(t.Context(), key, strings.NewReader("x"), 1))
		})
	}
	require.Empty(t, keys(t, b, ""))
}

func testSizeMismatch(t *testing.T, b objects.Backend) {
	require.Error(t, b.Put(t.Context(), "m/short", strings.NewReader("abc"), 5))
	_, err := b.Stat(t.Context(), "m/short")
	require.ErrorIs(t, err, objects.ErrNotFound)
}

func testConcurrentPut(t *testing.T, b objects.Backend) {
	data := pattern(300 << 10)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			errs[i] = b.Put(t.Context(), "c/same", bytes.NewReader(data), int64(len(data)))
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, data, read(t, b, "c/same", 0, -1))
	require.Equal(t, []string{"c/same"}, keys(t, b, ""))
}

func testStager(t *testing.T, b objects.Backend) {
	s, ok := b.(objects.Stager)
	if !ok {
		t.Skip("not a Stager")
	}
	ctx := t.Context()

	st, err := s.Stage(ctx)
	require.NoError(t, err)
	_, err = st.Write([]byte("xxxx-body"))
	require.NoError(t, err)
	_, err = st.WriteAt([]byte("head"), 0)
	require.NoError(t, err)
	require.NoError(t, st.Close())
	require.Empty(t, keys(t, b, ""), "staged content must not be listed")
	require.NoError(t, st.Commit(ctx, "st/committed"))
	require.Equal(t, []byte("head-body"), read(t, b, "st/committed", 0, -1))

	// Commit over an existing key replaces it.
	st, err = s.Stage(ctx)
	require.NoError(t, err)
	_, err = st.Write([]byte("again"))
	require.NoError(t, err)
	require.NoError(t, st.Commit(ctx, "st/committed"))
	require.Equal(t, []byte("again"), read(t, b, "st/committed", 0, -1))

	st, err = s.Stage(ctx)
	require.NoError(t, err)
	_, err = st.Write([]byte("dropped"))
	require.NoError(t, err)
	require.NoError(t, st.Abort())
	require.Equal(t, []string{"st/committed"}, keys(t, b, ""))
}

func testSyncer(t *testing.T, b objects.Backend) {
	s, ok := b.(objects.Syncer)
	if !ok {
		t.Skip("not a Syncer")
	}
	put(t, b, "y/file", []byte("durable"))
	require.NoError(t, s.Sync(t.Context()))
}

func testToucher(t *testing.T, b objects.Backend) {
	tb, ok := b.(objects.Toucher)
	if !ok {
		t.Skip("not a Toucher")
	}
	ctx := t.Context()
	put(t, b, "t/file", []byte("old"))
	old := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	require.NoError(t, tb.Touch(ctx, "t/file", old))
	info, err := b.Stat(ctx, "t/file")
	require.NoError(t, err)
	require.True(t, info.ModTime.Equal(old), "mtime %v, want %v", info.ModTime, old)
	require.ErrorIs(t, tb.Touch(ctx, "t/missing", old), objects.ErrNotFound)
}

func testLocalPather(t *testing.T, b objects.Backend) {
	lp, ok := b.(objects.LocalPather)
	if !ok {
		t.Skip("not a LocalPather")
	}
	put(t, b, "p/file", []byte("local"))
	path, ok := lp.LocalPath("p/file")
	require.True(t, ok)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, []byte("local"), data)
	_, ok = lp.LocalPath("p/missing")
	require.False(t, ok)
}
