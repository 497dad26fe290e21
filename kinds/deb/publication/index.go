package publication

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/ulikunitz/xz"

	"github.com/pkgvc/pkgvc/kinds/deb"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// pkg is a package as a Packages index lists it.
type pkg struct {
	path    string
	sha256  objects.ID
	size    int64
	control string
	arch    string
	md5     string
	sha1    string
}

// pkgOf reads the package of record r, if r is a .deb in the pool with
// the fields a stanza needs, and returns its component.
func pkgOf(r *repo.Record) (p pkg, comp string, ok bool) {
	comp = deb.ComponentOf(r.Path)
	if comp == "" || !strings.HasSuffix(r.Path, ".deb") {
		return p, "", false
	}
	m := r.Metadata
	p = pkg{
		path: r.Path, sha256: r.SHA256, size: r.Size,
		control: strings.TrimRight(m[deb.MetaControl], "\n"),
		arch:    m[deb.MetaArchitecture], md5: m[deb.MetaMD5], sha1: m[deb.MetaSHA1],
	}
	if p.control == "" || p.arch == "" {
		return p, "", false
	}
	return p, comp, true
}

// stanza appends p's Packages stanza, with its blank line.
func (p *pkg) stanza(b *bytes.Buffer) {
	b.WriteString(p.control)
	b.WriteString("\nFilename: ")
	b.WriteString(p.path)
	b.WriteString("\nSize: ")
	b.WriteString(strconv.FormatInt(p.size, 10))
	if p.md5 != "" {
		b.WriteString("\nMD5sum: ")
		b.WriteString(p.md5)
	}
	if p.sha1 != "" {
		b.WriteString("\nSHA1: ")
		b.WriteString(p.sha1)
	}
	b.WriteString("\nSHA256: ")
	b.WriteString(hex.EncodeToString(p.sha256[:]))
	b.WriteString("\n\n")
}

// bucket is the chunk of its component's indexes a package's stanza is
// in: by its pool directory, so that a source's packages share one. A
// change rewrites (and compresses again) the chunks it touches; an index
// is the concatenation of its chunks, its .gz and .xz that of gzip
// members and xz streams, which apt reads as one.
func bucket(poolPath string) string {
	dir := poolPath[:strings.LastIndexByte(poolPath, '/')+1]
	sum := sha256.Sum256([]byte(dir))
	return hex.EncodeToString(sum[:1])
}

// listedIn reports whether the index of architecture idx lists a package
// of arch: its own, and every one for "all" (apt reads binary-<arch>
// only; Debian lists them there too).
func listedIn(arch, idx string) bool { return arch == idx || arch == "all" }

// compressed is a chunk of an index: its text and compressed forms.
type compressed struct {
	plain, gz, xz []byte
}

func compress(plain []byte) (compressed, error) {
	c := compressed{plain: plain}
	var gb bytes.Buffer
	gw, err := gzip.NewWriterLevel(&gb, gzip.BestCompression)
	if err != nil {
		return c, err
	}
	if _, err := gw.Write(plain); err != nil {
		return c, err
	}
	if err := gw.Close(); err != nil {
		return c, err
	}
	var xb bytes.Buffer
	// The dictionary need not be larger than the chunk: a writer
	// allocates for all of it, and a publication makes hundreds.
	cfg := xz.WriterConfig{DictCap: min(8<<20, max(64<<10, len(plain)))}
	xw, err := cfg.NewWriter(&xb)
	if err != nil {
		return c, err
	}
	if _, err := xw.Write(plain); err != nil {
		return c, err
	}
	if err := xw.Close(); err != nil {
		return c, err
	}
	c.gz, c.xz = gb.Bytes(), xb.Bytes()
	return c, nil
}

// Index file names in a binary-<arch> directory, and their chunk
// suffixes.
var indexNames = []struct{ name, ext, ctype string }{
	{"Packages", "", "text/plain; charset=utf-8"},
	{"Packages.gz", ".gz", "application/gzip"},
	{"Packages.xz", ".xz", "application/x-xz"},
}

func (c *compressed) part(i int) []byte {
	switch i {
	case 1:
		return c.gz
	case 2:
		return c.xz
	}
	return c.plain
}

// emptyIndex is an index without packages.
var emptyIndex = func() compressed {
	c, err := compress(nil)
	if err != nil {
		panic(err)
	}
	return c
}()
