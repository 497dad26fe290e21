package uploads_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
)

// TestUnmark: a mark dropped through one engine is gone for every engine
// of the store; another holder's mark of the same blob stays.
func TestUnmark(t *testing.T) {
	ctx := context.Background()
	_, a, b := twoEngines(t)
	blob := objects.Sum([]byte("x"))
	require.NoError(t, a.MarkUploaded(ctx, "oci:img", blob))
	require.NoError(t, a.MarkUploaded(ctx, "oci:other", blob))

	was, err := b.Unmark(ctx, "oci:img", blob)
	require.NoError(t, err)
	require.True(t, was)
	ok, err := a.Uploaded(ctx, "oci:img", blob)
	require.NoError(t, err)
	require.False(t, ok)
	ok, err = a.Uploaded(ctx, "oci:other", blob)
	require.NoError(t, err)
	require.True(t, ok)

	was, err = a.Unmark(ctx, "oci:img", blob)
	require.NoError(t, err)
	require.False(t, was, "a mark that is gone is no error")
}
