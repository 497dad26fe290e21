package deb_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/deb"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

func adds(t *testing.T, spec string) []repo.Add {
	t.Helper()
	as, err := repo.ParseAdd(spec)
	require.NoError(t, err)
	return as
}

func paths(t *testing.T, st *repo.Store, rev string) []string {
	t.Helper()
	recs, err := st.List(context.Background(), rev)
	require.NoError(t, err)
	var out []string
	for _, r := range recs {
		out = append(out, r.Path)
	}
	return out
}

func versions(t *testing.T, st *repo.Store) int {
	t.Helper()
	log, err := st.Log(context.Background(), "deb", 0)
	require.NoError(t, err)
	return len(log)
}

// TestCommitPlacesAndRefuses: a directory of .debs lands at pool paths;
// a truncated .deb, or the same package file with other bytes in another
// component, is refused and makes no version; the package diff says
// upgraded in dpkg order.
func TestCommitPlacesAndRefuses(t *testing.T) {
	ctx := context.Background()
	st := debStore(t)
	dir := t.TempDir()
	debs := filepath.Join(dir, "debs")
	a := mkdeb(t, debs, "hello-a", "1.0", "Depends: hello-b (>= 2.0)\n")
	mkdeb(t, debs, "hello-b", "2.0", "", "-Zgzip")
	mkdeb(t, filepath.Join(dir, "lib"), "libhello1", "1:3.0-1", "Source: libhello\n", "-Zzstd")

	_, err := st.Commit(ctx, "deb", repo.CommitRequest{Adds: adds(t, debs)})
	require.NoError(t, err)
	_, err = st.Commit(ctx, "deb", repo.CommitRequest{Adds: adds(t, filepath.Join(dir, "lib")), Options: map[string]string{deb.OptComponent: "contrib"}})
	require.NoError(t, err)
	require.Equal(t, []string{"pool/contrib/libh/libhello/libhello1_3.0-1_all.deb", "pool/main/h/hello-a/hello-a_1.0_all.deb",
		"pool/main/h/hello-b/hello-b_2.0_all.deb"}, paths(t, st, "deb"))
	rec, err := st.Stat(ctx, "deb", "pool/main/h/hello-a/hello-a_1.0_all.deb")
	require.NoError(t, err)
	require.Equal(t, "hello-a", rec.Metadata[deb.MetaPackage])
	require.Equal(t, objects.Sum(readFile(t, a)), rec.SHA256)
	n := versions(t, st)

	refused := func(what string, req repo.CommitRequest, want string) {
		t.Helper()
		_, err := st.Commit(ctx, "deb", req)
		require.Error(t, err, what)
		require.ErrorContains(t, err, want, what)
		require.Equal(t, n, versions(t, st), "%s made a version", what)
	}
	broken := filepath.Join(dir, "broken")
	require.NoError(t, os.MkdirAll(broken, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(broken, "hello-c_1.0_all.deb"), readFile(t, a)[:300], 0o644))
	refused("a truncated .deb", repo.CommitRequest{Adds: adds(t, broken)}, "truncated")

	other := mkdeb(t, filepath.Join(dir, "other"), "hello-b", "2.0", "Depends: hello-a\n")
	refused("hello-b 2.0 with other bytes in contrib", repo.CommitRequest{Adds: adds(t, other), Options: map[string]string{deb.OptComponent: "contrib"}},
		"hello-b_2.0_all")
	refused("a component that is no path segment", repo.CommitRequest{Adds: adds(t, other), Options: map[string]string{deb.OptComponent: "a/b"}},
		"invalid component")
	refused("an option the kind does not declare", repo.CommitRequest{Adds: adds(t, other), Options: map[string]string{"section": "web"}},
		`"section"`)
	refused("a file under dists/", repo.CommitRequest{Adds: []repo.Add{{Path: "dists/stable/x.deb", File: a}}}, "dists/")
	refused("a .deb at another package's pool path", repo.CommitRequest{Adds: []repo.Add{{Path: "pool/main/h/hello-x/hello-x_1.0_all.deb", File: a}}},
		"lies at pool/main/h/hello-a/hello-a_1.0_all.deb")

	// The same bytes again in another component are the same file: taken.
	_, err = st.Commit(ctx, "deb", repo.CommitRequest{Adds: adds(t, a), Options: map[string]string{deb.OptComponent: "contrib"}})
	require.NoError(t, err)

	// hello-b 2.0 -> 2.1 and libhello1 downgraded by its epoch: the
	// package diff pairs them by name and arch in dpkg order.
	upd := filepath.Join(dir, "upd")
	mkdeb(t, upd, "hello-b", "2.1", "")
	mkdeb(t, upd, "libhello1", "3.0-1~bpo1", "Source: libhello\n")
	_, err = st.Commit(ctx, "deb", repo.CommitRequest{Adds: adds(t, upd),
		Removes: []string{"pool/main/h/hello-b/hello-b_2.0_all.deb", "pool/contrib/libh/libhello/libhello1_3.0-1_all.deb"}})
	require.NoError(t, err)
	d, err := st.DiffPackages(ctx, "deb~1", "deb")
	require.NoError(t, err)
	require.Equal(t, []repo.PackageEntry{
		{Name: "hello-b", Arch: "all", Old: "2.0", New: "2.1", Change: repo.ChangeUpgraded},
		{Name: "libhello1", Arch: "all", Old: "1:3.0-1", New: "3.0-1~bpo1", Change: repo.ChangeDowngraded},
	}, d.Packages)

	// A record uploaded by digest and inspected (the REST commit) is
	// placed in the pool too.
	mkdeb(t, filepath.Join(dir, "up"), "hello-up", "1.0", "")
	b := readFile(t, filepath.Join(dir, "up", "hello-up_1.0_all.deb"))
	_, err = st.Commit(ctx, "deb", repo.CommitRequest{Adds: []repo.Add{{Path: "staging.deb", File: filepath.Join(dir, "up", "hello-up_1.0_all.deb")}}, Options: map[string]string{deb.OptComponent: "non-free"}})
	require.NoError(t, err)
	rec, err = st.Stat(ctx, "deb", "pool/non-free/h/hello-up/hello-up_1.0_all.deb")
	require.NoError(t, err)
	require.Equal(t, int64(len(b)), rec.Size)
	_, err = st.Commit(ctx, "deb", repo.CommitRequest{Records: []repo.Record{{Path: "upload.deb", SHA256: rec.SHA256, Size: rec.Size}}, InspectRecords: true,
		Options: map[string]string{deb.OptComponent: "contrib"}})
	require.NoError(t, err)
	_, err = st.Stat(ctx, "deb", "pool/contrib/h/hello-up/hello-up_1.0_all.deb")
	require.NoError(t, err)

	// Every version's records pass fsck's path checks.
	res, err := st.Fsck(ctx)
	require.NoError(t, err)
	require.Empty(t, res.Problems)
}
