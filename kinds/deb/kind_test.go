package deb_test

import (
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/deb"
	"github.com/pkgvc/pkgvc/kinds/deb/format/debtest"
	"github.com/pkgvc/pkgvc/repo"
)

func TestInspectDpkgDebBuilt(t *testing.T) {
	dir := t.TempDir()
	for _, comp := range []string{"gzip", "xz", "zstd"} {
		t.Run(comp, func(t *testing.T) {
			p := mkdeb(t, filepath.Join(dir, comp), "hello-a", "1:1.0-2", "Source: hello (1.0-2)\nDepends: hello-b (>= 2.0)\n", "-Z"+comp)
			b := readFile(t, p)
			meta, err := inspect(t, "hello-a_1.0-2_all.deb", b)
			require.NoError(t, err)
			m5, s1 := md5.Sum(b), sha1.Sum(b)
			require.Equal(t, map[string]string{
				deb.MetaPackage: "hello-a", deb.MetaVersion: "1:1.0-2", deb.MetaArchitecture: "all", deb.MetaSource: "hello",
				deb.MetaMD5: hex.EncodeToString(m5[:]), deb.MetaSHA1: hex.EncodeToString(s1[:]),
				deb.MetaControl: "Package: hello-a\nVersion: 1:1.0-2\nArchitecture: all\nMaintainer: pkgvc test <test@example.invalid>\n" +
					"Source: hello (1.0-2)\nDepends: hello-b (>= 2.0)\nDescription: pkgvc test package hello-a\n Built by the deb kind's tests.",
			}, meta)

			// At its pool path it is taken as it is; at another pool path
			// it is refused.
			_, err = inspect(t, "pool/contrib/h/hello/hello-a_1.0-2_all.deb", b)
			require.NoError(t, err)
			_, err = inspect(t, "pool/main/h/hello-a/hello-a_1.0-2_all.deb", b)
			require.ErrorContains(t, err, "lies at pool/main/h/hello/hello-a_1.0-2_all.deb")
			_, err = inspect(t, "pool/main/h/hello/hello-b_1.0-2_all.deb", b)
			require.ErrorContains(t, err, "lies at pool/main/h/hello/hello-a_1.0-2_all.deb", "never trust the file name")
		})
	}
}

func TestInspectRefusesBadPackages(t *testing.T) {
	good := readFile(t, mkdeb(t, t.TempDir(), "hello-a", "1.0", ""))
	ctl := func(c string) []byte { return debtest.Spec{Control: &c}.Bytes() }
	cases := map[string]struct {
		data []byte
		want string
	}{
		"truncated":         {good[:300], "truncated"},
		"empty":             {nil, "shorter than the ar magic"},
		"no Package":        {ctl("Version: 1.0\nArchitecture: all\n"), "no Package field"},
		"no Version":        {ctl("Package: a1\nArchitecture: all\n"), "package a1: control file has no Version field"},
		"no Architecture":   {ctl("Package: a1\nVersion: 1.0\n"), "no Architecture field"},
		"bad name":          {ctl("Package: A_1\nVersion: 1.0\nArchitecture: all\n"), `invalid package name "A_1"`},
		"bad version":       {ctl("Package: a1\nVersion: v1.0\nArchitecture: all\n"), "does not start with a digit"},
		"arch any":          {ctl("Package: a1\nVersion: 1.0\nArchitecture: any\n"), `invalid architecture "any"`},
		"bad source":        {ctl("Package: a1\nVersion: 1.0\nArchitecture: all\nSource: x y z\n"), "invalid Source"},
		"control traversal": {debtest.Spec{Package: "a1", Version: "1", Architecture: "all", ControlEntries: map[string]string{"../x": "x"}}.Bytes(), "climbs out"},
		"data traversal":    {debtest.Spec{Package: "a1", Version: "1", Architecture: "all", Files: map[string]string{"../../etc/cron.d/x": "x"}}.Bytes(), "climbs out"},
		"huge member":       {debtest.Ar([]debtest.Member{{Name: "debian-binary", Data: []byte("2.0\n")}, {Name: "control.tar", Size: 9999999999}}), "says 9999999999 bytes"},
		"second paragraph":  {ctl("Package: a1\nVersion: 1.0\nArchitecture: all\n\nPackage: b1\n"), "second paragraph"},
		"duplicate field":   {ctl("Package: a1\nVersion: 1.0\nversion: 2.0\nArchitecture: all\n"), "line 3: field version given twice"},
	}
	for name, c := range cases {
		_, err := inspect(t, "x.deb", c.data)
		require.ErrorContains(t, err, c.want, name)
	}
}

func TestCheckPath(t *testing.T) {
	k := deb.Kind{}
	for _, ok := range []string{"hello-a_1.0_all.deb", "sub/x.deb", "pool/main/h/hello/hello-a_1.0-2_all.deb",
		"pool/non-free-firmware/libf/libfoo/libfoo1_2.0~rc1+dfsg-1_amd64.deb", "pool/main/l/lib/lib_1_all.deb"} {
		require.NoError(t, k.CheckPath(ok), ok)
	}
	for p, want := range map[string]string{
		"dists/stable/Release":                    "publication writes its indexes",
		"dists/x.deb":                             "publication writes its indexes",
		"README":                                  ".deb files only",
		"pool/main/hello_1.0_all.deb":             "COMPONENT/PREFIX/SOURCE",
		"pool/main/x/hello/hello_1.0_all.deb":     "lies under h, not x",
		"pool/Main/h/hello/hello_1.0_all.deb":     `invalid component "Main"`,
		"pool/main/h/hello/hello_1.0.deb":         "PACKAGE_VERSION_ARCH",
		"pool/main/h/hello/hello_v1_all.deb":      "does not start with a digit",
		"pool/main/h/hello/hello_1.0_any.deb":     `invalid architecture "any"`,
		"pool/main/h/hello/Hello_1.0_all.deb":     `invalid package name "Hello"`,
		"pool/main/h/hello/x/hello_1.0_all.deb":   "COMPONENT/PREFIX/SOURCE",
		"pool/main/lib/libfoo/libfoo_1.0_all.deb": "lies under libf, not lib",
	} {
		err := k.CheckPath(p)
		require.ErrorIs(t, err, repo.ErrInvalid, p)
		require.ErrorContains(t, err, want, p)
	}
}

func TestPlace(t *testing.T) {
	k := deb.Kind{}
	meta := map[string]string{deb.MetaPackage: "libfoo1", deb.MetaVersion: "2:1.0-1", deb.MetaArchitecture: "amd64", deb.MetaSource: "libfoo"}
	p, err := k.Place("libfoo1_1.0-1_amd64.deb", meta, nil)
	require.NoError(t, err)
	require.Equal(t, "pool/main/libf/libfoo/libfoo1_1.0-1_amd64.deb", p, "epoch dropped, source's prefix")
	p, err = k.Place("any/name.deb", meta, map[string]string{deb.OptComponent: "contrib"})
	require.NoError(t, err)
	require.Equal(t, "pool/contrib/libf/libfoo/libfoo1_1.0-1_amd64.deb", p)
	p, err = k.Place("pool/contrib/libf/libfoo/libfoo1_1.0-1_amd64.deb", meta, nil)
	require.NoError(t, err)
	require.Equal(t, "pool/contrib/libf/libfoo/libfoo1_1.0-1_amd64.deb", p, "already in place")
	_, err = k.Place("pool/contrib/libf/libfoo/libfoo1_1.0-1_amd64.deb", meta, map[string]string{deb.OptComponent: "main"})
	require.ErrorContains(t, err, "lies in component contrib, the commit asks for main")
	_, err = k.Place("x.deb", meta, map[string]string{deb.OptComponent: "../main"})
	require.ErrorContains(t, err, "invalid component")
	_, err = k.Place("x.deb", map[string]string{deb.MetaPackage: "a"}, nil)
	require.Error(t, err)
	require.Equal(t, []repo.CommitOption{{Name: "component", Usage: k.CommitOptions()[0].Usage}}, k.CommitOptions())
	require.True(t, strings.Contains(k.CommitOptions()[0].Usage, "default main"))
}

func TestPackagesAndKeys(t *testing.T) {
	k := deb.Kind{}
	rec := repo.Record{Path: "pool/main/h/hello/hello_1.0-1_amd64.deb", Metadata: map[string]string{deb.MetaPackage: "hello", deb.MetaVersion: "1:1.0-1", deb.MetaArchitecture: "amd64"}}
	name, arch, ver, ok := k.PackageArch(rec)
	require.True(t, ok)
	require.Equal(t, []string{"hello", "amd64", "1:1.0-1"}, []string{name, arch, ver})
	name, ver, ok = k.Package(rec)
	require.True(t, ok)
	require.Equal(t, []string{"hello", "1:1.0-1"}, []string{name, ver})
	key, ok := k.FileKey(rec)
	require.True(t, ok)
	require.Equal(t, "hello_1.0-1_amd64", key)
	// Without metadata, the pool file name says it (without the epoch).
	rec.Metadata = nil
	key2, ok := k.FileKey(rec)
	require.True(t, ok)
	require.Equal(t, key, key2)
	_, _, ok = k.Package(repo.Record{Path: "x.deb"})
	require.False(t, ok)

	require.Equal(t, -1, k.CompareVersions("1.0~rc1", "1.0"))
	require.Equal(t, 1, k.CompareVersions("1:0.1", "2.0"))
}
