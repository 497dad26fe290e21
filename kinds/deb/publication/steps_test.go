package publication_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/deb"
	"github.com/pkgvc/pkgvc/repo"
)

// gen makes a record of package name in comp, of arch, at version ver.
func (e *env) gen(t *testing.T, comp, name, ver, arch string) repo.Record {
	t.Helper()
	b := e.st.Objects().NewBatch()
	data := []byte(comp + " " + name + " " + ver + " " + arch)
	res, err := b.PutBlob(e.ctx, bytes.NewReader(data))
	require.NoError(t, err)
	require.NoError(t, b.Flush(e.ctx))
	ctl := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s\nDepends:\nDescription: step package\n line two\n .\n line four", name, ver, arch)
	return repo.Record{Path: deb.PoolPath(comp, name, name, ver, arch), SHA256: res.ID, Size: res.Size, Metadata: map[string]string{
		deb.MetaControl: ctl, deb.MetaPackage: name, deb.MetaVersion: ver, deb.MetaArchitecture: arch,
	}}
}

// TestIncrementalSteps: a series of changes over two components and
// three architectures (adds, removals, updates, an index emptied and
// filled again) is published step by step from the previous
// publication; after each step every index (plain, .gz, .xz) is byte for
// byte that of a whole build of the same version, and checks out
// against the Release (xz -dc, gzip).
func TestIncrementalSteps(t *testing.T) {
	e := newEnv(t)
	keyring := e.gpgKeyring(t, t.TempDir())
	rnd := rand.New(rand.NewPCG(1, 2))
	s := stable
	s.Components = []string{"main", "contrib"}
	s.Architectures = []string{"amd64", "i386", "all"}
	pp := settings(t, s)
	pubs, log := tracked(e.st)
	live := map[string]repo.Record{}
	archs := []string{"amd64", "i386", "all"}
	for step := range 8 {
		var adds []repo.Record
		var removes []string
		for p := range live {
			if rnd.IntN(4) == 0 || step == 4 && strings.HasSuffix(p, "_i386.deb") {
				removes = append(removes, p)
				delete(live, p)
			}
		}
		for range 40 + rnd.IntN(40) {
			comp := []string{"main", "contrib"}[rnd.IntN(2)]
			arch := archs[rnd.IntN(3)]
			if step == 4 && arch == "i386" {
				continue
			}
			r := e.gen(t, comp, fmt.Sprintf("%c%03d", comp[0], rnd.IntN(400)), fmt.Sprintf("1.%d", step), arch)
			if _, ok := live[r.Path]; ok {
				continue
			}
			live[r.Path] = r
			adds = append(adds, r)
		}
		e.clock.Add(time.Minute)
		v := e.commit(t, adds, removes...)
		pub, err := pubs.ForParams(e.ctx, "deb", v, pp)
		require.NoError(t, err)
		if step > 0 {
			require.True(t, (*log)[len(*log)-1].incremental, "step %d", step)
		}
		got := files(t, e.ctx, pub)
		_, idx := checkPublication(t, got, keyring, "stable")
		whole := s
		whole.Origin = fmt.Sprintf("whole%d", step)
		wp, err := pubs.ForParams(e.ctx, "deb", v, settings(t, whole))
		require.NoError(t, err)
		require.False(t, (*log)[len(*log)-1].incremental)
		want := files(t, e.ctx, wp)
		n := 0
		for p, data := range want {
			if strings.Contains(p, "/binary-") && !strings.Contains(p, "/by-hash/") {
				require.Equal(t, string(data), string(got[p]), "step %d: %s", step, p)
				n++
			}
		}
		require.Equal(t, 2*3*3, n)
		count := 0
		for _, c := range s.Components {
			for _, a := range []string{"amd64", "i386"} {
				count += len(idx[c+"/binary-"+a+"/Packages"])
			}
		}
		wantCount := 0
		for p := range live {
			if strings.HasSuffix(p, "_all.deb") {
				wantCount += 2
			} else {
				wantCount++
			}
		}
		require.Equal(t, wantCount, count, "step %d", step)
	}
}
