package format_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/python/format"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
)

func read(t testing.TB, filename string, data []byte, lim format.Limits) (*format.Dist, error) {
	t.Helper()
	return format.ReadDist(context.Background(), bytes.NewReader(data), int64(len(data)), filename, lim)
}

func TestReadWheel(t *testing.T) {
	spec := pythontest.Spec{Name: "My.Pkg", Version: "1.0.RC1", RequiresPython: ">=3.7, <4", Requires: []string{"beta>=2"}}
	fn, data := spec.Wheel()
	require.Equal(t, "My.Pkg-1.0.RC1-py3-none-any.whl", fn)
	// A file name with a normalized name and version matches too.
	for _, name := range []string{fn, "my_pkg-1.0rc1-py3-none-any.whl"} {
		_, data := spec.Wheel()
		// The dist-info directory keeps the original spelling, which
		// normalizes to the same project and version.
		d, err := read(t, name, data, format.Limits{})
		require.NoError(t, err)
		require.Equal(t, "my-pkg", d.Name)
		require.Equal(t, "1.0rc1", d.Version)
		require.Equal(t, format.TypeWheel, d.Type)
		require.Equal(t, ">=3.7, <4", d.RequiresPython)
		require.Equal(t, name, d.Filename)
		require.Equal(t, "My.Pkg-1.0.RC1.dist-info/METADATA", d.MetadataPath)
		require.Equal(t, spec.Metadata(), d.Metadata)
		require.Equal(t, sha256.Sum256(spec.Metadata()), d.MetadataSHA256())
	}
	meta, err := format.ReadWheelMetadata(context.Background(), bytes.NewReader(data), int64(len(data)), fn, format.Limits{})
	require.NoError(t, err)
	require.Equal(t, spec.Metadata(), meta)
}

func TestReadSdist(t *testing.T) {
	spec := pythontest.Spec{Name: "foo-bar", Version: "2.0", RequiresPython: ">=3.9"}
	fn, data := spec.Sdist()
	d, err := read(t, fn, data, format.Limits{})
	require.NoError(t, err)
	require.Equal(t, &format.Dist{Filename: fn, Type: format.TypeSdist, Name: "foo-bar", Version: "2.0", RequiresPython: ">=3.9", Metadata: spec.Metadata(), MetadataPath: "foo_bar-2.0/PKG-INFO"}, d)

	// A legacy name with '-' and a ./ prefix; an sdist .zip.
	legacy := pythontest.TarGz(pythontest.File{Name: "./", Type: tar.TypeDir}, pythontest.File{Name: "./foo-bar-2.0/PKG-INFO", Body: spec.Metadata()})
	d, err = read(t, "foo-bar-2.0.tar.gz", legacy, format.Limits{})
	require.NoError(t, err)
	require.Equal(t, "foo-bar", d.Name)
	z := pythontest.Zip(pythontest.File{Name: "Foo_Bar-2.0/PKG-INFO", Body: spec.Metadata()}, pythontest.File{Name: "Foo_Bar-2.0/foo_bar.egg-info/PKG-INFO", Body: []byte("junk")})
	d, err = read(t, "Foo_Bar-2.0.zip", z, format.Limits{})
	require.NoError(t, err)
	require.Equal(t, "2.0", d.Version)
	require.Equal(t, "Foo_Bar-2.0/PKG-INFO", d.MetadataPath)
}

func TestReadDistRejects(t *testing.T) {
	good := pythontest.Spec{Name: "alpha", Version: "1.0"}
	meta := good.Metadata()
	di := "alpha-1.0.dist-info/"
	wheel := func(files ...pythontest.File) []byte { return pythontest.Zip(files...) }
	_, lying := pythontest.Spec{Name: "alpha", Version: "1.0", MetaName: "delta"}.Wheel()
	_, lyingVersion := pythontest.Spec{Name: "alpha", Version: "1.0", MetaVersion: "1.1"}.Wheel()
	_, goodWheel := good.Wheel()
	bomb := bytes.Repeat([]byte("A"), 2<<20)
	tgz := func(files ...pythontest.File) []byte { return pythontest.TarGz(files...) }
	sdistMeta := func(name, version string) []byte { return pythontest.Spec{Name: name, Version: version}.Metadata() }

	for _, tc := range []struct {
		name, file string
		data       []byte
		want       error
		msg        string // in the error
		lim        format.Limits
	}{
		{"unknown extension", "alpha-1.0.egg", goodWheel, format.ErrInvalid, "neither a wheel", format.Limits{}},
		{"bad wheel name", "alpha-1.0.whl", goodWheel, format.ErrInvalid, "not {name}", format.Limits{}},
		{"not a zip", "alpha-1.0-py3-none-any.whl", []byte("hello, not a zip at all, but long enough"), format.ErrInvalid, "broken zip", format.Limits{}},
		{"truncated zip", "alpha-1.0-py3-none-any.whl", goodWheel[:len(goodWheel)-30], format.ErrInvalid, "broken zip", format.Limits{}},
		{"empty", "alpha-1.0-py3-none-any.whl", nil, format.ErrInvalid, "too short", format.Limits{}},
		{"name lies", "alpha-1.0-py3-none-any.whl", lying, format.ErrMismatch, `gives Name "delta"`, format.Limits{}},
		{"version lies", "alpha-1.0-py3-none-any.whl", lyingVersion, format.ErrMismatch, `gives Version "1.1"`, format.Limits{}},
		{"file name lies", "beta-1.0-py3-none-any.whl", goodWheel, format.ErrMismatch, "not named after", format.Limits{}},
		{"no dist-info", "alpha-1.0-py3-none-any.whl", wheel(pythontest.File{Name: "alpha/__init__.py"}), format.ErrInvalid, "no .dist-info", format.Limits{}},
		{"two dist-info", "alpha-1.0-py3-none-any.whl", wheel(pythontest.File{Name: di + "METADATA", Body: meta}, pythontest.File{Name: "other-1.0.dist-info/METADATA", Body: meta}), format.ErrInvalid, "exactly one", format.Limits{}},
		{"no METADATA", "alpha-1.0-py3-none-any.whl", wheel(pythontest.File{Name: di + "WHEEL"}), format.ErrInvalid, "no alpha-1.0.dist-info/METADATA", format.Limits{}},
		{"METADATA twice", "alpha-1.0-py3-none-any.whl", wheel(pythontest.File{Name: di + "METADATA", Body: meta}, pythontest.File{Name: di + "METADATA", Body: sdistMeta("delta", "1.0")}), format.ErrInvalid, "twice", format.Limits{}},
		{"METADATA broken", "alpha-1.0-py3-none-any.whl", wheel(pythontest.File{Name: di + "METADATA", Body: []byte("Version: 1.0\n")}), format.ErrInvalid, "no Name", format.Limits{}},
		{"METADATA bomb", "alpha-1.0-py3-none-any.whl", wheel(pythontest.File{Name: di + "METADATA", Body: append(append([]byte{}, meta...), bomb...)}), format.ErrLimit, "more than 1048576", format.Limits{}},
		{"too many entries", "alpha-1.0-py3-none-any.whl", goodWheel, format.ErrLimit, "4 entries, more than 3", format.Limits{Entries: 3}},
		{"traversal", "alpha-1.0-py3-none-any.whl", wheel(pythontest.File{Name: di + "METADATA", Body: meta}, pythontest.File{Name: "alpha/../../evil.py"}), format.ErrUnsafePath, "'..'", format.Limits{}},
		{"absolute", "alpha-1.0-py3-none-any.whl", wheel(pythontest.File{Name: di + "METADATA", Body: meta}, pythontest.File{Name: "/etc/passwd"}), format.ErrUnsafePath, "absolute", format.Limits{}},
		{"backslash", "alpha-1.0-py3-none-any.whl", wheel(pythontest.File{Name: di + "METADATA", Body: meta}, pythontest.File{Name: `..\evil.py`}), format.ErrUnsafePath, "backslash", format.Limits{}},
		{"drive", "alpha-1.0-py3-none-any.whl", wheel(pythontest.File{Name: di + "METADATA", Body: meta}, pythontest.File{Name: `C:/evil.py`}), format.ErrUnsafePath, "drive", format.Limits{}},

		{"sdist not gzip", "alpha-1.0.tar.gz", []byte("plain"), format.ErrInvalid, "not a gzip", format.Limits{}},
		{"sdist broken tar", "alpha-1.0.tar.gz", gzipOf([]byte(strings.Repeat("x", 1000))), format.ErrInvalid, "broken tarball", format.Limits{}},
		{"sdist no PKG-INFO", "alpha-1.0.tar.gz", tgz(pythontest.File{Name: "alpha-1.0/setup.py"}), format.ErrInvalid, "no alpha-1.0/PKG-INFO", format.Limits{}},
		{"sdist nested PKG-INFO only", "alpha-1.0.tar.gz", tgz(pythontest.File{Name: "alpha-1.0/alpha.egg-info/PKG-INFO", Body: meta}), format.ErrInvalid, "no alpha-1.0/PKG-INFO", format.Limits{}},
		{"sdist lies", "alpha-1.0.tar.gz", tgz(pythontest.File{Name: "alpha-1.0/PKG-INFO", Body: sdistMeta("delta", "1.0")}), format.ErrMismatch, `Name "delta"`, format.Limits{}},
		{"sdist dir lies", "alpha-1.0.tar.gz", tgz(pythontest.File{Name: "delta-1.0/PKG-INFO", Body: meta}), format.ErrMismatch, `its directory "delta-1.0"`, format.Limits{}},
		{"sdist two PKG-INFO dirs", "alpha-1.0.tar.gz", tgz(pythontest.File{Name: "a-1.0/PKG-INFO", Body: meta}, pythontest.File{Name: "b-1.0/PKG-INFO", Body: meta}), format.ErrInvalid, "2 other", format.Limits{}},
		{"sdist PKG-INFO twice", "alpha-1.0.tar.gz", tgz(pythontest.File{Name: "alpha-1.0/PKG-INFO", Body: meta}, pythontest.File{Name: "alpha-1.0/PKG-INFO", Body: meta}), format.ErrInvalid, "twice", format.Limits{}},
		{"sdist traversal", "alpha-1.0.tar.gz", tgz(pythontest.File{Name: "alpha-1.0/PKG-INFO", Body: meta}, pythontest.File{Name: "alpha-1.0/../../x"}), format.ErrUnsafePath, "'..'", format.Limits{}},
		{"sdist absolute", "alpha-1.0.tar.gz", tgz(pythontest.File{Name: "/alpha-1.0/PKG-INFO", Body: meta}), format.ErrUnsafePath, "absolute", format.Limits{}},
		{"sdist symlink out", "alpha-1.0.tar.gz", tgz(pythontest.File{Name: "alpha-1.0/PKG-INFO", Body: meta}, pythontest.File{Name: "alpha-1.0/x", Type: tar.TypeSymlink, Link: "../../etc/passwd"}), format.ErrUnsafePath, "outside", format.Limits{}},
		{"sdist symlink absolute", "alpha-1.0.tar.gz", tgz(pythontest.File{Name: "alpha-1.0/PKG-INFO", Body: meta}, pythontest.File{Name: "alpha-1.0/x", Type: tar.TypeSymlink, Link: "/etc/passwd"}), format.ErrUnsafePath, "outside", format.Limits{}},
		{"sdist hard link out", "alpha-1.0.tar.gz", tgz(pythontest.File{Name: "alpha-1.0/PKG-INFO", Body: meta}, pythontest.File{Name: "alpha-1.0/x", Type: tar.TypeLink, Link: "../x"}), format.ErrUnsafePath, "'..'", format.Limits{}},
		{"sdist device", "alpha-1.0.tar.gz", tgz(pythontest.File{Name: "alpha-1.0/PKG-INFO", Body: meta}, pythontest.File{Name: "alpha-1.0/dev", Type: tar.TypeChar}), format.ErrInvalid, "device", format.Limits{}},
		{"sdist PKG-INFO bomb", "alpha-1.0.tar.gz", tgz(pythontest.File{Name: "alpha-1.0/PKG-INFO", Body: append(append([]byte{}, meta...), bomb...)}), format.ErrLimit, "more than 1048576", format.Limits{}},
		{"sdist unpacks too much", "alpha-1.0.tar.gz", tgz(pythontest.File{Name: "alpha-1.0/PKG-INFO", Body: meta}, pythontest.File{Name: "alpha-1.0/big", Body: bomb}), format.ErrLimit, "unpacks to more than 1000000", format.Limits{Unpacked: 1_000_000}},
		{"sdist too many entries", "alpha-1.0.tar.gz", tgz(pythontest.File{Name: "alpha-1.0/PKG-INFO", Body: meta}, pythontest.File{Name: "alpha-1.0/a"}, pythontest.File{Name: "alpha-1.0/b"}), format.ErrLimit, "more than 2 entries", format.Limits{Entries: 2}},
		{"sdist huge pax header", "alpha-1.0.tar.gz", hugePAX(meta), format.ErrInvalid, "broken tarball", format.Limits{}},
		{"sdist zip lies", "alpha-1.0.zip", wheel(pythontest.File{Name: "alpha-1.0/PKG-INFO", Body: sdistMeta("alpha", "2.0")}), format.ErrMismatch, `Version "2.0"`, format.Limits{}},
		{"sdist zip traversal", "alpha-1.0.zip", wheel(pythontest.File{Name: "alpha-1.0/PKG-INFO", Body: meta}, pythontest.File{Name: "../x"}), format.ErrUnsafePath, "'..'", format.Limits{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := read(t, tc.file, tc.data, tc.lim)
			require.ErrorIs(t, err, tc.want)
			require.ErrorIs(t, err, format.ErrInvalid)
			require.Contains(t, err.Error(), tc.msg)
		})
	}
}

func gzipOf(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// hugePAX is a tarball whose first entry is a 2 MiB PAX extended header
// (archive/tar won't write one, so the blocks are made by hand).
func hugePAX(meta []byte) []byte {
	var tarball bytes.Buffer
	rec := "comment=" + strings.Repeat("x", 2<<20) + "\n"
	rec = fmt.Sprintf("%d %s", len(rec)+8, rec) // 8: the length's digits and space
	tarball.Write(rawTarHeader("PaxHeaders/PKG-INFO", 'x', len(rec)))
	tarball.WriteString(rec)
	tarball.Write(make([]byte, (512-len(rec)%512)%512))
	tarball.Write(rawTarHeader("alpha-1.0/PKG-INFO", '0', len(meta)))
	tarball.Write(meta)
	tarball.Write(make([]byte, (512-len(meta)%512)%512+1024))
	return gzipOf(tarball.Bytes())
}

// rawTarHeader is a ustar header block.
func rawTarHeader(name string, typ byte, size int) []byte {
	b := make([]byte, 512)
	copy(b, name)
	copy(b[100:], "0000644\x00")
	copy(b[108:], "0000000\x00")
	copy(b[116:], "0000000\x00")
	copy(b[124:], fmt.Sprintf("%011o\x00", size))
	copy(b[136:], "00000000000\x00")
	b[156] = typ
	copy(b[257:], "ustar\x0000")
	copy(b[148:], "        ")
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// TestZipMetadataSizeLies: a METADATA whose header claims a small size
// but which inflates to much more is refused, not read whole.
func TestZipMetadataSizeLies(t *testing.T) {
	meta := append(pythontest.Spec{Name: "alpha", Version: "1.0"}.Metadata(), bytes.Repeat([]byte("A"), 4<<20)...)
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	var deflated bytes.Buffer
	fw, err := flate.NewWriter(&deflated, flate.BestCompression)
	require.NoError(t, err)
	_, _ = fw.Write(meta)
	_ = fw.Close()
	h := &zip.FileHeader{Name: "alpha-1.0.dist-info/METADATA", Method: zip.Deflate, CompressedSize64: uint64(deflated.Len()), UncompressedSize64: 100, CRC32: 0}
	raw, err := w.CreateRaw(h)
	require.NoError(t, err)
	_, err = raw.Write(deflated.Bytes())
	require.NoError(t, err)
	require.NoError(t, w.Close())
	_, err = read(t, "alpha-1.0-py3-none-any.whl", buf.Bytes(), format.Limits{})
	require.ErrorIs(t, err, format.ErrInvalid)
}

// TestZip64EntryCount: the entry count of a zip64 end record (over 65535
// entries) is read, and checked against the limit before the directory is
// loaded.
func TestZip64EntryCount(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 70 000-entry zip")
	}
	spec := pythontest.Spec{Name: "alpha", Version: "1.0"}
	files := []pythontest.File{{Name: "alpha-1.0.dist-info/METADATA", Body: spec.Metadata()}}
	for i := range 70_000 {
		files = append(files, pythontest.File{Name: fmt.Sprintf("alpha/m%d.py", i), Store: true})
	}
	data := pythontest.Zip(files...)
	n, err := format.ZipEntries(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	require.Equal(t, uint64(70_001), n)
	_, err = read(t, spec.WheelName(), data, format.Limits{Entries: 70_000})
	require.ErrorIs(t, err, format.ErrLimit)
	require.Contains(t, err.Error(), "70001 entries")
	d, err := read(t, spec.WheelName(), data, format.Limits{Entries: 80_000})
	require.NoError(t, err)
	require.Equal(t, "alpha", d.Name)
}

func TestReadDistCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fn, data := pythontest.Spec{Name: "alpha", Version: "1.0"}.Wheel()
	_, err := format.ReadDist(ctx, bytes.NewReader(data), int64(len(data)), fn, format.Limits{})
	require.ErrorIs(t, err, context.Canceled)
}

// failingReader fails every read past off with err.
type failingReader struct {
	r   *bytes.Reader
	off int64
	err error
}

func (f failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.off {
		return 0, f.err
	}
	return f.r.ReadAt(p, off)
}

// TestReadErrorsAreNotInvalid: an I/O error of the reader is reported as
// it is, not as a malformed package.
func TestReadErrorsAreNotInvalid(t *testing.T) {
	ioErr := errors.New("disk on fire")
	for _, mk := range []func() (string, []byte){
		pythontest.Spec{Name: "alpha", Version: "1.0", Extra: []pythontest.File{{Name: "alpha/big.py", Body: bytes.Repeat([]byte("x = 1\n"), 20000)}}}.Wheel,
		pythontest.Spec{Name: "alpha", Version: "1.0"}.Sdist,
	} {
		name, data := mk()
		for _, at := range []int64{0, 10, int64(len(data)) / 2, int64(len(data)) - 30} {
			r := failingReader{bytes.NewReader(data), at, ioErr}
			_, err := format.ReadDist(context.Background(), r, int64(len(data)), name, format.Limits{})
			require.ErrorIs(t, err, ioErr, "%s at %d", name, at)
			require.NotErrorIs(t, err, format.ErrInvalid, "%s at %d", name, at)
		}
	}
}
