package upstream

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/pkgvc/pkgvc/kinds/deb"
	"github.com/pkgvc/pkgvc/kinds/deb/format"
	"github.com/pkgvc/pkgvc/remote"
)

// Limits on one Packages index: its compressed bytes are held while
// they are verified, and the text it expands to is bounded.
const (
	maxIndex     = 512 << 20
	maxIndexText = 4 << 30
)

// indexExts are the Packages compressions read, best first.
var indexExts = []string{".xz", ".gz", ".bz2", ""}

// pickIndex returns the path (under dists/<suite>/) of the best
// Packages index of comp/arch the Release lists, "" if none.
func (r *release) pickIndex(comp, arch string) string {
	for _, ext := range indexExts {
		p := comp + "/binary-" + arch + "/Packages" + ext
		if _, ok := r.sha256[p]; ok {
			return p
		}
	}
	return ""
}

// fetchIndex downloads the index at p, checks it against the Release
// and returns its decompressed text as a stream, and what releases it.
func fetchIndex(ctx context.Context, up remote.Upstream, r *release, dists, p string) (io.Reader, func(), error) {
	want := r.sha256[p]
	if want.size > maxIndex {
		return nil, nil, fmt.Errorf("%s: %d bytes, more than the %d read", p, want.size, maxIndex)
	}
	body, err := openIndex(ctx, up, r, dists, p, want)
	if err != nil {
		if errors.Is(err, remote.ErrSizeMismatch) {
			return nil, nil, fmt.Errorf("%s: %w: %v", p, ErrIndexMismatch, err)
		}
		return nil, nil, err
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, want.size+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", p, err)
	}
	sum := sha256.Sum256(b)
	if int64(len(b)) != want.size || hex.EncodeToString(sum[:]) != want.sha256 {
		return nil, nil, fmt.Errorf("%s: %w (SHA256 %x, %d bytes; Release says %s, %d bytes)", p, ErrIndexMismatch, sum, len(b), want.sha256, want.size)
	}
	rd, release, err := format.Decompress(bytes.NewReader(b), path.Ext(p), maxIndexText)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", p, err)
	}
	return rd, release, nil
}

// openIndex opens the index at p, by its hash when the Release says the
// archive serves indexes so (Acquire-By-Hash): a by-hash file cannot
// change under a sync that started before the archive was updated.
func openIndex(ctx context.Context, up remote.Upstream, r *release, dists, p string, want fileSum) (io.ReadCloser, error) {
	if strings.EqualFold(r.p.Value("Acquire-By-Hash"), "yes") {
		body, err := up.Client.Open(ctx, dists+path.Dir(p)+"/by-hash/SHA256/"+want.sha256, want.size)
		if !notFound(err) {
			return body, err
		}
	}
	return up.Client.Open(ctx, dists+p, want.size)
}

// entry is one binary package a Packages index lists.
type entry struct {
	Package, Version, Arch, Source string
	Component                      string
	Filename                       string
	Size                           int64
	SHA256, MD5, SHA1              string
	Control                        string
	Depends, PreDepends            string
	Recommends, Provides           string
}

// PoolPath is where the entry lies in the repository.
func (e *entry) PoolPath() string {
	return deb.PoolPath(e.Component, e.Source, e.Package, e.Version, e.Arch)
}

// Description-md5 names the translated description of the upstream's
// own archive: it is not the package's, so a record does not keep it.
const descriptionMD5 = "Description-md5"

// parseEntry checks a Packages stanza of index comp/binary-arch.
func parseEntry(p format.Paragraph, comp, arch string) (*entry, error) {
	bad := func(format string, a ...any) error {
		name := p.Value("Package")
		if name == "" {
			name = fmt.Sprintf("stanza at line %d", p.Line)
		}
		return fmt.Errorf("%s: %s", name, fmt.Sprintf(format, a...))
	}
	for _, f := range []string{"Package", "Version", "Architecture", "Filename", "Size", "SHA256"} {
		if p.Value(f) == "" {
			return nil, bad("no %s field", f)
		}
	}
	// The package's own fields follow the rules a committed .deb does.
	meta, err := deb.RecordMetadata(p.Without(descriptionMD5))
	if err != nil {
		return nil, bad("%v", err)
	}
	e := &entry{
		Package: meta[deb.MetaPackage], Version: meta[deb.MetaVersion], Arch: meta[deb.MetaArchitecture], Component: comp,
		Source: cmp.Or(meta[deb.MetaSource], meta[deb.MetaPackage]), Control: meta[deb.MetaControl],
		Filename: p.Value("Filename"), SHA256: strings.ToLower(p.Value("SHA256")),
		MD5: strings.ToLower(p.Value("MD5sum")), SHA1: strings.ToLower(p.Value("SHA1")),
		Depends: p.Value("Depends"), PreDepends: p.Value("Pre-Depends"), Recommends: p.Value("Recommends"), Provides: p.Value("Provides"),
	}
	if e.Arch != arch && e.Arch != "all" {
		return nil, bad("architecture %q in the index of %s", e.Arch, arch)
	}
	size, err := strconv.ParseInt(p.Value("Size"), 10, 64)
	if err != nil || size < 0 {
		return nil, bad("bad Size %q", p.Value("Size"))
	}
	e.Size = size
	if !isHex(e.SHA256, sha256.Size) {
		return nil, bad("bad SHA256 %q", e.SHA256)
	}
	if e.MD5 != "" && !isHex(e.MD5, 16) || e.SHA1 != "" && !isHex(e.SHA1, 20) {
		return nil, bad("bad MD5sum or SHA1")
	}
	if !safeFilename(e.Filename) {
		return nil, bad("unsafe Filename %q", e.Filename)
	}
	return e, nil
}

// isHex reports whether s is the hex of n bytes.
func isHex(s string, n int) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == n
}

// safeFilename reports whether f is a relative path inside the archive.
func safeFilename(f string) bool {
	return f != "" && !strings.HasPrefix(f, "/") && path.Clean(f) == f && f != ".." && !strings.HasPrefix(f, "../") &&
		!strings.ContainsAny(f, "\\\x00\r\n\t ?#")
}

// metadata is the record metadata of the entry (see package deb).
func (e *entry) metadata() map[string]string {
	m := map[string]string{
		deb.MetaControl: e.Control, deb.MetaPackage: e.Package, deb.MetaVersion: e.Version, deb.MetaArchitecture: e.Arch,
	}
	if e.Source != e.Package {
		m[deb.MetaSource] = e.Source
	}
	if e.MD5 != "" {
		m[deb.MetaMD5] = e.MD5
	}
	if e.SHA1 != "" {
		m[deb.MetaSHA1] = e.SHA1
	}
	return m
}
