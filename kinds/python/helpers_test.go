package python_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/all"
	metamem "github.com/pkgvc/pkgvc/meta/mem"
	"github.com/pkgvc/pkgvc/objects"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
)

// pyStore is an in-memory store holding an empty python repository "py".
func pyStore(t *testing.T) *repo.Store {
	t.Helper()
	st := repo.New(objects.New(objectsmem.New()), refsmem.New(), all.Kinds(), repo.WithMeta(metamem.New()))
	_, err := st.CreateRepo(context.Background(), "py", repo.CreateOptions{Kind: "python"})
	require.NoError(t, err)
	return st
}
