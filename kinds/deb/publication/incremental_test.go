package publication_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/repo"
)

// diffFiles returns the paths changed (content differs), added and
// removed from a to b.
func diffFiles(a, b map[string][]byte) (changed, added, removed []string) {
	for p, d := range b {
		old, ok := a[p]
		switch {
		case !ok:
			added = append(added, p)
		case string(old) != string(d):
			changed = append(changed, p)
		}
	}
	for p := range a {
		if _, ok := b[p]; !ok {
			removed = append(removed, p)
		}
	}
	slices.Sort(changed)
	slices.Sort(added)
	slices.Sort(removed)
	return
}

func under(paths []string, dir string) (in, out []string) {
	for _, p := range paths {
		if strings.HasPrefix(p, dir) {
			in = append(in, p)
		} else {
			out = append(out, p)
		}
	}
	return
}

// TestIncremental: a one-package change is published from the previous
// publication and the diff; it rewrites the indexes listing that package
// and the Release files, nothing else; the result is what a whole build
// of the version holds; the by-hash files it replaced are still served,
// until an hour after the change.
func TestIncremental(t *testing.T) {
	e := newEnv(t)
	tmp := t.TempDir()
	keyring := e.gpgKeyring(t, tmp)
	mk := func(comp string, s debSpec) repo.Record {
		data, ctl := mkdeb(t, tmp, s)
		return e.record(t, comp, s, data, ctl)
	}
	b10 := mk("main", debSpec{name: "hello-b", version: "1.0", arch: "amd64"})
	v1 := e.commit(t, []repo.Record{
		mk("main", debSpec{name: "hello-a", version: "1.0", arch: "all", depends: "hello-b"}),
		b10,
		mk("main", debSpec{name: "zeta", version: "1.0", arch: "amd64"}),
		mk("contrib", debSpec{name: "extra", version: "0.1", arch: "amd64"}),
	})
	s := stable
	s.Components = []string{"main", "contrib"}
	pp := settings(t, s)
	pubs, log := tracked(e.st)
	p1, err := pubs.ForParams(e.ctx, "deb", v1, pp)
	require.NoError(t, err)
	f1 := files(t, e.ctx, p1)
	checkPublication(t, f1, keyring, "stable")

	// hello-b 1.0 -> 1.1: an amd64 package of main.
	e.clock.Add(10 * time.Minute)
	v2 := e.commit(t, []repo.Record{mk("main", debSpec{name: "hello-b", version: "1.1", arch: "amd64"})}, b10.Path)
	p2, err := pubs.ForParams(e.ctx, "deb", v2, pp)
	require.NoError(t, err)
	require.Equal(t, []built{{false, 0}, {true, 2}}, *log)
	f2 := files(t, e.ctx, p2)
	_, idx := checkPublication(t, f2, keyring, "stable")
	require.ElementsMatch(t, []string{"hello-a=1.0", "hello-b=1.1", "zeta=1.0"}, names(idx["main/binary-amd64/Packages"]))
	changed, added, removed := diffFiles(f1, f2)
	require.Empty(t, removed, "by-hash files of the replaced indexes must stay")
	require.Equal(t, []string{
		"dists/stable/InRelease", "dists/stable/Release", "dists/stable/Release.gpg",
		"dists/stable/main/binary-amd64/Packages", "dists/stable/main/binary-amd64/Packages.gz", "dists/stable/main/binary-amd64/Packages.xz",
	}, changed)
	in, out := under(added, "dists/stable/main/binary-amd64/by-hash/")
	require.Empty(t, out, "files added outside the changed index's by-hash")
	require.Len(t, in, 9, "three index files by three hashes")
	t.Logf("1-package change: %d files changed, %d by-hash added: %v", len(changed), len(added), changed)

	// The same version built whole under other settings (no ancestor has
	// a publication under them) lists the same stanzas, byte for byte.
	s2 := s
	s2.Origin = "whole"
	pw, err := pubs.ForParams(e.ctx, "deb", v2, settings(t, s2))
	require.NoError(t, err)
	require.Equal(t, built{false, 0}, (*log)[2])
	fw := files(t, e.ctx, pw)
	for _, p := range []string{"main/binary-amd64/Packages", "main/binary-all/Packages.gz", "main/binary-amd64/Packages.xz", "contrib/binary-amd64/Packages"} {
		require.Equal(t, string(fw["dists/stable/"+p]), string(f2["dists/stable/"+p]), p)
	}

	// Two hours on, contrib changes: the by-hash files v2 replaced expire
	// (v2 + 1h is past), the current ones and those v3 replaces stay.
	e.clock.Add(2 * time.Hour)
	v3 := e.commit(t, []repo.Record{mk("contrib", debSpec{name: "extra", version: "0.2", arch: "amd64"})})
	p3, err := pubs.ForParams(e.ctx, "deb", v3, pp)
	require.NoError(t, err)
	require.Equal(t, built{true, 1}, (*log)[3])
	f3 := files(t, e.ctx, p3)
	rel3, _ := checkPublication(t, f3, keyring, "stable")
	_, added, removed = diffFiles(f2, f3)
	rel1 := parseRelease(t, string(f1["dists/stable/Release"]))
	rel2 := parseRelease(t, string(f2["dists/stable/Release"]))
	var wantGone []string
	for _, p := range []string{"main/binary-amd64/Packages", "main/binary-amd64/Packages.gz", "main/binary-amd64/Packages.xz"} {
		for _, h := range []string{"MD5Sum", "SHA1", "SHA256"} {
			wantGone = append(wantGone, "dists/stable/main/binary-amd64/by-hash/"+h+"/"+rel1.sums[h][p].hex)
			require.Contains(t, f3, "dists/stable/main/binary-amd64/by-hash/"+h+"/"+rel2.sums[h][p].hex)
		}
	}
	slices.Sort(wantGone)
	require.Equal(t, wantGone, removed)
	in, out = under(added, "dists/stable/contrib/binary-amd64/by-hash/")
	require.Empty(t, out)
	require.Len(t, in, 9)
	for _, p := range []string{"contrib/binary-amd64/Packages", "contrib/binary-amd64/Packages.gz"} {
		for _, h := range []string{"MD5Sum", "SHA1", "SHA256"} {
			require.Contains(t, f3, "dists/stable/contrib/binary-amd64/by-hash/"+h+"/"+rel2.sums[h][p].hex, "replaced just now: kept")
		}
	}
	require.NotEqual(t, rel2.fields["Date"], rel3.fields["Date"])
}
