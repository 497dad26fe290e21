package repo

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
)

// A commit without a kind (one an older pkgvc wrote) encodes to the same
// bytes as before kinds were recorded, so its id stays.
func TestCommitWithoutKindKeepsItsBytes(t *testing.T) {
	tree := objects.Sum([]byte("tree"))
	old := []byte("C\x01{\"tree\":\"" + tree.String() + "\",\"parents\":[],\"version\":1,\"time\":\"2026-01-02T03:04:05Z\",\"author\":\"a\",\"message\":\"m\"}\n")
	c, err := decodeCommit(old)
	require.NoError(t, err)
	require.Empty(t, c.Kind)
	again, err := encodeCommit(c)
	require.NoError(t, err)
	require.Equal(t, string(old), string(again))

	c = &Commit{Tree: tree, Parents: []objects.ID{}, Version: 1, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Author: "a", Message: "m", Kind: "python"}
	withKind, err := encodeCommit(c)
	require.NoError(t, err)
	require.True(t, bytes.HasSuffix(withKind, []byte(`,"kind":"python"}`+"\n")), "%s", withKind)
	back, err := decodeCommit(withKind)
	require.NoError(t, err)
	require.Equal(t, "python", back.Kind)
}
