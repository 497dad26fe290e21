package main

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestExperimentAgedReuse(t *testing.T) {
	bad := 0
	for run := 0; run < 10; run++ {
		h := newHarness(t)
		h.ok("repo", "create", "old")
		rng := rand.New(rand.NewPCG(uint64(run), 3))
		set := writeSet(t, rng, filepath.Join(h.work, "X"), "X", 2000, 0)
		h.ok("commit", "old", set.dir)
		h.ok("repo", "delete", "old")
		h.ok("repo", "create", "new")
		h.ok("commit", "new", "--allow-empty")
		old := time.Now().Add(-2 * time.Hour)
		for _, d := range []string{"objects", "blobs"} {
			filepath.WalkDir(filepath.Join(h.store, "data", d), func(p string, e fs.DirEntry, err error) error {
				if err == nil && !e.IsDir() {
					require.NoError(t, os.Chtimes(p, old, old))
				}
				return nil
			})
		}
		gate := filepath.Join(t.TempDir(), "gate")
		c := startProc(t, h.store, gate, "commit", "new", set.dir)
		var gcs []*proc
		for i := 0; i < 1; i++ {
			gcs = append(gcs, startProc(t, h.store, gate, "gc"))
		}
		time.Sleep(20 * time.Millisecond)
		os.WriteFile(gate, nil, 0o644)
		rc := c.wait(t)
		for _, g := range gcs {
			r := g.wait(t)
			t.Logf("gc: %s", r.stdout)
		}
		f := h.run("fsck")
		t.Logf("run %d: commit %d, fsck %d %s", run, rc.code, f.code, lastLine(f.stderr))
		if f.code != 0 {
			bad++
		}
	}
	t.Logf("bad %d", bad)
}
