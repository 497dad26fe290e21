package deb_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/deb"
	"github.com/pkgvc/pkgvc/kinds/deb/format/debtest"
	metamem "github.com/pkgvc/pkgvc/meta/mem"
	"github.com/pkgvc/pkgvc/objects"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
)

// debStore is an in-memory store holding an empty deb repository "deb".
func debStore(t *testing.T) *repo.Store {
	t.Helper()
	st := repo.New(objects.New(objectsmem.New()), refsmem.New(), repo.NewKinds(deb.Kind{}), repo.WithMeta(metamem.New()))
	_, err := st.CreateRepo(context.Background(), "deb", repo.CreateOptions{Kind: "deb"})
	require.NoError(t, err)
	return st
}

// mkdeb builds NAME_VERSION_all.deb in out with dpkg-deb (opts such as
// -Zgzip), as the acceptance check does, and returns its path. extra is
// added to the control file.
func mkdeb(t *testing.T, out, name, version, extra string, opts ...string) string {
	t.Helper()
	return mkdebArch(t, out, name, version, "all", extra, opts...)
}

func mkdebArch(t *testing.T, out, name, version, arch, extra string, opts ...string) string {
	t.Helper()
	control := "Package: " + name + "\nVersion: " + version + "\nArchitecture: " + arch +
		"\nMaintainer: pkgvc test <test@example.invalid>\n" + extra + "Description: pkgvc test package " + name + "\n Built by the deb kind's tests.\n"
	v := version
	if _, after, ok := strings.Cut(v, ":"); ok {
		v = after
	}
	p := filepath.Join(out, name+"_"+v+"_"+arch+".deb")
	require.NoError(t, debtest.DpkgDeb(p, control, map[string]string{"usr/share/doc/" + name + "/README": name + " " + version + "\n"}, opts...))
	return p
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}

func inspect(t *testing.T, p string, b []byte) (map[string]string, error) {
	t.Helper()
	return deb.Kind{}.Inspect(context.Background(), p, bytes.NewReader(b), int64(len(b)))
}
