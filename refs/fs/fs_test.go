package fs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
	"github.com/pkgvc/pkgvc/refs/refstest"
)

func newBackend(t *testing.T, dir string) *Backend {
	t.Helper()
	b, err := New(dir)
	require.NoError(t, err)
	return b
}

func TestBackend(t *testing.T) {
	tests := []struct {
		name string
		new  func(t *testing.T) refs.Backend
	}{
		{"default", func(t *testing.T) refs.Backend { return newBackend(t, t.TempDir()) }},
		{"snapshot every 3", func(t *testing.T) refs.Backend {
			b := newBackend(t, t.TempDir())
			b.snapshotEvery = 3
			return b
		}},
		{"checkpoint every 7", func(t *testing.T) refs.Backend {
			b := newBackend(t, t.TempDir())
			b.checkpointEvery = 7
			return b
		}},
		{"snapshots, no checkpoints", func(t *testing.T) refs.Backend {
			b := newBackend(t, t.TempDir())
			b.snapshotEvery, b.checkpointEvery = 3, 0
			return b
		}},
		{"new instance per call", func(t *testing.T) refs.Backend {
			return reopening{t: t, dir: t.TempDir(), snapshotEvery: 4, checkpointEvery: 10}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { refstest.Run(t, tt.new) })
	}
}

// reopening opens a fresh Backend for every call, as a CLI process would.
type reopening struct {
	t               *testing.T
	dir             string
	snapshotEvery   uint64
	checkpointEvery uint64
}

func (r reopening) open() *Backend {
	b := newBackend(r.t, r.dir)
	b.snapshotEvery, b.checkpointEvery = r.snapshotEvery, r.checkpointEvery
	return b
}

func (r reopening) Expire(ctx context.Context, olderThan time.Time) (int, error) {
	return r.open().Expire(ctx, olderThan)
}

func (r reopening) Get(ctx context.Context, name string) (objects.ID, error) {
	return r.open().Get(ctx, name)
}

func (r reopening) List(ctx context.Context, prefix string, fn func(string, objects.ID) error) error {
	return r.open().List(ctx, prefix, fn)
}

func (r reopening) Apply(ctx context.Context, txn refs.Txn) error { return r.open().Apply(ctx, txn) }

func (r reopening) Log(ctx context.Context, name string, fn func(refs.Entry) error) error {
	return r.open().Log(ctx, name, fn)
}

func apply(t *testing.T, b refs.Backend, updates ...refs.Update) {
	t.Helper()
	require.NoError(t, b.Apply(t.Context(), refs.Txn{Updates: updates, Who: "test", Action: "apply"}))
}

func list(t *testing.T, b refs.Backend) map[string]objects.ID {
	t.Helper()
	m := map[string]objects.ID{}
	require.NoError(t, b.List(t.Context(), "", func(name string, id objects.ID) error {
		m[name] = id
		return nil
	}))
	return m
}

func logLen(t *testing.T, b refs.Backend, name string) int {
	t.Helper()
	n := 0
	require.NoError(t, b.Log(t.Context(), name, func(refs.Entry) error { n++; return nil }))
	return n
}

// requireValidLog checks that the log file is nothing but valid lines.
func requireValidLog(t *testing.T, dir string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, logFile))
	require.NoError(t, err)
	if len(data) == 0 {
		return nil
	}
	require.Equal(t, byte('\n'), data[len(data)-1], "log ends in a partial line")
	lines := bytes.SplitAfter(data, []byte("\n"))
	lines = lines[:len(lines)-1]
	for i, line := range lines {
		_, ok := frame(line)
		require.True(t, ok, "line %d: %q", i, line)
	}
	return lines
}

func TestTwoInstances(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	b1, b2 := newBackend(t, dir), newBackend(t, dir)
	id := refstest.ID

	apply(t, b1, refs.Update{Name: "a", New: id(1)})
	got, err := b2.Get(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, id(1), got)

	apply(t, b2, refs.Update{Name: "a", Old: id(1), New: id(2)}, refs.Update{Name: "b", New: id(2)})
	require.Equal(t, map[string]objects.ID{"a": id(2), "b": id(2)}, list(t, b1))

	// b1's cached view is stale until its next call, which re-reads.
	err = b1.Apply(ctx, refs.Txn{Updates: []refs.Update{{Name: "a", Old: id(1), New: id(3)}}})
	require.ErrorIs(t, err, refs.ErrConflict)
	apply(t, b1, refs.Update{Name: "b", Old: id(2)})
	_, err = b2.Get(ctx, "b")
	require.ErrorIs(t, err, refs.ErrNotFound)
	require.Equal(t, 2, logLen(t, b2, "b"))
	require.Len(t, requireValidLog(t, dir), 3)
}

func TestLogFormat(t *testing.T) {
	dir := t.TempDir()
	b := newBackend(t, dir)
	a := objects.Sum([]byte("a"))
	require.NoError(t, b.Apply(t.Context(), refs.Txn{
		Updates: []refs.Update{{Name: "x/y", New: a}, {Name: "check"}},
		Who:     "me\t<m@example.com>",
		Action:  "create",
	}))
	lines := requireValidLog(t, dir)
	require.Len(t, lines, 1)
	re := regexp.MustCompile("^(\\{.*\\})\t([0-9a-f]{8})\n$")
	m := re.FindSubmatch(lines[0])
	require.NotNil(t, m, "%q", lines[0])
	var raw map[string]any
	require.NoError(t, json.Unmarshal(m[1], &raw))
	require.EqualValues(t, 1, raw["seq"])
	require.Equal(t, "me\t<m@example.com>", raw["who"])
	require.Equal(t, "create", raw["action"])
	require.Contains(t, raw, "time")
	// The pure check on "check" is not logged.
	require.Equal(t, []any{map[string]any{"name": "x/y", "old": "", "new": a.String()}}, raw["updates"])
}

func TestTornTail(t *testing.T) {
	id := refstest.ID
	goodLine, err := encodeLine(&record{Seq: 99, Updates: []recordItem{{Name: "zz", New: id(9)}}})
	require.NoError(t, err)
	badCRC := bytes.Clone(goodLine)
	if last := &badCRC[len(badCRC)-2]; *last == '0' { // change the last CRC digit
		*last = '1'
	} else {
		*last = '0'
	}
	_, ok := frame(badCRC)
	require.False(t, ok)

	tests := []struct {
		name string
		junk []byte
	}{
		{"partial line", []byte(`{"seq":4,"time":"2025-01-0`)},
		{"partial trailer", goodLine[:len(goodLine)-3]},
		{"no newline", goodLine[:len(goodLine)-1]},
		{"bad crc", badCRC},
		{"bad crc then partial", append(append([]byte{}, badCRC...), "{\"se"...)},
		{"garbage lines", []byte("garbage\n\x00\x00\x00\nmore")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			dir := t.TempDir()
			b1 := newBackend(t, dir)
			for i := uint64(1); i <= 3; i++ {
				apply(t, b1, refs.Update{Name: "r", Old: id(i - 1), New: id(i)})
			}
			before, err := os.ReadFile(filepath.Join(dir, logFile))
			require.NoError(t, err)
			f, err := os.OpenFile(filepath.Join(dir, logFile), os.O_WRONLY|os.O_APPEND, 0)
			require.NoError(t, err)
			_, err = f.Write(tt.junk)
			require.NoError(t, err)
			require.NoError(t, f.Close())

			// Readers, old and new, ignore the tail.
			b2 := newBackend(t, dir)
			for _, b := range []*Backend{b1, b2} {
				got, err := b.Get(ctx, "r")
				require.NoError(t, err)
				require.Equal(t, id(3), got)
				require.Equal(t, 3, logLen(t, b, "r"))
			}
			require.Equal(t, int64(len(tt.junk)), b2.st.tail)

			// A failed CAS does not touch the log.
			err = b2.Apply(ctx, refs.Txn{Updates: []refs.Update{{Name: "r", Old: id(1), New: id(5)}}})
			require.ErrorIs(t, err, refs.ErrConflict)
			after, err := os.ReadFile(filepath.Join(dir, logFile))
			require.NoError(t, err)
			require.Equal(t, append(before, tt.junk...), after)

			// The next writer truncates it.
			apply(t, b2, refs.Update{Name: "r", Old: id(3), New: id(4)})
			lines := requireValidLog(t, dir)
			require.Len(t, lines, 4)
			after, err = os.ReadFile(filepath.Join(dir, logFile))
			require.NoError(t, err)
			require.Equal(t, before, after[:len(before)])

			for _, b := range []*Backend{b1, b2, newBackend(t, dir)} {
				got, err := b.Get(ctx, "r")
				require.NoError(t, err)
				require.Equal(t, id(4), got)
				require.Equal(t, 4, logLen(t, b, "r"))
			}
		})
	}
}

func TestCorrupt(t *testing.T) {
	id := refstest.ID
	tests := []struct {
		name   string
		damage func(lines [][]byte) [][]byte
	}{
		{"bad crc in the middle", func(lines [][]byte) [][]byte {
			lines[1][5] ^= 1
			return lines
		}},
		{"garbage line in the middle", func(lines [][]byte) [][]byte {
			return append(lines[:2], append([][]byte{[]byte("garbage\n")}, lines[2:]...)...)
		}},
		{"seq gap", func(lines [][]byte) [][]byte { return append(lines[:1], lines[2:]...) }},
		{"valid crc, not a record", func(lines [][]byte) [][]byte {
			js := []byte(`{"seq":"x"}`)
			return append(lines, fmt.Appendf(js, "\t%08x\n", crc32IEEE(js)))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			b := newBackend(t, dir)
			for i := uint64(1); i <= 3; i++ {
				apply(t, b, refs.Update{Name: "r", Old: id(i - 1), New: id(i)})
			}
			lines := tt.damage(requireValidLog(t, dir))
			require.NoError(t, os.WriteFile(filepath.Join(dir, logFile), bytes.Join(lines, nil), 0o644))

			_, err := New(dir)
			require.ErrorIs(t, err, ErrCorrupt)
			// The instance that read the log before sees it too, at the
			// latest when it reloads.
			b.st.loaded = false
			_, err = b.Get(t.Context(), "r")
			require.ErrorIs(t, err, ErrCorrupt)
			err = b.Apply(t.Context(), refs.Txn{Updates: []refs.Update{{Name: "r", Old: id(3), New: id(4)}}})
			require.ErrorIs(t, err, ErrCorrupt)
		})
	}
}

func TestReload(t *testing.T) {
	ctx := t.Context()
	id := refstest.ID
	dir := t.TempDir()
	b1 := newBackend(t, dir)
	apply(t, b1, refs.Update{Name: "a", New: id(1)})
	prefix, err := os.ReadFile(filepath.Join(dir, logFile))
	require.NoError(t, err)
	apply(t, b1, refs.Update{Name: "a", Old: id(1), New: id(2)})
	apply(t, b1, refs.Update{Name: "b", New: id(2)})

	t.Run("shrunk", func(t *testing.T) {
		require.NoError(t, os.Truncate(filepath.Join(dir, logFile), int64(len(prefix))))
		require.Equal(t, map[string]objects.ID{"a": id(1)}, list(t, b1))
	})
	t.Run("replaced", func(t *testing.T) {
		other := t.TempDir()
		b := newBackend(t, other)
		apply(t, b, refs.Update{Name: "c", New: id(7)})
		require.NoError(t, os.Rename(filepath.Join(other, logFile), filepath.Join(dir, logFile)))
		require.Equal(t, map[string]objects.ID{"c": id(7)}, list(t, b1))
		got, err := b1.Get(ctx, "c")
		require.NoError(t, err)
		require.Equal(t, id(7), got)
	})
}

func TestSnapshot(t *testing.T) {
	ctx := t.Context()
	id := refstest.ID
	dir := t.TempDir()
	b := newBackend(t, dir)
	b.snapshotEvery = 10
	for i := uint64(1); i <= 25; i++ {
		name := fmt.Sprintf("r%d", i%4)
		cur, err := b.Get(ctx, name)
		if err != nil {
			require.ErrorIs(t, err, refs.ErrNotFound)
		}
		next := id(i)
		if i%7 == 0 {
			next = objects.ID{} // delete now and then
		}
		apply(t, b, refs.Update{Name: name, Old: cur, New: next})
	}
	want := list(t, b)
	require.NotEmpty(t, want)

	readSnap := func() snapshot {
		data, err := os.ReadFile(filepath.Join(dir, snapshotFile))
		require.NoError(t, err)
		var s snapshot
		require.NoError(t, json.Unmarshal(data, &s))
		return s
	}
	snap := readSnap()
	require.Equal(t, uint64(20), snap.Seq)
	lines := requireValidLog(t, dir)
	require.Len(t, lines, 25)
	require.Equal(t, int64(len(bytes.Join(lines[:20], nil))), snap.Offset)
	_, err := os.Stat(filepath.Join(dir, snapshotFile+".tmp"))
	require.ErrorIs(t, err, os.ErrNotExist)

	b2 := newBackend(t, dir)
	require.Equal(t, snap.Offset, b2.st.base, "fresh backend did not start from the snapshot")
	require.Equal(t, want, list(t, b2))
	require.Equal(t, logLen(t, b, "r1"), logLen(t, b2, "r1"))
	require.Equal(t, uint64(25), b2.st.seq)

	tests := []struct {
		name string
		data string
	}{
		{"garbage", "{not json"},
		{"offset past the log", `{"offset":99999999,"seq":3,"refs":{}}`},
		{"offset inside a line", `{"offset":5,"seq":1,"refs":{}}`},
		{"wrong seq", fmt.Sprintf(`{"offset":%d,"seq":7,"refs":{}}`, snap.Offset)},
		// The lines after the snapshot do not fit its refs.
		{"wrong refs", fmt.Sprintf(`{"offset":%d,"seq":20,"refs":{"zz":%q}}`, snap.Offset, id(1).String())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, snapshotFile), []byte(tt.data), 0o644))
			b3 := newBackend(t, dir)
			require.Equal(t, want, list(t, b3))
			require.Zero(t, b3.st.base, "bad snapshot was used")
		})
	}

	t.Run("missing", func(t *testing.T) {
		require.NoError(t, os.Remove(filepath.Join(dir, snapshotFile)))
		b3 := newBackend(t, dir)
		require.Zero(t, b3.st.base)
		require.Equal(t, want, list(t, b3))
		// The next Apply notices the snapshot is overdue and writes it.
		b3.snapshotEvery = 10
		apply(t, b3, refs.Update{Name: "new", New: id(1)})
		require.Equal(t, uint64(26), readSnap().Seq)
		b4 := newBackend(t, dir)
		require.NotZero(t, b4.st.base)
		require.Equal(t, list(t, b3), list(t, b4))
	})
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }
