package dist_test

import (
	"context"
	"strings"
	"testing"
	"time"

	metamem "github.com/pkgvc/pkgvc/meta/mem"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/objects"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	"github.com/pkgvc/pkgvc/objects/objectstest"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
)

// A distribution pinned, while gc sweeps, to a version nothing reached at
// gc's mark keeps it.
func TestGCKeepsVersionPinnedDuringSweep(t *testing.T) {
	ctx := context.Background()
	be := &objectstest.SweepHook{Backend: objectsmem.New()}
	st := repo.New(objects.New(be), refsmem.New(), all.Kinds(), repo.WithMeta(metamem.New()))
	_, err := st.CreateRepo(ctx, "old", repo.CreateOptions{})
	require.NoError(t, err)
	b := st.Objects().NewBatch()
	blob, err := b.PutBlob(ctx, strings.NewReader("content"))
	require.NoError(t, err)
	require.NoError(t, b.Flush(ctx))
	res, err := st.Commit(ctx, "old", repo.CommitRequest{Records: []repo.Record{{Path: "a.txt", SHA256: blob.ID, Size: blob.Size}}})
	require.NoError(t, err)
	dists := dist.NewDists(st)
	require.NoError(t, dists.DeleteRepo(ctx, "old", false))
	time.Sleep(5 * time.Millisecond) // older than gc's epoch
	created := error(nil)
	h := func() { _, created = dists.Create(ctx, "d", dist.DistSpec{BasePath: "d", Version: res.ID.String()}) }
	be.Arm(h)
	_, err = st.GC(ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	require.False(t, be.Armed(), "the distribution was made during the sweep")
	require.NoError(t, created)
	d, err := dists.Get(ctx, "d")
	require.NoError(t, err)
	v, err := dists.Resolve(ctx, d)
	require.NoError(t, err, "gc deleted the version distribution d pins")
	_, err = st.List(ctx, v.ID.String())
	require.NoError(t, err)
	fr, err := st.Fsck(ctx)
	require.NoError(t, err)
	require.Empty(t, fr.Problems)
}
