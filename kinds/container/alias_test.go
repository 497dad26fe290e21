package container_test

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/kinds/container"
	"github.com/pkgvc/pkgvc/kinds/container/format"
	"github.com/pkgvc/pkgvc/objects"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"

	metamem "github.com/pkgvc/pkgvc/meta/mem"
)

func hex512(b []byte) string {
	s := sha512.Sum512(b)
	return hex.EncodeToString(s[:])
}

func newAliasStore(t *testing.T) *repo.Store {
	t.Helper()
	st := repo.New(objects.New(objectsmem.New()), refsmem.New(), all.Kinds(), repo.WithMeta(metamem.New()))
	for _, r := range []string{"img", "copy"} {
		_, err := st.CreateRepo(context.Background(), r, repo.CreateOptions{Kind: "container"})
		require.NoError(t, err)
	}
	return st
}

// A file committed at a sha512 alias path is checked against its path by
// Inspect, which reads it: the CLI cannot commit a wrong alias.
func TestAliasCommitChecksSHA512(t *testing.T) {
	ctx := context.Background()
	st := newAliasStore(t)
	dir := t.TempDir()
	_, layer, _ := image(t)
	cfg := []byte(`{"architecture":"amd64","os":"linux"}`)
	man := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha512:` + hex512(cfg) + `","size":37},"layers":[]}`)
	adds := []repo.Add{
		{Path: container.Blobs512Dir + hex512(layer), File: write(t, dir, "layer", layer)},
		{Path: container.Blobs512Dir + hex512(cfg), File: write(t, dir, "cfg", cfg)},
		{Path: container.Manifests512Dir + hex512(man), File: write(t, dir, "man", man)},
	}
	_, err := st.Commit(ctx, "img", repo.CommitRequest{Adds: adds})
	require.NoError(t, err)
	rec, err := st.Stat(ctx, "img", container.Blobs512Dir+hex512(layer))
	require.NoError(t, err)
	require.Equal(t, objects.Sum(layer), rec.SHA256, "an alias's content is the SHA-256 blob")
	rec, err = st.Stat(ctx, "img", container.Manifests512Dir+hex512(man))
	require.NoError(t, err)
	require.Equal(t, format.MediaTypeImageManifest, rec.Metadata[container.MetaMediaType])

	bad := map[string]repo.Add{
		"blob of other content":     {Path: container.Blobs512Dir + hex512(cfg), File: write(t, dir, "l2", layer)},
		"manifest of other content": {Path: container.Manifests512Dir + hex512(layer), File: write(t, dir, "m2", man)},
		"short hex":                 {Path: container.Blobs512Dir + hexOf(layer), File: write(t, dir, "l3", layer)},
		"upper-case hex":            {Path: container.Blobs512Dir + strings.ToUpper(hex512(layer)), File: write(t, dir, "l4", layer)},
		"sha384":                    {Path: "blobs/sha384/" + hex512(layer)[:96], File: write(t, dir, "l5", layer)},
	}
	for name, a := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := st.Commit(ctx, "img", repo.CommitRequest{Adds: []repo.Add{a}})
			require.ErrorIs(t, err, repo.ErrInvalid)
		})
	}
	// A record the REST API commits (InspectRecords) is read and checked too.
	_, err = st.Commit(ctx, "img", repo.CommitRequest{InspectRecords: true, Records: []repo.Record{
		{Path: container.Blobs512Dir + hex512(man), SHA256: objects.Sum(layer), Size: int64(len(layer))}}})
	require.ErrorIs(t, err, repo.ErrInvalid)
	_, err = st.Stat(ctx, "img", container.Blobs512Dir+hex512(man))
	require.ErrorIs(t, err, repo.ErrNotFound)
}

// Alias records are records of the version: gc keeps their blobs, fsck
// reads them against their sha512 (a corrupted alias is reported),
// promote carries them.
func TestAliasGCFsckPromote(t *testing.T) {
	ctx := context.Background()
	st := newAliasStore(t)
	dir := t.TempDir()
	_, layer, man := image(t)
	alias := container.Blobs512Dir + hex512(layer)
	_, err := st.Commit(ctx, "img", repo.CommitRequest{Adds: []repo.Add{{Path: alias, File: write(t, dir, "layer", layer)}}})
	require.NoError(t, err)

	_, err = st.GC(ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	_, err = st.Fsck(ctx)
	require.NoError(t, err)
	rc, err := st.Objects().OpenBlob(ctx, objects.Sum(layer))
	require.NoError(t, err, "gc kept the blob only an alias names")
	rc.Close()

	_, err = st.Promote(ctx, []repo.Pair{{Src: "img", Dst: "copy"}}, repo.PromoteOptions{})
	require.NoError(t, err)
	rec, err := st.Stat(ctx, "copy", alias)
	require.NoError(t, err)
	require.Equal(t, objects.Sum(layer), rec.SHA256)

	// A trusted caller (the registry, which hashed the upload) commits
	// records without a second read; one whose content is not its
	// sha512 is fsck's to find. So is a tag whose sha512 digest is wrong.
	mid := objects.Sum(man)
	_, err = st.Commit(ctx, "img", repo.CommitRequest{Adds: []repo.Add{{Path: container.ManifestPath(mid.String()), File: write(t, dir, "man", man)}}})
	require.NoError(t, err)
	wrong := container.Blobs512Dir + hex512(man)
	_, err = st.Commit(ctx, "img", repo.CommitRequest{Records: []repo.Record{
		{Path: wrong, SHA256: objects.Sum(layer), Size: int64(len(layer))},
		{Path: container.TagPath("good"), SHA256: mid, Size: int64(len(man)), Metadata: container.TagMetadata(format.MediaTypeImageManifest, "sha512:"+hex512(man))},
		{Path: container.TagPath("bad"), SHA256: mid, Size: int64(len(man)), Metadata: container.TagMetadata(format.MediaTypeImageManifest, "sha512:"+hex512(layer))},
	}})
	require.NoError(t, err)
	res, err := st.Fsck(ctx)
	require.ErrorIs(t, err, repo.ErrCorrupt)
	all := strings.Join(res.Problems, "\n")
	require.Len(t, res.Problems, 2, all)
	require.Contains(t, all, wrong)
	require.Contains(t, all, "tags/bad")
	require.NotContains(t, all, "tags/good")
}
