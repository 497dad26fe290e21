package objects_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/objects/fs"
	"github.com/pkgvc/pkgvc/objects/mem"
)

// plain hides a backend's optional capabilities, so the store takes its
// fallback paths (local temporary files, Put per item).
type plain struct{ objects.Backend }

type env struct {
	name    string
	b       objects.Backend
	s       *objects.Store
	tmpDirs []string // directories that must hold no leftovers after Abort
	local   bool     // BlobPath works
}

type envMaker struct {
	name string
	make func(t *testing.T) env
}

var envs = []envMaker{
	{"mem", func(t *testing.T) env {
		tmp := t.TempDir()
		b := mem.New()
		return env{b: b, s: objects.New(b, objects.WithTempDir(tmp)), tmpDirs: []string{tmp}}
	}},
	{"fs", func(t *testing.T) env {
		dir := t.TempDir()
		b, err := fs.New(dir)
		require.NoError(t, err)
		return env{b: b, s: objects.New(b), tmpDirs: []string{filepath.Join(dir, "tmp")}, local: true}
	}},
	{"fs-plain", func(t *testing.T) env {
		dir, tmp := t.TempDir(), t.TempDir()
		b, err := fs.New(dir)
		require.NoError(t, err)
		p := plain{b}
		return env{b: p, s: objects.New(p, objects.WithTempDir(tmp)), tmpDirs: []string{tmp, filepath.Join(dir, "tmp")}}
	}},
}

// forEach runs fn on a fresh store of every kind.
func forEach(t *testing.T, fn func(t *testing.T, e env)) {
	for _, m := range envs {
		t.Run(m.name, func(t *testing.T) {
			e := m.make(t)
			e.name = m.name
			fn(t, e)
		})
	}
}

func randomBytes(n int, seed uint64) []byte {
	data := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	_, _ = r.Read(data)
	return data
}

func textBytes(n int) []byte {
	var sb strings.Builder
	for i := 0; sb.Len() < n; i++ {
		fmt.Fprintf(&sb, "Package: pkg%d\nVersion: 1.%d.%d\nDescription: a package of things number %d\n\n", i%97, i%13, i, i)
	}
	return []byte(sb.String()[:n])
}

func putBlob(t *testing.T, s *objects.Store, data []byte) objects.PutResult {
	t.Helper()
	b := s.NewBatch()
	res, err := b.PutBlob(t.Context(), bytes.NewReader(data))
	require.NoError(t, err)
	require.NoError(t, b.Flush(t.Context()))
	return res
}

func putObject(t *testing.T, s *objects.Store, data []byte) objects.PutResult {
	t.Helper()
	b := s.NewBatch()
	res, err := b.PutObject(t.Context(), data)
	require.NoError(t, err)
	require.NoError(t, b.Flush(t.Context()))
	return res
}

// readAll reads rc to the end and returns what it delivered and the error.
func readAll(rc io.ReadCloser) ([]byte, error) {
	data, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return data, err
}

func openBlob(t *testing.T, s *objects.Store, id objects.ID) ([]byte, error) {
	t.Helper()
	rc, err := s.OpenBlob(t.Context(), id)
	require.NoError(t, err)
	return readAll(rc)
}

func blobKey(id objects.ID) string {
	return "blobs/" + id.String()[:2] + "/" + id.String()
}

func objectKey(id objects.ID) string {
	return "objects/" + id.String()[:2] + "/" + id.String()
}

// rewrite replaces the stored bytes of key by f(old), behind the store's back.
func rewrite(t *testing.T, b objects.Backend, key string, f func([]byte) []byte) {
	t.Helper()
	rc, err := b.Open(t.Context(), key, 0, -1)
	require.NoError(t, err)
	old, err := readAll(rc)
	require.NoError(t, err)
	data := f(bytes.Clone(old))
	require.NoError(t, b.Put(t.Context(), key, bytes.NewReader(data), int64(len(data))))
}

func flip(i int) func([]byte) []byte {
	return func(b []byte) []byte {
		if i < 0 {
			i += len(b)
		}
		b[i] ^= 0x40
		return b
	}
}

func TestBlobRoundTrip(t *testing.T) {
	cases := []struct {
		name       string
		data       []byte
		compressed bool
	}{
		{"empty", nil, false},
		{"tiny", []byte("hi"), false},
		{"text", textBytes(200 << 10), true},
		{"text-large", textBytes(3<<20 + 17), true},
		{"random", randomBytes(300<<10, 1), false},
		{"random-sample", randomBytes(64<<10, 2), false},
		{"random-large", randomBytes(5<<20+3, 3), false},
	}
	forEach(t, func(t *testing.T, e env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ctx := t.Context()
				res := putBlob(t, e.s, tc.data)
				require.Equal(t, objects.Sum(tc.data), res.ID)
				require.True(t, res.New)
				require.EqualValues(t, len(tc.data), res.Size)

				got, err := openBlob(t, e.s, res.ID)
				require.NoError(t, err)
				require.True(t, bytes.Equal(tc.data, got), "content differs")

				st, err := e.s.StatBlob(ctx, res.ID)
				require.NoError(t, err)
				require.Equal(t, tc.compressed, st.Compressed)
				require.EqualValues(t, len(tc.data), st.Size)
				require.Equal(t, res.Stored, st.Stored)
				if tc.compressed {
					require.Less(t, st.Stored, st.Size/2)
				} else {
					require.Equal(t, st.Size, st.Stored)
				}

				ok, err := e.s.HasBlob(ctx, res.ID)
				require.NoError(t, err)
				require.True(t, ok)
				require.NoError(t, e.s.VerifyBlob(ctx, res.ID))

				n := int64(len(tc.data))
				for _, r := range [][2]int64{{0, -1}, {0, 1}, {n / 3, n / 2}, {max(n-1, 0), -1}, {n, -1}, {n / 2, n}, {n + 10, 5}} {
					rc, err := e.s.OpenBlobRange(ctx, res.ID, r[0], r[1])
					require.NoError(t, err)
					got, err := readAll(rc)
					require.NoError(t, err)
					from, to := min(max(r[0], 0), n), n
					if r[1] >= 0 {
						to = min(from+r[1], n)
					}
					require.True(t, bytes.Equal(tc.data[from:to], got), "range %v", r)
				}

				path, ok := e.s.BlobPath(res.ID)
				require.Equal(t, e.local && !tc.compressed, ok)
				if ok {
					fi, err := os.Stat(path)
					require.NoError(t, err)
					require.Equal(t, os.FileMode(0o444), fi.Mode().Perm())
					disk, err := os.ReadFile(path)
					require.NoError(t, err)
					require.True(t, bytes.Equal(tc.data, disk))
				}
			})
		}
	})
}

// genReader yields n pseudo-random bytes; it is not a file and has no
// WriteTo, so the store must stream it.
type genReader struct {
	r    *rand.ChaCha8
	left int64
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), g.left)]
	_, _ = g.r.Read(p)
	g.left -= int64(len(p))
	return len(p), nil
}

func TestLargeBlobStreamed(t *testing.T) {
	const size = 20 << 20
	forEach(t, func(t *testing.T, e env) {
		h := sha256.New()
		src := io.TeeReader(&genReader{r: rand.NewChaCha8([32]byte{7}), left: size}, h)

		b := e.s.NewBatch()
		// Warm the pools so the measurement sees steady-state use.
		_, err := b.PutBlob(t.Context(), &genReader{r: rand.NewChaCha8([32]byte{8}), left: 3 << 20})
		require.NoError(t, err)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		res, err := b.PutBlob(t.Context(), src)
		runtime.ReadMemStats(&after)
		require.NoError(t, err)
		require.Equal(t, objects.ID(h.Sum(nil)), res.ID)
		require.EqualValues(t, size, res.Size)
		if e.name != "mem" { // the mem backend itself holds content in memory
			require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(8<<20), "PutBlob allocates in proportion to the content")
		}
		require.NoError(t, b.Flush(t.Context()))
		require.NoError(t, e.s.VerifyBlob(t.Context(), res.ID))
	})
}

func TestObjectRoundTrip(t *testing.T) {
	forEach(t, func(t *testing.T, e env) {
		for _, tc := range []struct {
			name       string
			data       []byte
			compressed bool
		}{
			{"empty", []byte{}, false},
			{"small", []byte("tree 1234"), false},
			{"random", randomBytes(4000, 4), false},
			{"text", textBytes(20000), true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := putObject(t, e.s, tc.data)
				require.Equal(t, objects.Sum(tc.data), res.ID)
				require.EqualValues(t, len(tc.data), res.Size)
				if tc.compressed {
					require.Less(t, res.Stored, res.Size/2)
				} else {
					require.Equal(t, res.Size+1, res.Stored)
				}
				got, err := e.s.GetObject(t.Context(), res.ID)
				require.NoError(t, err)
				require.Equal(t, tc.data, got)
				ok, err := e.s.HasObject(t.Context(), res.ID)
				require.NoError(t, err)
				require.True(t, ok)
			})
		}
	})
}

func TestNotFound(t *testing.T) {
	forEach(t, func(t *testing.T, e env) {
		ctx := t.Context()
		id := objects.Sum([]byte("nothing"))
		_, err := e.s.OpenBlob(ctx, id)
		require.ErrorIs(t, err, objects.ErrNotFound)
		_, err = e.s.OpenBlobRange(ctx, id, 0, 10)
		require.ErrorIs(t, err, objects.ErrNotFound)
		_, err = e.s.StatBlob(ctx, id)
		require.ErrorIs(t, err, objects.ErrNotFound)
		require.ErrorIs(t, e.s.VerifyBlob(ctx, id), objects.ErrNotFound)
		_, err = e.s.GetObject(ctx, id)
		require.ErrorIs(t, err, objects.ErrNotFound)
		ok, err := e.s.HasBlob(ctx, id)
		require.NoError(t, err)
		require.False(t, ok)
		ok, err = e.s.HasObject(ctx, id)
		require.NoError(t, err)
		require.False(t, ok)
		_, ok = e.s.BlobPath(id)
		require.False(t, ok)
	})
}

func TestDedup(t *testing.T) {
	forEach(t, func(t *testing.T, e env) {
		ctx := t.Context()
		text, obj := textBytes(100<<10), []byte("commit abc")
		b := e.s.NewBatch()
		r1, err := b.PutBlob(ctx, bytes.NewReader(text))
		require.NoError(t, err)
		require.True(t, r1.New)
		r2, err := b.PutBlob(ctx, bytes.NewReader(text))
		require.NoError(t, err)
		require.False(t, r2.New)
		require.Equal(t, r1.ID, r2.ID)
		o1, err := b.PutObject(ctx, obj)
		require.NoError(t, err)
		require.True(t, o1.New)
		o2, err := b.PutObject(ctx, obj)
		require.NoError(t, err)
		require.False(t, o2.New)
		n, bytesNew := b.Stats()
		require.Equal(t, 2, n)
		require.Equal(t, r1.Stored+o1.Stored, bytesNew)
		require.NoError(t, b.Flush(ctx))

		// A later batch finds them in the store.
		b = e.s.NewBatch()
		r3, err := b.PutBlob(ctx, bytes.NewReader(text))
		require.NoError(t, err)
		require.False(t, r3.New)
		require.Equal(t, r1.Stored, r3.Stored)
		o3, err := b.PutObject(ctx, obj)
		require.NoError(t, err)
		require.False(t, o3.New)
		n, bytesNew = b.Stats()
		require.Zero(t, n)
		require.Zero(t, bytesNew)
		require.NoError(t, b.Flush(ctx))
		require.Empty(t, leftovers(t, e))
	})
}

func TestDedupTouches(t *testing.T) {
	ctx := t.Context()
	b := mem.New()
	s := objects.New(b, objects.WithTempDir(t.TempDir()))
	blob := putBlob(t, s, textBytes(10000))
	obj := putObject(t, s, []byte("tree"))
	old := time.Now().Add(-30 * 24 * time.Hour)
	for _, key := range []string{blobKey(blob.ID) + ".zst", objectKey(obj.ID)} {
		require.NoError(t, b.Touch(ctx, key, old))
	}
	putBlob(t, s, textBytes(10000))
	putObject(t, s, []byte("tree"))
	for _, key := range []string{blobKey(blob.ID) + ".zst", objectKey(obj.ID)} {
		info, err := b.Stat(ctx, key)
		require.NoError(t, err)
		require.WithinDuration(t, time.Now(), info.ModTime, time.Minute, key)
	}
}

func TestConcurrentPut(t *testing.T) {
	forEach(t, func(t *testing.T, e env) {
		ctx := t.Context()
		b := e.s.NewBatch()
		shared, sharedObj := randomBytes(200<<10, 99), []byte("shared object")
		var mu sync.Mutex
		newShared, newSharedObj := 0, 0
		var ids []objects.ID
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Go(func() {
				for i := range 4 {
					data := randomBytes(50<<10+i, uint64(1000+g*10+i))
					if i%2 == 1 {
						data = append(textBytes(80<<10), data[:100]...)
					}
					res, err := b.PutBlob(ctx, bytes.NewReader(data))
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					ids = append(ids, res.ID)
					mu.Unlock()
				}
				res, err := b.PutBlob(ctx, bytes.NewReader(shared))
				if err != nil {
					errs <- err
					return
				}
				ores, err := b.PutObject(ctx, sharedObj)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if res.New {
					newShared++
				}
				if ores.New {
					newSharedObj++
				}
				ids = append(ids, res.ID)
				mu.Unlock()
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.Equal(t, 1, newShared)
		require.Equal(t, 1, newSharedObj)
		n, _ := b.Stats()
		require.Equal(t, 8*4+2, n)
		require.NoError(t, b.Flush(ctx))
		for _, id := range ids {
			require.NoError(t, e.s.VerifyBlob(ctx, id))
		}
		require.Empty(t, leftovers(t, e))
	})
}

func countBlobs(t *testing.T, s *objects.Store) (blobs, objs int) {
	t.Helper()
	require.NoError(t, s.ListBlobs(t.Context(), func(objects.ID, objects.Info) error { blobs++; return nil }))
	require.NoError(t, s.ListObjects(t.Context(), func(objects.ID, objects.Info) error { objs++; return nil }))
	return blobs, objs
}

// leftovers lists the files in the environment's temporary directories.
func leftovers(t *testing.T, e env) []string {
	t.Helper()
	var names []string
	for _, dir := range e.tmpDirs {
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, de := range entries {
			names = append(names, filepath.Join(dir, de.Name()))
		}
	}
	return names
}

func TestBatchInvisibleBeforeFlush(t *testing.T) {
	forEach(t, func(t *testing.T, e env) {
		ctx := t.Context()
		b := e.s.NewBatch()
		raw, err := b.PutBlob(ctx, bytes.NewReader(randomBytes(100<<10, 5)))
		require.NoError(t, err)
		zst, err := b.PutBlob(ctx, bytes.NewReader(textBytes(100<<10)))
		require.NoError(t, err)
		obj, err := b.PutObject(ctx, []byte("commit"))
		require.NoError(t, err)

		for _, id := range []objects.ID{raw.ID, zst.ID} {
			ok, err := e.s.HasBlob(ctx, id)
			require.NoError(t, err)
			require.False(t, ok)
			_, err = e.s.OpenBlob(ctx, id)
			require.ErrorIs(t, err, objects.ErrNotFound)
		}
		_, err = e.s.GetObject(ctx, obj.ID)
		require.ErrorIs(t, err, objects.ErrNotFound)
		blobs, objs := countBlobs(t, e.s)
		require.Zero(t, blobs+objs)

		require.NoError(t, b.Flush(ctx))
		blobs, objs = countBlobs(t, e.s)
		require.Equal(t, 2, blobs)
		require.Equal(t, 1, objs)
		require.NoError(t, e.s.VerifyBlob(ctx, raw.ID))
		require.NoError(t, e.s.VerifyBlob(ctx, zst.ID))
		_, err = e.s.GetObject(ctx, obj.ID)
		require.NoError(t, err)
		require.Empty(t, leftovers(t, e))
		require.NoError(t, e.s.Sync(ctx))
	})
}

func TestAbort(t *testing.T) {
	forEach(t, func(t *testing.T, e env) {
		ctx := t.Context()
		b := e.s.NewBatch()
		data := randomBytes(100<<10, 6)
		_, err := b.PutBlob(ctx, bytes.NewReader(data))
		require.NoError(t, err)
		_, err = b.PutBlob(ctx, bytes.NewReader(textBytes(100<<10)))
		require.NoError(t, err)
		_, err = b.PutObject(ctx, []byte("commit"))
		require.NoError(t, err)
		b.Abort()
		require.NoError(t, b.Flush(ctx))
		blobs, objs := countBlobs(t, e.s)
		require.Zero(t, blobs+objs)
		require.Empty(t, leftovers(t, e))

		// The batch forgot the aborted content: putting it again stages it anew.
		res, err := b.PutBlob(ctx, bytes.NewReader(data))
		require.NoError(t, err)
		require.True(t, res.New)
		require.NoError(t, b.Flush(ctx))
		require.NoError(t, e.s.VerifyBlob(ctx, res.ID))
	})
}

// requireCorrupt checks that reading id fails with ErrCorrupt before all
// size bytes were delivered, and that VerifyBlob reports it too.
func requireCorrupt(t *testing.T, s *objects.Store, id objects.ID, size int) {
	t.Helper()
	rc, err := s.OpenBlob(t.Context(), id)
	var got []byte
	if err == nil { // else a bad header was caught already
		got, err = readAll(rc)
	}
	require.ErrorIs(t, err, objects.ErrCorrupt)
	require.Contains(t, err.Error(), id.String())
	require.Less(t, len(got), size, "a corrupt blob delivered all its bytes")
	require.ErrorIs(t, s.VerifyBlob(t.Context(), id), objects.ErrCorrupt)
}

func TestCorruptRawBlob(t *testing.T) {
	const size = 1 << 20
	for _, tc := range []struct {
		name string
		f    func([]byte) []byte
	}{
		{"flip-first", flip(0)},
		{"flip-middle", flip(size / 2)},
		{"flip-last", flip(-1)},
		{"truncated", func(b []byte) []byte { return b[:len(b)-1] }},
		{"extended", func(b []byte) []byte { return append(b, 0) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEach(t, func(t *testing.T, e env) {
				res := putBlob(t, e.s, randomBytes(size, 7))
				stored := 0
				rewrite(t, e.b, blobKey(res.ID), func(b []byte) []byte {
					b = tc.f(b)
					stored = len(b)
					return b
				})
				// The reader must stop short of the stored (wrong) content.
				requireCorrupt(t, e.s, res.ID, stored)
			})
		})
	}
}

func TestCorruptCompressedBlob(t *testing.T) {
	const size = 1 << 20
	for _, tc := range []struct {
		name string
		f    func([]byte) []byte
	}{
		{"flip-stream-middle", func(b []byte) []byte { return flip(8 + (len(b)-8)/2)(b) }},
		{"flip-stream-start", flip(9)},
		{"flip-stream-end", flip(-2)},
		{"header-smaller", func(b []byte) []byte { binary.BigEndian.PutUint64(b, size-1); return b }},
		{"header-larger", func(b []byte) []byte { binary.BigEndian.PutUint64(b, size+1); return b }},
		{"header-huge", flip(0)},
		{"short-header", func(b []byte) []byte { return b[:5] }},
		{"truncated", func(b []byte) []byte { return b[:len(b)*2/3] }},
		{"garbage", func(b []byte) []byte { return append(b[:8], randomBytes(len(b)-8, 8)...) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEach(t, func(t *testing.T, e env) {
				// Text with a random tail, so that the end of the stream
				// holds content the decoder cannot reconstruct.
				data := append(textBytes(size-4096), randomBytes(4096, 9)...)
				res := putBlob(t, e.s, data)
				st, err := e.s.StatBlob(t.Context(), res.ID)
				require.NoError(t, err)
				require.True(t, st.Compressed)
				rewrite(t, e.b, blobKey(res.ID)+".zst", tc.f)
				requireCorrupt(t, e.s, res.ID, size)
			})
		})
	}
}

// Putting a damaged blob's content again replaces the damaged copy: a raw
// copy of the wrong size at once, any other once verification (fsck) has
// marked it; the fast path of an intact dedup hit reads nothing.
func TestPutRepairsDamagedBlob(t *testing.T) {
	const size = 1 << 20
	raw := randomBytes(size, 11)
	text := append(textBytes(size-4096), randomBytes(4096, 12)...)
	for _, tc := range []struct {
		name   string
		data   []byte
		key    func(objects.ID) string
		damage func([]byte) []byte
		marked bool // only a verification tells
	}{
		{"raw-flipped", raw, blobKey, flip(size / 2), true},
		{"raw-truncated", raw, blobKey, func(b []byte) []byte { return b[:len(b)-1] }, false},
		{"compressed-flipped", text, func(id objects.ID) string { return blobKey(id) + ".zst" }, flip(-2), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEach(t, func(t *testing.T, e env) {
				res := putBlob(t, e.s, tc.data)
				rewrite(t, e.b, tc.key(res.ID), tc.damage)
				if tc.marked {
					again := putBlob(t, e.s, tc.data)
					require.False(t, again.New, "not verified yet: an ordinary dedup hit")
					require.ErrorIs(t, e.s.VerifyBlob(t.Context(), res.ID), objects.ErrCorrupt)
				}
				again := putBlob(t, e.s, tc.data)
				require.True(t, again.New, "the damaged copy is replaced")
				require.NoError(t, e.s.VerifyBlob(t.Context(), res.ID))
				got, err := openBlob(t, e.s, res.ID)
				require.NoError(t, err)
				require.Equal(t, tc.data, got)
				require.False(t, putBlob(t, e.s, tc.data).New, "repaired: dedup again")
				_, err = e.b.Stat(t.Context(), "damaged/blob-"+res.ID.String())
				require.ErrorIs(t, err, objects.ErrNotFound, "the mark is gone")
			})
		})
	}
}

func TestCorruptObject(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		f    func([]byte) []byte
	}{
		{"raw-flip", []byte("tree entries"), flip(-1)},
		{"zstd-flip", textBytes(5000), flip(-3)},
		{"zstd-garbage", textBytes(5000), func(b []byte) []byte { return append(b[:1], randomBytes(100, 10)...) }},
		{"bad-format", []byte("tree"), flip(0)},
		{"empty", []byte("tree"), func([]byte) []byte { return nil }},
		{"truncated", textBytes(5000), func(b []byte) []byte { return b[:len(b)/2] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEach(t, func(t *testing.T, e env) {
				res := putObject(t, e.s, tc.data)
				rewrite(t, e.b, objectKey(res.ID), tc.f)
				_, err := e.s.GetObject(t.Context(), res.ID)
				require.ErrorIs(t, err, objects.ErrCorrupt)
			})
		})
	}
}

func TestDelete(t *testing.T) {
	forEach(t, func(t *testing.T, e env) {
		ctx := t.Context()
		for _, data := range [][]byte{randomBytes(1000, 11), textBytes(10000)} {
			res := putBlob(t, e.s, data)
			deleted, err := e.s.DeleteBlob(ctx, res.ID, time.Now().Add(-time.Hour))
			require.NoError(t, err)
			require.False(t, deleted, "within the grace period")
			require.NoError(t, e.s.VerifyBlob(ctx, res.ID))

			deleted, err = e.s.DeleteBlob(ctx, res.ID, time.Now().Add(time.Hour))
			require.NoError(t, err)
			require.True(t, deleted)
			ok, err := e.s.HasBlob(ctx, res.ID)
			require.NoError(t, err)
			require.False(t, ok)
			_, err = e.s.DeleteBlob(ctx, res.ID, time.Time{})
			require.ErrorIs(t, err, objects.ErrNotFound)
		}

		obj := putObject(t, e.s, []byte("old commit"))
		deleted, err := e.s.DeleteObject(ctx, obj.ID, time.Now().Add(-time.Hour))
		require.NoError(t, err)
		require.False(t, deleted)
		deleted, err = e.s.DeleteObject(ctx, obj.ID, time.Time{})
		require.NoError(t, err)
		require.True(t, deleted)
		_, err = e.s.GetObject(ctx, obj.ID)
		require.ErrorIs(t, err, objects.ErrNotFound)
		_, err = e.s.DeleteObject(ctx, obj.ID, time.Time{})
		require.ErrorIs(t, err, objects.ErrNotFound)
	})
}

func TestListAndFind(t *testing.T) {
	forEach(t, func(t *testing.T, e env) {
		ctx := t.Context()
		b := e.s.NewBatch()
		want := map[objects.ID]bool{}
		for i := range 300 {
			res, err := b.PutObject(ctx, fmt.Appendf(nil, "object %d", i))
			require.NoError(t, err)
			want[res.ID] = true
		}
		blob, err := b.PutBlob(ctx, strings.NewReader("a blob"))
		require.NoError(t, err)
		require.NoError(t, b.Flush(ctx))

		got := map[objects.ID]bool{}
		require.NoError(t, e.s.ListObjects(ctx, func(id objects.ID, info objects.Info) error {
			require.Equal(t, objectKey(id), info.Key)
			got[id] = true
			return nil
		}))
		require.Equal(t, want, got)
		var blobs []objects.ID
		require.NoError(t, e.s.ListBlobs(ctx, func(id objects.ID, _ objects.Info) error {
			blobs = append(blobs, id)
			return nil
		}))
		require.Equal(t, []objects.ID{blob.ID}, blobs)

		var some objects.ID
		for id := range want {
			some = id
			break
		}
		hex := some.String()
		for _, n := range []int{2, 3, 4, 7, 64} {
			var expect []objects.ID
			for id := range want {
				if strings.HasPrefix(id.String(), hex[:n]) {
					expect = append(expect, id)
				}
			}
			found, err := e.s.FindObjects(ctx, strings.ToUpper(hex[:n]))
			require.NoError(t, err)
			require.ElementsMatch(t, expect, found, "prefix %s", hex[:n])
			require.Contains(t, found, some)
		}
		for _, bad := range []string{"", "a", "zz", "0g", strings.Repeat("a", 65)} {
			_, err := e.s.FindObjects(ctx, bad)
			require.ErrorIs(t, err, objects.ErrInvalidPrefix, bad)
		}
	})
}

func TestSampleSizeZeroDisablesCompression(t *testing.T) {
	s := objects.New(mem.New(), objects.WithSampleSize(0), objects.WithTempDir(t.TempDir()))
	data := textBytes(300 << 10)
	res := putBlob(t, s, data)
	st, err := s.StatBlob(t.Context(), res.ID)
	require.NoError(t, err)
	require.False(t, st.Compressed)
	got, err := openBlob(t, s, res.ID)
	require.NoError(t, err)
	require.Equal(t, data, got)
}

// failReader fails after n bytes.
type failReader struct{ n int }

var errBroken = fmt.Errorf("broken source")

func (f *failReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errBroken
	}
	p = p[:min(len(p), f.n)]
	clear(p)
	f.n -= len(p)
	return len(p), nil
}

func TestPutBlobReadError(t *testing.T) {
	forEach(t, func(t *testing.T, e env) {
		b := e.s.NewBatch()
		for _, n := range []int{0, 100, 3 << 20} {
			_, err := b.PutBlob(t.Context(), &failReader{n: n})
			require.ErrorIs(t, err, errBroken)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := b.PutBlob(ctx, &genReader{r: rand.NewChaCha8([32]byte{}), left: 5 << 20})
		require.ErrorIs(t, err, context.Canceled)
		n, _ := b.Stats()
		require.Zero(t, n)
		require.Empty(t, leftovers(t, e))
	})
}

// failStager stages into memory and fails writes after limit bytes.
type failStager struct {
	objects.Backend
	limit int
}

var errDiskFull = fmt.Errorf("disk full")

func (f failStager) Stage(context.Context) (objects.Staged, error) {
	return &failStaged{limit: f.limit}, nil
}

type failStaged struct {
	limit, n int
	aborted  bool
}

func (f *failStaged) Write(p []byte) (int, error) {
	if f.n+len(p) > f.limit {
		return 0, errDiskFull
	}
	f.n += len(p)
	return len(p), nil
}

func (f *failStaged) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }
func (f *failStaged) Close() error                           { return nil }
func (f *failStaged) Commit(context.Context, string) error   { return errDiskFull }
func (f *failStaged) Abort() error                           { f.aborted = true; return nil }

func TestPutBlobWriteError(t *testing.T) {
	s := objects.New(failStager{Backend: mem.New(), limit: 256 << 10})
	b := s.NewBatch()
	for _, data := range [][]byte{randomBytes(8<<20, 12), textBytes(8 << 20)} {
		_, err := b.PutBlob(t.Context(), bytes.NewReader(data))
		require.ErrorIs(t, err, errDiskFull)
	}
	res, err := b.PutBlob(t.Context(), strings.NewReader("fits"))
	require.NoError(t, err)
	require.True(t, res.New)
	require.ErrorIs(t, b.Flush(t.Context()), errDiskFull)
	b.Abort()
	n, _ := b.Stats()
	require.Equal(t, 1, n)
}
