package format_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/deb/format"
	"github.com/pkgvc/pkgvc/kinds/deb/format/debtest"
)

// dpkgDeb builds a package with dpkg-deb, compressed with comp (gzip, xz,
// zstd or none), and returns its bytes.
func dpkgDeb(t *testing.T, comp, control string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "x.deb")
	require.NoError(t, debtest.DpkgDeb(out, control, map[string]string{
		"DEBIAN/postinst":        "#!/bin/sh\nexit 0\n",
		"usr/share/doc/x/README": strings.Repeat("readme\n", 1000),
	}, "-Z"+comp))
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	return data
}

const helloControl = "Package: hello\nVersion: 1:2.10-3\nArchitecture: amd64\nMaintainer: Test <t@example.invalid>\n" +
	"Depends: libc6 (>= 2.34)\nDescription: greets\n Says hello.\n"

func TestReadDebBuiltByDpkg(t *testing.T) {
	for comp, ext := range map[string]string{"gzip": ".gz", "xz": ".xz", "zstd": ".zst", "none": ""} {
		t.Run(comp, func(t *testing.T) {
			b := dpkgDeb(t, comp, helloControl)
			d, err := format.ReadDeb(context.Background(), bytes.NewReader(b), int64(len(b)), format.Limits{})
			require.NoError(t, err)
			require.Equal(t, "control.tar"+ext, d.ControlMember)
			require.Equal(t, "data.tar"+ext, d.DataMember)
			require.Equal(t, helloControl, string(d.ControlText))
			require.Equal(t, "1:2.10-3", d.Control.Value("Version"))
			require.Equal(t, "libc6 (>= 2.34)", d.Control.Value("Depends"))
		})
	}
}

func TestReadDebRefusesBadFiles(t *testing.T) {
	good := dpkgDeb(t, "xz", helloControl)
	ms, err := format.ReadAr(bytes.NewReader(good), int64(len(good)))
	require.NoError(t, err)
	require.Len(t, ms, 3)
	str := func(s string) *string { return &s }
	spec := debtest.Spec{Package: "x", Version: "1.0", Architecture: "all"}
	withCtl := func(entries map[string]string) debtest.Spec { s := spec; s.ControlEntries = entries; return s }
	withFiles := func(files map[string]string) debtest.Spec { s := spec; s.Files = files; return s }
	withDB := func(db string) debtest.Spec { s := spec; s.DebianBinary = str(db); return s }
	ctlTar := debtest.Tar([]string{"./control"}, map[string]string{"./control": spec.ControlText()})
	dataTar := debtest.Tar([]string{"./x"}, map[string]string{"./x": "x"})
	cases := map[string]struct {
		data []byte
		want string
	}{
		"truncated at 300 bytes":    {good[:300], "truncated"},
		"truncated in a header":     {good[:100], "truncated member header"},
		"cut before data ends":      {good[:len(good)-1], "truncated"},
		"empty":                     {nil, "shorter than the ar magic"},
		"not ar":                    {[]byte("PK\x03\x04 a zip, not a deb"), "no ar magic"},
		"member size over the file": {debtest.Ar([]debtest.Member{{Name: "debian-binary", Data: []byte("2.0\n"), Size: 9999999999}}), "says 9999999999 bytes"},
		"member size not a number":  {[]byte(strings.Replace(string(good), "4         `", "-4        `", 1)), "is not a decimal number"},
		"member name with a slash": {debtest.Ar([]debtest.Member{{Name: "debian-binary", Data: []byte("2.0\n")}, {Name: "../control.tar", Data: ctlTar}}),
			"invalid member name"},
		"duplicate member": {debtest.Ar([]debtest.Member{{Name: "debian-binary", Data: []byte("2.0\n")}, {Name: "debian-binary", Data: []byte("2.0\n")}}), "given twice"},
		"wrong order": {debtest.Ar([]debtest.Member{{Name: "debian-binary", Data: []byte("2.0\n")}, {Name: "data.tar", Data: dataTar}, {Name: "control.tar", Data: ctlTar}}),
			"second member is data.tar"},
		"no data":           {debtest.Ar([]debtest.Member{{Name: "debian-binary", Data: []byte("2.0\n")}, {Name: "control.tar", Data: ctlTar}}), "2 ar members"},
		"format 3.0":        {withDB("3.0\n").Bytes(), `format version "3.0"`},
		"no control file":   {debtest.Ar([]debtest.Member{{Name: "debian-binary", Data: []byte("2.0\n")}, {Name: "control.tar", Data: dataTar}, {Name: "data.tar", Data: dataTar}}), "no ./control"},
		"control traversal": {withCtl(map[string]string{"../../etc/passwd": "x"}).Bytes(), "climbs out"},
		"control absolute":  {withCtl(map[string]string{"/etc/passwd": "x"}).Bytes(), "absolute entry name"},
		"data traversal":    {withFiles(map[string]string{"./usr/../../etc/shadow": "x"}).Bytes(), "climbs out"},
		"control.tar lies about a size": {debtest.Ar([]debtest.Member{{Name: "debian-binary", Data: []byte("2.0\n")},
			{Name: "control.tar", Data: hugeTarHeader("./md5sums", 1<<40)}, {Name: "data.tar", Data: dataTar}}), "over the limit"},
		"bad gzip":           {debtest.Ar([]debtest.Member{{Name: "debian-binary", Data: []byte("2.0\n")}, {Name: "control.tar.gz", Data: ctlTar}, {Name: "data.tar", Data: dataTar}}), "gzip"},
		"control not deb822": {func() []byte { s := spec; s.Control = str("this is not a control file\n"); return s.Bytes() }(), "line 1: line is neither a field"},
	}
	for name, c := range cases {
		_, err := format.ReadDeb(context.Background(), bytes.NewReader(c.data), int64(len(c.data)), format.Limits{})
		require.ErrorIs(t, err, format.ErrDeb, name)
		require.ErrorContains(t, err, c.want, name)
	}

	// A control file over the limit, and a control.tar that expands
	// past its limit.
	big := spec
	big.Extra = "Description: x\n" + strings.Repeat(" long line\n", 1000)
	b := big.Bytes()
	_, err = format.ReadDeb(context.Background(), bytes.NewReader(b), int64(len(b)), format.Limits{Control: 1000})
	require.ErrorIs(t, err, format.ErrTooLarge)
	bomb := withCtl(map[string]string{"./md5sums": strings.Repeat("0", 1<<20)})
	bomb.Gzip = true
	b = bomb.Bytes()
	require.Less(t, len(b), 10<<10)
	_, err = format.ReadDeb(context.Background(), bytes.NewReader(b), int64(len(b)), format.Limits{ControlTar: 64 << 10})
	require.ErrorContains(t, err, "over the limit")

	// The Go writer's own packages are valid, with "_" members dpkg skips.
	ok := spec.Bytes()
	_, err = format.ReadDeb(context.Background(), bytes.NewReader(ok), int64(len(ok)), format.Limits{})
	require.NoError(t, err)
	ok = debtest.Ar([]debtest.Member{{Name: "debian-binary", Data: []byte("2.0\n")}, {Name: "_gpgorigin", Data: []byte("sig")},
		{Name: "control.tar", Data: ctlTar}, {Name: "data.tar", Data: dataTar}})
	_, err = format.ReadDeb(context.Background(), bytes.NewReader(ok), int64(len(ok)), format.Limits{})
	require.NoError(t, err)
}

// hugeTarHeader is a tar header saying name holds size bytes, and nothing
// after it.
func hugeTarHeader(name string, size int64) []byte {
	h := make([]byte, 512)
	copy(h, name)
	copy(h[100:], "0000644\x00")
	copy(h[124:], fmt.Sprintf("%011o\x00", size))
	copy(h[136:], "00000000000\x00")
	h[156] = '0'
	copy(h[257:], "ustar\x0000")
	copy(h[148:], "        ")
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:], fmt.Sprintf("%06o\x00 ", sum))
	return h
}

func TestReadAr(t *testing.T) {
	b := debtest.Ar([]debtest.Member{{Name: "a", Data: []byte("odd")}, {Name: "b/", Data: []byte("even")}})
	ms, err := format.ReadAr(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	require.Equal(t, []format.ArMember{{Name: "a", Offset: 68, Size: 3}, {Name: "b", Offset: 132, Size: 4}}, ms, "padding to even offsets, GNU slash dropped")
	many := make([]debtest.Member, format.MaxArMembers+1)
	for i := range many {
		many[i] = debtest.Member{Name: fmt.Sprint("m", i)}
	}
	b = debtest.Ar(many)
	_, err = format.ReadAr(bytes.NewReader(b), int64(len(b)))
	require.ErrorContains(t, err, "more than")
}
