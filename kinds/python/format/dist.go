package format

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	stdflate "compress/flate"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

// Dist describes one distribution file, as read by ReadDist.
type Dist struct {
	Filename string // the file name ReadDist was given
	Type     string // TypeWheel or TypeSdist
	// Name and Version are normalized (NormalizeName, NormalizeVersion).
	Name, Version  string
	RequiresPython string
	// Metadata is the METADATA (wheel) or PKG-INFO (sdist) file, as stored;
	// MetadataPath is its path in the archive.
	Metadata     []byte
	MetadataPath string
}

// MetadataSHA256 returns the SHA-256 of d.Metadata, the digest PEP 658
// advertises.
func (d *Dist) MetadataSHA256() [32]byte { return sha256.Sum256(d.Metadata) }

// Limits bounds the work of reading one package; zero fields take the
// defaults.
type Limits struct {
	// Metadata bounds the METADATA or PKG-INFO file (default 1 MiB).
	Metadata int64
	// Entries bounds the entries of an archive (default 100 000).
	Entries int
	// Unpacked bounds the bytes an sdist tarball decompresses to
	// (default 4 GiB).
	Unpacked int64
}

// Default limits.
const (
	DefaultMaxMetadata = 1 << 20
	DefaultMaxEntries  = 100_000
	DefaultMaxUnpacked = 4 << 30
)

func (l Limits) withDefaults() Limits {
	if l.Metadata <= 0 {
		l.Metadata = DefaultMaxMetadata
	}
	if l.Entries <= 0 {
		l.Entries = DefaultMaxEntries
	}
	if l.Unpacked <= 0 {
		l.Unpacked = DefaultMaxUnpacked
	}
	return l
}

// ReadDist validates the wheel or sdist r (size bytes), called filename,
// and returns its metadata; see the package documentation for what is
// checked. The error does not repeat filename unless it is about it.
func ReadDist(ctx context.Context, r io.ReaderAt, size int64, filename string, lim Limits) (*Dist, error) {
	lim = lim.withDefaults()
	switch {
	case strings.HasSuffix(filename, WheelExt):
		return readWheel(ctx, r, size, filename, lim)
	case strings.HasSuffix(filename, TarGzExt):
		return readSdistTar(ctx, r, size, filename, lim)
	case strings.HasSuffix(filename, SdistZip):
		return readSdistZip(ctx, r, size, filename, lim)
	}
	return nil, fmt.Errorf("%w: %q is neither a wheel (%s) nor an sdist (%s, %s)", ErrInvalid, filename, WheelExt, TarGzExt, SdistZip)
}

// ReadWheelMetadata returns the METADATA of the wheel r, checked as
// ReadDist checks it.
func ReadWheelMetadata(ctx context.Context, r io.ReaderAt, size int64, filename string, lim Limits) ([]byte, error) {
	d, err := readWheel(ctx, r, size, filename, lim.withDefaults())
	if err != nil {
		return nil, err
	}
	return d.Metadata, nil
}

func readWheel(ctx context.Context, r io.ReaderAt, size int64, filename string, lim Limits) (*Dist, error) {
	wn, err := ParseWheelName(filename)
	if err != nil {
		return nil, err
	}
	name := NormalizeName(wn.Name)
	version, _ := NormalizeVersion(wn.Version) // checked by ParseWheelName
	zr, err := openZip(r, size, lim)
	if err != nil {
		return nil, err
	}
	// The one top-level *.dist-info directory, and its METADATA entries.
	distInfo := map[string]bool{}
	for i, f := range zr.File {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if err := checkEntryPath(f.Name); err != nil {
			return nil, err
		}
		top, _, nested := strings.Cut(f.Name, "/")
		if nested && strings.HasSuffix(top, dotDistInfo) {
			distInfo[top] = true
		}
	}
	var dirs []string
	for d := range distInfo {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	switch {
	case len(dirs) == 0:
		return nil, fmt.Errorf("%w: the wheel holds no %s directory", ErrInvalid, dotDistInfo)
	case len(dirs) > 1:
		return nil, fmt.Errorf("%w: the wheel holds %d %s directories (%s); it must hold exactly one", ErrInvalid, len(dirs), dotDistInfo, strings.Join(dirs, ", "))
	}
	dir := dirs[0]
	if !sameNameVersion(strings.TrimSuffix(dir, dotDistInfo), name, version) {
		return nil, fmt.Errorf("%w: the wheel's metadata directory %s is not named after the file name's project %s and version %s", ErrMismatch, dir, name, version)
	}
	metaPath := dir + "/METADATA"
	data, err := readZipEntry(zr, metaPath, lim)
	if err != nil {
		return nil, err
	}
	return finish(TypeWheel, filename, metaPath, data, name, version)
}

func readSdistZip(ctx context.Context, r io.ReaderAt, size int64, filename string, lim Limits) (*Dist, error) {
	stem, _ := SdistStem(filename)
	zr, err := openZip(r, size, lim)
	if err != nil {
		return nil, err
	}
	tops := map[string]bool{}
	for i, f := range zr.File {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if err := checkEntryPath(f.Name); err != nil {
			return nil, err
		}
		if top, ok := pkgInfoTop(f.Name); ok {
			tops[top] = true
		}
	}
	top, err := chooseTop(tops, stem)
	if err != nil {
		return nil, err
	}
	metaPath := top + "/PKG-INFO"
	data, err := readZipEntry(zr, metaPath, lim)
	if err != nil {
		return nil, err
	}
	return finishSdist(filename, stem, top, data)
}

func readSdistTar(ctx context.Context, r io.ReaderAt, size int64, filename string, lim Limits) (*Dist, error) {
	stem, _ := SdistStem(filename)
	gz, err := gzip.NewReader(io.NewSectionReader(r, 0, size))
	if err != nil {
		return nil, broken("not a gzip file", err)
	}
	defer gz.Close()
	un := &limitedReader{r: gz, left: lim.Unpacked}
	tr := tar.NewReader(un)
	found := map[string][]byte{} // top directory -> its PKG-INFO
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if un.over {
				return nil, fmt.Errorf("%w: the tarball unpacks to more than %d bytes", ErrLimit, lim.Unpacked)
			}
			return nil, broken("broken tarball", err)
		}
		if n >= lim.Entries {
			return nil, fmt.Errorf("%w: the tarball holds more than %d entries", ErrLimit, lim.Entries)
		}
		if n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue // a pax global header (git archive writes one)
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		if name == "" || name == "." {
			continue // the archive's root directory
		}
		if err := checkEntryPath(name); err != nil {
			return nil, err
		}
		switch hdr.Typeflag {
		case tar.TypeSymlink:
			if err := checkLinkTarget(name, hdr.Linkname); err != nil {
				return nil, err
			}
		case tar.TypeLink:
			if err := checkEntryPath(strings.TrimPrefix(hdr.Linkname, "./")); err != nil {
				return nil, err
			}
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			return nil, fmt.Errorf("%w: the tarball holds a device or fifo, %q", ErrInvalid, name)
		}
		top, ok := pkgInfoTop(name)
		if !ok || hdr.Typeflag != tar.TypeReg {
			continue
		}
		if _, dup := found[top]; dup {
			return nil, fmt.Errorf("%w: the tarball holds %s twice", ErrInvalid, name)
		}
		data, err := readLimited(tr, hdr.Size, lim.Metadata, name)
		if un.over {
			return nil, fmt.Errorf("%w: the tarball unpacks to more than %d bytes", ErrLimit, lim.Unpacked)
		}
		if err != nil {
			return nil, err
		}
		found[top] = data
	}
	if un.over {
		return nil, fmt.Errorf("%w: the tarball unpacks to more than %d bytes", ErrLimit, lim.Unpacked)
	}
	tops := make(map[string]bool, len(found))
	for t := range found {
		tops[t] = true
	}
	top, err := chooseTop(tops, stem)
	if err != nil {
		return nil, err
	}
	return finishSdist(filename, stem, top, found[top])
}

// pkgInfoTop returns D when name is D/PKG-INFO.
func pkgInfoTop(name string) (string, bool) {
	top, rest, ok := strings.Cut(name, "/")
	return top, ok && rest == "PKG-INFO"
}

// chooseTop picks the top-level directory whose PKG-INFO describes an
// sdist called stem: stem itself, or the only one there is.
func chooseTop(tops map[string]bool, stem string) (string, error) {
	if tops[stem] {
		return stem, nil
	}
	switch len(tops) {
	case 0:
		return "", fmt.Errorf("%w: the sdist holds no %s/PKG-INFO", ErrInvalid, stem)
	case 1:
		for t := range tops {
			return t, nil
		}
	}
	return "", fmt.Errorf("%w: the sdist holds no %s/PKG-INFO, and %d other top-level PKG-INFO files", ErrInvalid, stem, len(tops))
}

func finishSdist(filename, stem, top string, data []byte) (*Dist, error) {
	m, err := ParseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("%s/PKG-INFO: %w", top, err)
	}
	name := NormalizeName(m.Name)
	version, _ := NormalizeVersion(m.Version) // checked by ParseMetadata
	if !sameNameVersion(stem, name, version) {
		return nil, fmt.Errorf("%w: %s/PKG-INFO gives Name %q and Version %q, the file name %q does not", ErrMismatch, top, m.Name, m.Version, filename)
	}
	if top != stem && !sameNameVersion(top, name, version) {
		return nil, fmt.Errorf("%w: %s/PKG-INFO gives Name %q and Version %q, its directory %q does not", ErrMismatch, top, m.Name, m.Version, top)
	}
	return &Dist{
		Filename: filename, Type: TypeSdist, Name: name, Version: version,
		RequiresPython: m.RequiresPython, Metadata: data, MetadataPath: top + "/PKG-INFO",
	}, nil
}

// finish parses a wheel's METADATA and checks it names the project and
// version of the file name (normalized).
func finish(typ, filename, metaPath string, data []byte, name, version string) (*Dist, error) {
	m, err := ParseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", metaPath, err)
	}
	if got := NormalizeName(m.Name); got != name {
		return nil, fmt.Errorf("%w: %s gives Name %q, the file name %q names project %q", ErrMismatch, metaPath, m.Name, filename, name)
	}
	if got, _ := NormalizeVersion(m.Version); got != version {
		return nil, fmt.Errorf("%w: %s gives Version %q, the file name %q names version %q", ErrMismatch, metaPath, m.Version, filename, version)
	}
	return &Dist{
		Filename: filename, Type: typ, Name: name, Version: version,
		RequiresPython: m.RequiresPython, Metadata: data, MetadataPath: metaPath,
	}, nil
}

// openZip opens a zip after checking, from its end record, that its
// directory holds at most lim.Entries entries, so a directory of millions
// of entries is refused before it is loaded.
func openZip(r io.ReaderAt, size int64, lim Limits) (*zip.Reader, error) {
	n, err := zipEntries(r, size)
	if err != nil {
		return nil, err
	}
	if n > uint64(lim.Entries) {
		return nil, fmt.Errorf("%w: the zip holds %d entries, more than %d", ErrLimit, n, lim.Entries)
	}
	zr, err := zip.NewReader(boundedReaderAt{r, size}, size)
	if err != nil {
		return nil, broken("broken zip", err)
	}
	if len(zr.File) > lim.Entries {
		return nil, fmt.Errorf("%w: the zip holds %d entries, more than %d", ErrLimit, len(zr.File), lim.Entries)
	}
	return zr, nil
}

// Zip record layouts (APPNOTE.TXT 4.3.14-16).
const (
	eocdLen          = 22
	eocdSig          = 0x06054b50
	zip64LocatorLen  = 20
	zip64LocatorSig  = 0x07064b50
	zip64EOCDLen     = 56
	zip64EOCDSig     = 0x06064b50
	maxZipCommentLen = 0xffff
)

// zipEntries returns the number of entries the end of central directory
// record of the zip r claims.
func zipEntries(r io.ReaderAt, size int64) (uint64, error) {
	if size < eocdLen {
		return 0, fmt.Errorf("%w: broken zip: %d bytes is too short", ErrInvalid, size)
	}
	n := min(size, eocdLen+maxZipCommentLen)
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, size-n); err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	at := -1
	for i := len(buf) - eocdLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(buf[i:]) == eocdSig &&
			i+eocdLen+int(binary.LittleEndian.Uint16(buf[i+20:])) <= len(buf) {
			at = i
			break
		}
	}
	if at < 0 {
		return 0, fmt.Errorf("%w: broken zip: no end of central directory record", ErrInvalid)
	}
	count := uint64(binary.LittleEndian.Uint16(buf[at+10:]))
	dirOff := binary.LittleEndian.Uint32(buf[at+16:])
	if count != 0xffff && dirOff != 0xffffffff {
		return count, nil
	}
	// Zip64: the locator right before the record points at the zip64 one.
	locAt := size - n + int64(at) - zip64LocatorLen
	if locAt < 0 {
		return count, nil // not zip64 after all
	}
	loc := make([]byte, zip64LocatorLen)
	if _, err := r.ReadAt(loc, locAt); err != nil {
		return 0, broken("broken zip", err)
	}
	if binary.LittleEndian.Uint32(loc) != zip64LocatorSig {
		return count, nil
	}
	recAt := binary.LittleEndian.Uint64(loc[8:])
	if recAt > uint64(size-zip64EOCDLen) {
		return 0, fmt.Errorf("%w: broken zip: zip64 record offset %d out of range", ErrInvalid, recAt)
	}
	rec := make([]byte, zip64EOCDLen)
	if _, err := r.ReadAt(rec, int64(recAt)); err != nil {
		return 0, broken("broken zip", err)
	}
	if binary.LittleEndian.Uint32(rec) != zip64EOCDSig {
		return 0, fmt.Errorf("%w: broken zip: bad zip64 end of central directory record", ErrInvalid)
	}
	return binary.LittleEndian.Uint64(rec[32:]), nil
}

// readZipEntry reads the one entry called name, refusing a missing or
// duplicated one and one over lim.Metadata.
func readZipEntry(zr *zip.Reader, name string, lim Limits) ([]byte, error) {
	var found *zip.File
	for _, f := range zr.File {
		if f.Name != name {
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("%w: the archive holds %s twice", ErrInvalid, name)
		}
		found = f
	}
	if found == nil {
		return nil, fmt.Errorf("%w: the archive holds no %s", ErrInvalid, name)
	}
	if found.UncompressedSize64 > uint64(lim.Metadata) {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than %d", ErrLimit, name, found.UncompressedSize64, lim.Metadata)
	}
	rc, err := found.Open()
	if err != nil {
		return nil, broken(name, err)
	}
	defer rc.Close()
	return readLimited(rc, int64(found.UncompressedSize64), lim.Metadata, name)
}

// readLimited reads r to its end: want bytes by its header, at most limit.
// A reader that yields more than limit is refused whatever its header says.
func readLimited(r io.Reader, want, limit int64, name string) ([]byte, error) {
	if want > limit {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than %d", ErrLimit, name, want, limit)
	}
	var buf bytes.Buffer
	buf.Grow(int(max(want, 0)))
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, broken(name, err)
	}
	if n > limit {
		return nil, fmt.Errorf("%w: %s unpacks to more than %d bytes", ErrLimit, name, limit)
	}
	return buf.Bytes(), nil
}

// checkEntryPath refuses an archive entry name that would escape the
// directory it is unpacked into, or that no tool unpacks the same way.
func checkEntryPath(name string) error {
	bad := func(why string) error { return fmt.Errorf("%w: entry %q: %s", ErrUnsafePath, name, why) }
	switch {
	case name == "":
		return bad("empty name")
	case strings.HasPrefix(name, "/"):
		return bad("absolute path")
	case strings.ContainsRune(name, '\\'):
		return bad("backslash in path")
	case strings.IndexByte(name, 0) >= 0:
		return bad("NUL in path")
	case len(name) >= 2 && name[1] == ':':
		return bad("drive letter")
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == ".." {
			return bad("'..' segment")
		}
	}
	return nil
}

// checkLinkTarget refuses a symbolic link at name whose target leaves the
// archive's root.
func checkLinkTarget(name, target string) error {
	if target == "" || strings.HasPrefix(target, "/") || strings.ContainsRune(target, '\\') {
		return fmt.Errorf("%w: link %q points to %q, outside the archive", ErrUnsafePath, name, target)
	}
	j := path.Join(path.Dir(name), target)
	if j == ".." || strings.HasPrefix(j, "../") {
		return fmt.Errorf("%w: link %q points to %q, outside the archive", ErrUnsafePath, name, target)
	}
	return nil
}

// broken describes an error reading an archive: one that shows the
// archive is malformed (truncated, bad headers, bad compressed data, bad
// checksums) matches ErrInvalid; any other, such as an I/O error of the
// underlying reader, is returned as it is.
func broken(what string, err error) error {
	var stdCorrupt stdflate.CorruptInputError
	var corrupt flate.CorruptInputError
	for _, format := range []error{
		io.EOF, io.ErrUnexpectedEOF, errOutOfRange,
		zip.ErrFormat, zip.ErrAlgorithm, zip.ErrChecksum, zip.ErrInsecurePath,
		tar.ErrHeader, tar.ErrFieldTooLong, tar.ErrInsecurePath,
		gzip.ErrHeader, gzip.ErrChecksum,
	} {
		if errors.Is(err, format) {
			return fmt.Errorf("%w: %s: %w", ErrInvalid, what, err)
		}
	}
	if errors.As(err, &stdCorrupt) || errors.As(err, &corrupt) {
		return fmt.Errorf("%w: %s: %w", ErrInvalid, what, err)
	}
	return fmt.Errorf("read %s: %w", what, err)
}

// errOutOfRange reports a read outside the archive, at an offset its
// headers computed.
var errOutOfRange = errors.New("offset outside the archive")

// boundedReaderAt reads r's size bytes; reads at offsets outside them
// (bad zip headers can compute negative ones) fail with errOutOfRange.
type boundedReaderAt struct {
	r    io.ReaderAt
	size int64
}

func (b boundedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > b.size {
		return 0, errOutOfRange
	}
	if rest := b.size - off; int64(len(p)) > rest {
		n, err := b.r.ReadAt(p[:rest], off)
		if err == nil {
			err = io.EOF
		}
		return n, err
	}
	return b.r.ReadAt(p, off)
}

// limitedReader reads at most left bytes of r, then fails, noting it.
type limitedReader struct {
	r    io.Reader
	left int64
	over bool
}

var errUnpacked = errors.New("unpacked size limit")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells a stream that ends exactly at the limit.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			l.over = true
			return 0, errUnpacked
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}
