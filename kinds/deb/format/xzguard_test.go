package format_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/deb/format"
)

func xzc(t *testing.T, in []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("xz", append([]string{"-c"}, args...)...)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	require.NoError(t, err)
	return out
}

// TestXzDictionaryBomb: an .xz of a few bytes whose block header asks
// for a 4 GiB dictionary is refused before the reader allocates it,
// while .xz files of several blocks, several streams and stream padding
// read as before.
func TestXzDictionaryBomb(t *testing.T) {
	small := xzc(t, []byte("hello\n"))
	bomb := bytes.Clone(small)
	require.Equal(t, byte(0x21), bomb[14], "LZMA2 filter of the first block header")
	bomb[16] = 40 // dictionary: 4 GiB - 1
	binary.LittleEndian.PutUint32(bomb[20:24], crc32.ChecksumIEEE(bomb[12:20]))
	start := time.Now()
	for range 4 {
		r, release, err := format.Decompress(bytes.NewReader(bomb), format.CompXz, 1<<20)
		if err == nil {
			_, err = io.ReadAll(r)
			release()
		}
		require.ErrorIs(t, err, format.ErrTooLarge)
	}
	require.Less(t, time.Since(start), 2*time.Second)

	big := bytes.Repeat([]byte("Package: x\nVersion: 1.0\n\n"), 40000)
	multi := xzc(t, big, "-T2", "--block-size=100000", "--check=sha256")
	streams := append(append(append(bytes.Clone(small), 0, 0, 0, 0), xzc(t, big, "-0", "--check=none")...), xzc(t, []byte{}, "--check=crc32")...)
	for name, c := range map[string]struct {
		xz   []byte
		want []byte
	}{
		"one block":       {small, []byte("hello\n")},
		"several blocks":  {multi, big},
		"several streams": {streams, append([]byte("hello\n"), big...)},
		"incompressible":  {xzc(t, randomBytes(300000)), randomBytes(300000)},
	} {
		r, release, err := format.Decompress(bytes.NewReader(c.xz), format.CompXz, 64<<20)
		require.NoError(t, err, name)
		got, err := io.ReadAll(r)
		release()
		require.NoError(t, err, name)
		require.True(t, bytes.Equal(c.want, got), name)
	}
	r, release, err := format.Decompress(bytes.NewReader(multi[:len(multi)-30]), format.CompXz, 64<<20)
	require.NoError(t, err)
	_, err = io.ReadAll(r)
	release()
	require.Error(t, err, "truncated")
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	x := uint32(1)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// FuzzXzGuard: what the xz reader reads from an input, it reads the same
// through the guard (which may only refuse more, and only with an
// error).
func FuzzXzGuard(f *testing.F) {
	for _, s := range [][]byte{[]byte("hello\n"), bytes.Repeat([]byte("abc\n"), 5000), nil} {
		cmd := exec.Command("xz", "-c", "--check=crc32")
		cmd.Stdin = bytes.NewReader(s)
		out, err := cmd.Output()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(out)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		g, release, err := format.Decompress(bytes.NewReader(in), format.CompXz, 1<<20)
		if err != nil {
			return
		}
		defer release()
		got, gerr := io.ReadAll(g)
		if gerr != nil {
			return
		}
		want, err := format.DecompressUnguardedXz(in, 1<<20)
		require.NoError(t, err, "the guard passed what the reader refuses")
		require.Equal(t, want, got)
	})
}
