package python_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/python"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	"github.com/pkgvc/pkgvc/repo"
)

func TestCompareVersions(t *testing.T) {
	var cmp repo.VersionComparer = python.Kind{}
	require.Equal(t, 1, cmp.CompareVersions("1.10", "1.9"), "release segments are numbers, not strings")
	require.Equal(t, -1, cmp.CompareVersions("1.0rc1", "1.0"), "a pre-release comes before its release")
	require.Equal(t, -1, cmp.CompareVersions("1.0", "1.0.post1"))
	require.Equal(t, 0, cmp.CompareVersions("1.0", "1.0.0"))
}

// TestDiffPackagesPEP440: a python repository's package diff pairs a
// project's release replaced by another and orders them as PEP 440 does.
func TestDiffPackagesPEP440(t *testing.T) {
	ctx := context.Background()
	st := pyStore(t)
	dir := t.TempDir()
	wheel := func(name, version string) repo.Add {
		return wheelAdd(t, dir, pythontest.Spec{Name: name, Version: version})
	}
	_, err := st.Commit(ctx, "py", repo.CommitRequest{Adds: []repo.Add{wheel("minor", "1.9"), wheel("pre", "1.0rc1"), wheel("back", "2.0")}})
	require.NoError(t, err)
	_, err = st.Commit(ctx, "py", repo.CommitRequest{
		Adds:    []repo.Add{wheel("minor", "1.10"), wheel("pre", "1.0"), wheel("back", "1.5")},
		Removes: []string{"minor-1.9-py3-none-any.whl", "pre-1.0rc1-py3-none-any.whl", "back-2.0-py3-none-any.whl"},
	})
	require.NoError(t, err)
	d, err := st.DiffPackages(ctx, "py~1", "py")
	require.NoError(t, err)
	require.Equal(t, []repo.PackageEntry{
		{Name: "back", Old: "2.0", New: "1.5", Change: repo.ChangeDowngraded},
		{Name: "minor", Old: "1.9", New: "1.10", Change: repo.ChangeUpgraded},
		{Name: "pre", Old: "1.0rc1", New: "1.0", Change: repo.ChangeUpgraded},
	}, d.Packages)

	// A release added beside a kept one pairs nothing: it is added.
	_, err = st.Commit(ctx, "py", repo.CommitRequest{Adds: []repo.Add{wheel("minor", "1.11")}})
	require.NoError(t, err)
	d, err = st.DiffPackages(ctx, "py~1", "py")
	require.NoError(t, err)
	require.Equal(t, []repo.PackageEntry{{Name: "minor", New: "1.11", Change: repo.ChangeAdded}}, d.Packages)
}
