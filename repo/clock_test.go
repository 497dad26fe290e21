package repo_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/repo"
)

func TestGCKeepsReflogAfterPrune(t *testing.T) {
	for _, tc := range []struct {
		name    string
		advance time.Duration // how far the store clock runs ahead of the ref backend's
	}{
		{"same clock", 0},
		{"store clock ahead", 2 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newMemEnv(t)
			e.clock.Advance(tc.advance)
			e.create("other", repo.CreateOptions{})
			e.commit("other", map[string]string{"o.txt": "other"})
			retainedDev(t, e, nil) // dev prunes at its 4th, 5th and 6th versions
			old := e.resolve("dev")
			oldBlob := e.blob("dev", "pkg.txt")

			_, err := e.s.Promote(e.ctx, []repo.Pair{{Src: "other", Dst: "dev"}}, repo.PromoteOptions{Force: true})
			require.NoError(t, err)
			_, err = e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
			require.NoError(t, err)
			require.True(t, e.hasBlob(oldBlob), "the reset head, kept only by the reflog, was collected")
			require.Equal(t, old.ID, e.resolve("dev@{1}").ID)
			require.Equal(t, "content 6", e.cat("dev@{1}", "pkg.txt"))
			e.fsckClean()
		})
	}
}
