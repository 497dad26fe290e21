package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSyncFromAnotherPkgvc: a file distribution publishes PULP_MANIFEST, so
// a second pkgvc syncs from the first one's serve like from any upstream,
// and gets the same bytes; a second sync changes nothing.
func TestSyncFromAnotherPkgvc(t *testing.T) {
	up := newHarness(t)
	up.ok("repo", "create", "r")
	big := randBytes(t, 150000)
	up.commit("r", "--add", up.file("src/sub/b.bin", big)+"=sub/b.bin", "--add", up.file("src/a.txt", []byte("a\n"))+"=a.txt")
	up.ok("dist", "create", "d", "--base-path", "up/d", "--repo", "r")
	base, _ := startServe(t, up)

	down := newHarness(t)
	down.ok("repo", "create", "m")
	down.ok("remote", "create", "a", "--kind", "file", "--url", base+"/content/up/d/PULP_MANIFEST")
	down.ok("sync", "a", "m")
	require.Equal(t, up.lsMap("r"), down.lsMap("m"), "the mirror holds the same packages")
	require.Equal(t, big, []byte(down.ok("cat", "m", "sub/b.bin")))

	n := len(down.log("m"))
	down.ok("sync", "a", "m")
	require.Len(t, down.log("m"), n, "a sync with nothing new makes no version")

	// A new upstream version is picked up by the next sync.
	up.commit("r", "--add", up.file("src/c.txt", []byte("c\n"))+"=c.txt")
	down.ok("sync", "a", "m")
	require.Equal(t, up.lsMap("r"), down.lsMap("m"))
	down.ok("fsck")
}
