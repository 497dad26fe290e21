package content_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/dist"
	kinds "github.com/pkgvc/pkgvc/kinds/all"
	metamem "github.com/pkgvc/pkgvc/meta/mem"
	"github.com/pkgvc/pkgvc/objects"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
)

// memDists is a store over the in-memory backends with one repository.
func memDists(t *testing.T) (context.Context, *repo.Store, *dist.Dists) {
	t.Helper()
	ctx := context.Background()
	st := repo.New(objects.New(objectsmem.New()), refsmem.New(), kinds.Kinds(), repo.WithWho("tester@example"), repo.WithMeta(metamem.New()))
	_, err := st.CreateRepo(ctx, "r", repo.CreateOptions{})
	require.NoError(t, err)
	return ctx, st, dist.NewDists(st)
}
