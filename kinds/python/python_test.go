package python_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/python"
	pyformat "github.com/pkgvc/pkgvc/kinds/python/format"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	"github.com/pkgvc/pkgvc/repo"
)

func inspect(path string, data []byte) (map[string]string, error) {
	return python.Kind{}.Inspect(context.Background(), path, bytes.NewReader(data), int64(len(data)))
}

func TestInspect(t *testing.T) {
	require.Equal(t, "python", python.Kind{}.Name())
	spec := pythontest.Spec{Name: "Foo.Bar", Version: "2.0.0.POST1", RequiresPython: ">=3.8"}
	name, wheel := spec.Wheel()
	meta, err := inspect("a/b/"+name, wheel)
	require.NoError(t, err)
	d, err := pyformat.ReadDist(context.Background(), bytes.NewReader(wheel), int64(len(wheel)), name, pyformat.Limits{})
	require.NoError(t, err)
	sum := d.MetadataSHA256()
	require.Equal(t, map[string]string{
		python.MetaName: "foo-bar", python.MetaVersion: "2.0.0.post1", python.MetaFilename: name,
		python.MetaPackageType: "bdist_wheel", python.MetaRequiresPython: ">=3.8",
		python.MetaMetadataSHA256: hex.EncodeToString(sum[:]), python.MetaYanked: "false",
	}, meta)

	name, sdist := pythontest.Spec{Name: "foo-bar", Version: "2.0"}.Sdist()
	meta, err = inspect(name, sdist)
	require.NoError(t, err)
	require.Equal(t, "sdist", meta[python.MetaPackageType])
	require.NotContains(t, meta, python.MetaRequiresPython)

	// The file name is the path's last segment, and it must agree.
	_, err = inspect("renamed.whl", wheel)
	require.ErrorIs(t, err, pyformat.ErrInvalid)
	_, err = inspect("x/bar-2.0.0.post1-py3-none-any.whl", wheel)
	require.ErrorIs(t, err, pyformat.ErrMismatch)
	// Metadata is a deterministic function of path and content.
	m1, _ := inspect(name, sdist)
	m2, _ := inspect(name, sdist)
	require.Equal(t, m1, m2)
}

func TestCheckPath(t *testing.T) {
	for _, p := range []string{"simple", "simple/x", "simple/a/index.html", "x.whl.metadata", "a/b.metadata"} {
		require.ErrorIs(t, python.Kind{}.CheckPath(p), repo.ErrReservedPath, p)
		_, err := inspect(p, nil)
		require.ErrorIs(t, err, repo.ErrReservedPath, p)
	}
	for _, p := range []string{"Simple/x.whl", "simplex/x.whl", "x/simple/y.whl", "a.metadata.whl"} {
		require.NoError(t, python.Kind{}.CheckPath(p), p)
	}
}
