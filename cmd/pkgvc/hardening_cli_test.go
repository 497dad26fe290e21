package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// commit --add DIR refuses a symbolic link to a file outside DIR, naming the
// link and its target, unless --follow-symlinks.
func TestCommitRefusesSymlinkLeavingDir(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "ln")
	dir := h.dir("d", "fine.txt", "ok\n")
	secret := h.file("outside.txt", []byte("secret\n"))
	link := filepath.Join(dir, "leak.txt")
	require.NoError(t, os.Symlink(secret, link))

	r := h.run("commit", "ln", "--add", dir)
	require.Equal(t, 1, r.code, r)
	require.Contains(t, r.stderr, link)
	require.Contains(t, r.stderr, secret)
	require.Equal(t, 1, h.run("ls", "ln").code, "no version was made")

	h.commit("ln", "--add", dir, "--follow-symlinks")
	require.Equal(t, []string{"fine.txt", "leak.txt"}, []string{h.ls("ln")[0].Path, h.ls("ln")[1].Path})
}
