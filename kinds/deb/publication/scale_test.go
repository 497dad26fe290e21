package publication_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/deb"
	"github.com/pkgvc/pkgvc/repo"
)

// synthetic returns n package records of component main (a third
// Architecture: all), their blobs stored: what a publication reads of a
// large repository, without building n .debs.
func (e *env) synthetic(t testing.TB, n int, gen string) []repo.Record {
	t.Helper()
	b := e.st.Objects().NewBatch()
	recs := make([]repo.Record, n)
	for i := range n {
		name := fmt.Sprintf("pkg%05d", i)
		arch := "amd64"
		if i%3 == 0 {
			arch = "all"
		}
		ver := "1.0-" + gen
		data := []byte(name + " " + ver + " " + arch)
		res, err := b.PutBlob(e.ctx, bytes.NewReader(data))
		require.NoError(t, err)
		ctl := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: pkgvc test <test@example.invalid>\nInstalled-Size: %d\nDepends: libc6 (>= 2.36), pkg%05d\nSection: misc\nPriority: optional\nDescription: synthetic package %d\n A package of the scale test, with a description\n long enough to look like Debian's.",
			name, ver, arch, 100+i, (i+1)%n, i)
		recs[i] = repo.Record{Path: deb.PoolPath("main", name, name, ver, arch), SHA256: res.ID, Size: res.Size, Metadata: map[string]string{
			deb.MetaControl: ctl, deb.MetaPackage: name, deb.MetaVersion: ver, deb.MetaArchitecture: arch,
			deb.MetaMD5: "0123456789abcdef0123456789abcdef", deb.MetaSHA1: "0123456789abcdef0123456789abcdef01234567",
		}}
	}
	require.NoError(t, b.Flush(e.ctx))
	return recs
}

// TestIncrementalCost: the publication of a one-package change costs far
// less than the first one, at 1 000 and at 10 000 packages, and about
// the same at both sizes (it rewrites the touched indexes' chunks it
// touches and copies the rest).
func TestIncrementalCost(t *testing.T) {
	incr := map[int]time.Duration{}
	for _, n := range []int{1000, 10000} {
		e := newEnv(t)
		recs := e.synthetic(t, n, "1")
		v1 := e.commit(t, recs)
		pubs, log := tracked(e.st)
		pp := settings(t, stable)
		t0 := time.Now()
		p1, err := pubs.ForParams(context.Background(), "deb", v1, pp)
		require.NoError(t, err)
		first := time.Since(t0)
		one := e.synthetic(t, 2, "2")[1] // pkg00001, amd64
		v2 := e.commit(t, []repo.Record{one}, recs[1].Path)
		t0 = time.Now()
		p2, err := pubs.ForParams(context.Background(), "deb", v2, pp)
		require.NoError(t, err)
		incr[n] = time.Since(t0)
		pubs.Wait()
		require.Equal(t, []built{{false, 0}, {true, 2}}, *log)
		t.Logf("%d packages: first publication %v, one-package change %v (%.0f×)", n, first, incr[n], float64(first)/float64(incr[n]))
		require.Less(t, incr[n]*5, first, "a one-package change must cost far less than the first publication")
		// The amd64 index changed, the all index did not.
		a1, _, err := p1.ReadFile(e.ctx, "dists/stable/main/binary-all/Packages.xz")
		require.NoError(t, err)
		a2, _, err := p2.ReadFile(e.ctx, "dists/stable/main/binary-all/Packages.xz")
		require.NoError(t, err)
		require.Equal(t, a1, a2)
		x2, _, err := p2.ReadFile(e.ctx, "dists/stable/main/binary-amd64/Packages.xz")
		require.NoError(t, err)
		require.Contains(t, string(unxz(t, x2)), "Package: pkg00001\nVersion: 1.0-2\n")
		require.NotContains(t, string(unxz(t, x2)), "Package: pkg00001\nVersion: 1.0-1\n")
	}
}
