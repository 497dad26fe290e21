package main

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api/client"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo"
)

// TestProcessUploadSurvivesServerGC: a blob uploaded to a `pkgvc serve`
// process and not committed yet survives `pkgvc gc --grace 0s` run by that
// server, and the commit by digest that follows succeeds; fsck, run as a
// process of its own, finds the store clean.
func TestProcessUploadSurvivesServerGC(t *testing.T) {
	store := procStore(t, []string{"repo", "create", "dev"})
	_, base := startServeProc(t, store)
	ctx := context.Background()
	c, err := client.New(base, os.Getenv("PKGVC_TOKEN"))
	require.NoError(t, err)

	content := []byte("uploaded to the server, committed after a gc")
	id, err := c.PutBlob(ctx, bytes.NewReader(content), int64(len(content)), objects.Sum(content))
	require.NoError(t, err)
	r := runCLI(t, "--server", base, "gc", "--grace", "0s")
	require.Equal(t, 0, r.code, r.String())
	res, err := c.Commit(ctx, "dev", repo.CommitRequest{Records: []repo.Record{{Path: "pkg.txt", SHA256: id, Size: int64(len(content))}}})
	require.NoError(t, err)
	require.True(t, res.Changed)
	f := runProc(t, store, "fsck")
	require.Equal(t, 0, f.code, f.String())
	cat := runProc(t, store, "cat", "dev", "pkg.txt")
	require.Equal(t, 0, cat.code, cat.String())
	require.Equal(t, string(content), cat.stdout)
}
