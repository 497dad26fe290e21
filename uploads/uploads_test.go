package uploads_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/uploads"
)

// twoEngines opens the store in dir twice, as two processes would: no
// memory is shared between the engines.
func twoEngines(t *testing.T, opts ...uploads.Option) (*repo.Store, *uploads.Engine, *uploads.Engine) {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	st1, err := fsstore.OpenDir(ctx, dir, repo.NewKinds())
	require.NoError(t, err)
	st2, err := fsstore.OpenDir(ctx, dir, repo.NewKinds())
	require.NoError(t, err)
	return st1, uploads.New(st1, opts...), uploads.New(st2, opts...)
}

func TestChunksAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	st, a, b := twoEngines(t)
	require.Equal(t, filepath.Join(st.Objects().TempDir(), "uploads"), a.Dir())

	s, err := a.Create(ctx, "ci", "api", 0)
	require.NoError(t, err)
	s, err = a.Append(ctx, s.ID, strings.NewReader("hello "), uploads.AppendOptions{Start: 0, Size: 6})
	require.NoError(t, err)
	require.Equal(t, int64(6), s.Offset)

	// The other process sees the offset and takes the next chunk.
	got, err := b.Get(ctx, s.ID)
	require.NoError(t, err)
	require.Equal(t, int64(6), got.Offset)
	_, err = b.Append(ctx, s.ID, strings.NewReader("again"), uploads.AppendOptions{Start: 0, Size: 5})
	var oe *uploads.OffsetError
	require.ErrorAs(t, err, &oe)
	require.ErrorIs(t, err, uploads.ErrOffset)
	require.Equal(t, int64(6), oe.Offset)
	_, err = b.Append(ctx, s.ID, strings.NewReader("world"), uploads.AppendOptions{Start: 6, Size: 5})
	require.NoError(t, err)

	// Finished on the first; recorded for the token on both.
	want := objects.Sum([]byte("hello world"))
	blob, err := a.Finish(ctx, s.ID, want, uploads.FinishOptions{Size: 11, Owner: "ci", Mark: "token:ci"})
	require.NoError(t, err)
	require.Equal(t, want, blob.ID)
	for _, e := range []*uploads.Engine{a, b} {
		ok, err := e.Uploaded(ctx, "token:ci", want)
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = e.Uploaded(ctx, "token:other", want)
		require.NoError(t, err)
		require.False(t, ok)
		_, err = e.Get(ctx, s.ID)
		require.ErrorIs(t, err, uploads.ErrNotFound)
	}
	pinned, err := st.Pinned(ctx, want)
	require.NoError(t, err)
	require.True(t, pinned)
	ents, err := os.ReadDir(a.Dir())
	require.NoError(t, err)
	require.Empty(t, ents)
}

func TestOwnerAndDigest(t *testing.T) {
	ctx := context.Background()
	st, a, b := twoEngines(t)
	s, err := a.Create(ctx, "ci", "api", 0)
	require.NoError(t, err)
	_, err = b.Append(ctx, s.ID, strings.NewReader("x"), uploads.AppendOptions{Start: 0, Size: 1, Owner: "other"})
	require.ErrorIs(t, err, uploads.ErrNotFound)
	_, err = b.Append(ctx, s.ID, strings.NewReader("xyz"), uploads.AppendOptions{Start: 0, Size: 3, Owner: "ci"})
	require.NoError(t, err)
	wrong := objects.Sum([]byte("abc"))
	_, err = b.Finish(ctx, s.ID, wrong, uploads.FinishOptions{Size: -1})
	var de *uploads.DigestError
	require.ErrorAs(t, err, &de)
	require.Equal(t, objects.Sum([]byte("xyz")), de.Got)
	_, err = a.Get(ctx, s.ID)
	require.ErrorIs(t, err, uploads.ErrNotFound, "a refused upload is dropped")
	ok, err := st.Objects().HasBlob(ctx, de.Got)
	require.NoError(t, err)
	require.False(t, ok)
}

func TestLimit(t *testing.T) {
	ctx := context.Background()
	_, a, _ := twoEngines(t)
	s, err := a.Create(ctx, "ci", "api", 0)
	require.NoError(t, err)
	_, err = a.Append(ctx, s.ID, strings.NewReader("12345"), uploads.AppendOptions{Start: 0, Size: 5, Limit: 8})
	require.NoError(t, err)
	// Announced too large, and too large without announcing.
	_, err = a.Append(ctx, s.ID, strings.NewReader("6789"), uploads.AppendOptions{Start: 5, Size: 4, Limit: 8})
	require.ErrorIs(t, err, uploads.ErrTooLarge)
	_, err = a.Append(ctx, s.ID, strings.NewReader("6789"), uploads.AppendOptions{Start: -1, Size: -1, Limit: 8, KeepPartial: true})
	require.ErrorIs(t, err, uploads.ErrTooLarge)
	got, err := a.Get(ctx, s.ID)
	require.NoError(t, err)
	require.Equal(t, int64(5), got.Offset, "a refused chunk adds nothing")
}

// slowReader hands out its bytes one at a time, slowly.
type slowReader struct {
	data  []byte
	delay time.Duration
	first chan struct{}
	once  sync.Once
}

func (r *slowReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	r.once.Do(func() { close(r.first) })
	time.Sleep(r.delay)
	p[0] = r.data[0]
	r.data = r.data[1:]
	return 1, nil
}

// TestChunkRace: the same chunk sent to both processes at once lands
// once; the later one is told the offset moved.
func TestChunkRace(t *testing.T) {
	ctx := context.Background()
	_, a, b := twoEngines(t)
	s, err := a.Create(ctx, "ci", "api", 0)
	require.NoError(t, err)
	for round := range 5 {
		start := int64(round * 4)
		chunk := []byte{'a' + byte(round), 'b', 'c', 'd'}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, e := range []*uploads.Engine{a, b} {
			wg.Go(func() {
				r := &slowReader{data: bytes.Clone(chunk), delay: time.Millisecond, first: make(chan struct{})}
				_, errs[i] = e.Append(ctx, s.ID, r, uploads.AppendOptions{Start: start, Size: 4})
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				require.ErrorIs(t, err, uploads.ErrOffset)
			}
		}
		require.Equal(t, 1, ok, "round %d: %v", round, errs)
	}
	got, err := b.Get(ctx, s.ID)
	require.NoError(t, err)
	require.Equal(t, int64(20), got.Offset)
	data, err := os.ReadFile(filepath.Join(a.Dir(), s.ID+".part"))
	require.NoError(t, err)
	require.Equal(t, "abcdbbcdcbcddbcdebcd", string(data))
}

// TestWaitsForClaim: a chunk arriving while another process streams one
// waits for it, then is told where the session ends.
func TestWaitsForClaim(t *testing.T) {
	ctx := context.Background()
	_, a, b := twoEngines(t)
	s, err := a.Create(ctx, "ci", "api", 0)
	require.NoError(t, err)
	slow := &slowReader{data: []byte("0123456789"), delay: 20 * time.Millisecond, first: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := a.Append(ctx, s.ID, slow, uploads.AppendOptions{Start: 0, Size: -1, KeepPartial: true})
		done <- err
	}()
	<-slow.first
	_, err = b.Append(ctx, s.ID, strings.NewReader("zz"), uploads.AppendOptions{Start: 0, Size: 2})
	var oe *uploads.OffsetError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, int64(10), oe.Offset)
	require.NoError(t, <-done)
}

// TestCrashMidChunk: a process that died writing a chunk leaves bytes past
// the offset and its claim; once the claim lapses, the next chunk goes at
// the recorded offset and the garbage is gone.
func TestCrashMidChunk(t *testing.T) {
	ctx := context.Background()
	st, a, b := twoEngines(t)
	s, err := a.Create(ctx, "ci", "api", 0)
	require.NoError(t, err)
	_, err = a.Append(ctx, s.ID, strings.NewReader("good"), uploads.AppendOptions{Start: 0, Size: 4})
	require.NoError(t, err)

	// What a dead writer leaves: a claim that is about to lapse and half a
	// chunk in the file.
	key := "uploads/sessions/" + s.ID
	var doc map[string]any
	rev, err := meta.GetJSON(ctx, st.Meta(), key, &doc)
	require.NoError(t, err)
	doc["claim"] = "dead"
	doc["claim_until"] = time.Now().Add(300 * time.Millisecond).UTC()
	raw, err := json.Marshal(doc)
	require.NoError(t, err)
	_, err = meta.PutIf(ctx, st.Meta(), key, raw, rev)
	require.NoError(t, err)
	f, err := os.OpenFile(filepath.Join(a.Dir(), s.ID+".part"), os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString("GARBAGE")
	require.NoError(t, err)
	require.NoError(t, f.Close())

	t0 := time.Now()
	got, err := b.Get(ctx, s.ID)
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(t0), 200*time.Millisecond, "waited for the claim")
	require.Equal(t, int64(4), got.Offset)
	_, err = b.Append(ctx, s.ID, strings.NewReader("-more"), uploads.AppendOptions{Start: 4, Size: 5})
	require.NoError(t, err)
	blob, err := a.Finish(ctx, s.ID, objects.Sum([]byte("good-more")), uploads.FinishOptions{Size: 9})
	require.NoError(t, err)
	require.Equal(t, int64(9), blob.Size)
}

// TestCutChunk: what arrived of a cut chunk is kept or not, as asked.
func TestCutChunk(t *testing.T) {
	ctx := context.Background()
	_, a, _ := twoEngines(t)
	for _, keep := range []bool{true, false} {
		s, err := a.Create(ctx, "ci", "api", 0)
		require.NoError(t, err)
		r := io.MultiReader(strings.NewReader("abc"), &failReader{})
		got, err := a.Append(ctx, s.ID, r, uploads.AppendOptions{Start: 0, Size: 10, KeepPartial: keep})
		var ce *uploads.ChunkError
		require.ErrorAs(t, err, &ce)
		want := int64(0)
		if keep {
			want = 3
		}
		require.Equal(t, want, got.Offset)
		// The next chunk goes where the offset says.
		_, err = a.Append(ctx, s.ID, strings.NewReader("Z"), uploads.AppendOptions{Start: want, Size: 1})
		require.NoError(t, err)
		data, err := os.ReadFile(filepath.Join(a.Dir(), s.ID+".part"))
		require.NoError(t, err)
		require.Equal(t, want+1, int64(len(data)))
	}
}

type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestSweep(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }
	st, a, b := twoEngines(t, uploads.WithTTL(time.Hour), uploads.WithClock(clock))
	s, err := a.Create(ctx, "ci", "api", 0)
	require.NoError(t, err)
	require.NoError(t, a.MarkUploaded(ctx, "token:ci", objects.Sum([]byte("x"))))
	n, err := b.Count(ctx, func(s *uploads.Session) bool { return s.Owner == "ci" })
	require.NoError(t, err)
	require.Equal(t, 1, n)

	now = now.Add(2 * time.Hour)
	_, err = b.Get(ctx, s.ID)
	require.ErrorIs(t, err, uploads.ErrNotFound)
	require.NoError(t, b.Sweep(ctx))
	_, err = os.Stat(filepath.Join(a.Dir(), s.ID+".part"))
	require.ErrorIs(t, err, os.ErrNotExist)
	left := 0
	require.NoError(t, st.Meta().List(ctx, "uploads/", func(string, []byte, meta.Rev) error { left++; return nil }))
	require.Zero(t, left)
}

// BenchmarkAppend measures a small chunk's cost on a store on disk: two
// compare-and-swaps of the session document and a sync of the file.
func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	st, err := fsstore.OpenDir(ctx, b.TempDir(), repo.NewKinds())
	require.NoError(b, err)
	e := uploads.New(st)
	s, err := e.Create(ctx, "ci", "api", 0)
	require.NoError(b, err)
	chunk := bytes.Repeat([]byte("x"), 4096)
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		_, err := e.Append(ctx, s.ID, bytes.NewReader(chunk), uploads.AppendOptions{Start: -1, Size: int64(len(chunk))})
		if err != nil {
			b.Fatal(err)
		}
	}
}
