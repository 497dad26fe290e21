package repo_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metamem "github.com/pkgvc/pkgvc/meta/mem"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/objects"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	"github.com/pkgvc/pkgvc/objects/objectstest"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
)

// A version nothing reached at gc's mark (its repository deleted), named
// again while gc sweeps — promoted, rolled back to — is not deleted: the
// sweep marks again, with writers held back, before it deletes.
func TestGCKeepsVersionNamedDuringSweep(t *testing.T) {
	for name, op := range map[string]func(ctx context.Context, st *repo.Store, id string) error{
		"promote": func(ctx context.Context, st *repo.Store, id string) error {
			_, err := st.Promote(ctx, []repo.Pair{{Src: id, Dst: "dev"}}, repo.PromoteOptions{Force: true})
			return err
		},
		"rollback": func(ctx context.Context, st *repo.Store, id string) error {
			_, err := st.Rollback(ctx, "dev", id)
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			be := &objectstest.SweepHook{Backend: objectsmem.New()}
			st := repo.New(objects.New(be), refsmem.New(), all.Kinds(), repo.WithMeta(metamem.New()))
			for _, r := range []string{"dev", "old"} {
				_, err := st.CreateRepo(ctx, r, repo.CreateOptions{})
				require.NoError(t, err)
				b := st.Objects().NewBatch()
				blob, err := b.PutBlob(ctx, strings.NewReader("content of "+r))
				require.NoError(t, err)
				require.NoError(t, b.Flush(ctx))
				_, err = st.Commit(ctx, r, repo.CommitRequest{Records: []repo.Record{{Path: r + ".txt", SHA256: blob.ID, Size: blob.Size}}})
				require.NoError(t, err)
			}
			old, err := st.Resolve(ctx, "old")
			require.NoError(t, err)
			require.NoError(t, st.DeleteRepo(ctx, "old"))
			time.Sleep(5 * time.Millisecond) // older than gc's epoch
			ran := error(nil)
			h := func() { ran = op(ctx, st, old.ID.String()) }
			be.Arm(h)
			_, err = st.GC(ctx, repo.GCOptions{Grace: -1})
			require.NoError(t, err)
			require.False(t, be.Armed(), "the operation ran during the sweep")
			require.NoError(t, ran)
			rc, _, err := st.Cat(ctx, "dev", "old.txt")
			require.NoError(t, err, "gc deleted what dev names now")
			require.NoError(t, rc.Close())
			res, err := st.Fsck(ctx)
			require.NoError(t, err)
			require.Empty(t, res.Problems)
		})
	}
}

// A sweep of more candidates than one chunk deletes them all.
func TestGCSweepsInChunks(t *testing.T) {
	e := newMemEnv(t)
	e.create("gone", repo.CreateOptions{})
	var recs []repo.Record
	for i := 0; i < 5000; i++ {
		b := e.putBlob(fmt.Sprintf("blob %d", i))
		recs = append(recs, repo.Record{Path: fmt.Sprintf("d%d/f%d", i%50, i), SHA256: b.ID, Size: b.Size})
	}
	_, err := e.s.Commit(e.ctx, "gone", repo.CommitRequest{Records: recs})
	require.NoError(t, err)
	require.NoError(t, e.s.DeleteRepo(e.ctx, "gone"))
	time.Sleep(5 * time.Millisecond)
	res, err := e.s.GC(e.ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	require.Equal(t, 5000, res.DeletedBlobs)
	require.Zero(t, res.ReachableBlobs)
	e.fsckClean()
}
