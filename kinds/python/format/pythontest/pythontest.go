// Package pythontest builds Python package files for tests: installable
// wheels like /work/shared/acceptance/mkwheel.py writes, sdists, and raw
// zip and tar.gz archives to break in every way.
package pythontest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// Spec describes a distribution. MetaName and MetaVersion, when set, are
// what its metadata claims instead of Name and Version.
type Spec struct {
	Name, Version         string
	MetaName, MetaVersion string
	RequiresPython        string
	Requires              []string
	// Store writes the wheel's entries uncompressed (zip.Store).
	Store bool
	// Extra entries go into the wheel after the module.
	Extra []File
}

func (s Spec) metaName() string {
	if s.MetaName != "" {
		return s.MetaName
	}
	return s.Name
}

func (s Spec) metaVersion() string {
	if s.MetaVersion != "" {
		return s.MetaVersion
	}
	return s.Version
}

// escaped is the name as wheel and sdist file names spell it.
func (s Spec) escaped() string { return strings.ReplaceAll(s.Name, "-", "_") }

// Module is the importable module of the wheel: the name with '_'.
func (s Spec) Module() string { return strings.NewReplacer("-", "_", ".", "_").Replace(s.Name) }

// WheelName is {name}-{version}-py3-none-any.whl.
func (s Spec) WheelName() string {
	return fmt.Sprintf("%s-%s-py3-none-any.whl", s.escaped(), s.Version)
}

// SdistName is {name}-{version}.tar.gz.
func (s Spec) SdistName() string { return fmt.Sprintf("%s-%s.tar.gz", s.escaped(), s.Version) }

// Metadata is the METADATA (or PKG-INFO) file.
func (s Spec) Metadata() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Metadata-Version: 2.1\nName: %s\nVersion: %s\n", s.metaName(), s.metaVersion())
	if s.RequiresPython != "" {
		fmt.Fprintf(&b, "Requires-Python: %s\n", s.RequiresPython)
	}
	for _, r := range s.Requires {
		fmt.Fprintf(&b, "Requires-Dist: %s\n", r)
	}
	b.WriteString("\n")
	return []byte(b.String())
}

// Wheel returns the wheel's file name and content: a module whose VERSION
// is the version, METADATA, WHEEL and RECORD, installable by pip.
func (s Spec) Wheel() (string, []byte) {
	di := fmt.Sprintf("%s-%s.dist-info", s.escaped(), s.Version)
	files := append([]File{{Name: s.Module() + "/__init__.py", Body: fmt.Appendf(nil, "VERSION = %q\n", s.Version)}}, s.Extra...)
	files = append(files,
		File{Name: di + "/METADATA", Body: s.Metadata()},
		File{Name: di + "/WHEEL", Body: []byte("Wheel-Version: 1.0\nGenerator: pythontest\nRoot-Is-Purelib: true\nTag: py3-none-any\n")},
	)
	var record strings.Builder
	for _, f := range files {
		sum := sha256.Sum256(f.Body)
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f.Name, base64.RawURLEncoding.EncodeToString(sum[:]), len(f.Body))
	}
	fmt.Fprintf(&record, "%s/RECORD,,\n", di)
	files = append(files, File{Name: di + "/RECORD", Body: []byte(record.String())})
	if s.Store {
		for i := range files {
			files[i].Store = true
		}
	}
	return s.WheelName(), Zip(files...)
}

// Sdist returns the sdist's file name and content: {name}-{version}/
// holding PKG-INFO and setup.py.
func (s Spec) Sdist() (string, []byte) {
	top := fmt.Sprintf("%s-%s", s.escaped(), s.Version)
	return s.SdistName(), TarGz(
		File{Name: top + "/", Type: tar.TypeDir},
		File{Name: top + "/PKG-INFO", Body: s.Metadata()},
		File{Name: top + "/setup.py", Body: []byte("from setuptools import setup\nsetup()\n")},
	)
}

// File is an archive entry. Type (tar only) defaults to a regular file;
// Link is a link's target; Store (zip only) leaves the body uncompressed.
type File struct {
	Name  string
	Body  []byte
	Type  byte
	Link  string
	Store bool
}

// Zip returns a zip archive of files, in order.
func Zip(files ...File) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range files {
		method := zip.Deflate
		if f.Store {
			method = zip.Store
		}
		fw, err := w.CreateHeader(&zip.FileHeader{Name: f.Name, Method: method})
		if err != nil {
			panic(err)
		}
		if _, err := fw.Write(f.Body); err != nil {
			panic(err)
		}
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// TarGz returns a gzipped tar archive of files, in order.
func TarGz(files ...File) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		typ := f.Type
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: f.Name, Typeflag: typ, Linkname: f.Link, Mode: 0o644, Format: tar.FormatPAX}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(f.Body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			panic(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write(f.Body); err != nil {
				panic(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	if err := gz.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}
