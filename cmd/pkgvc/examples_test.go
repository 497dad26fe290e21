package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestExamples runs every examples/*.sh twice on one fresh store: an
// example must work as documented, and again on the store its first run
// left. pkgvc is this test binary, re-executed as main (see TestMain).
func TestExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the examples")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	scripts, err := filepath.Glob(filepath.Join(root, "examples", "*.sh"))
	require.NoError(t, err)
	require.NotEmpty(t, scripts)
	self, err := os.Executable()
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), "pkgvc")
	require.NoError(t, os.WriteFile(bin, []byte("#!/bin/sh\n"+reexecEnv+"=1 exec '"+self+"' \"$@\"\n"), 0o755))
	for _, s := range scripts {
		t.Run(filepath.Base(s), func(t *testing.T) {
			store := filepath.Join(t.TempDir(), "store")
			for run := 1; run <= 2; run++ {
				cmd := exec.Command(bash, s)
				cmd.Dir = root
				cmd.Env = append(os.Environ(), "PKGVC_STORE="+store, "PKGVC_BIN="+bin)
				out, err := cmd.CombinedOutput()
				require.NoError(t, err, "run %d of %s:\n%s", run, s, out)
			}
		})
	}
}
