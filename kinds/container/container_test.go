package container_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metamem "github.com/pkgvc/pkgvc/meta/mem"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/kinds/container"
	"github.com/pkgvc/pkgvc/kinds/container/format"
	"github.com/pkgvc/pkgvc/objects"
	objectsmem "github.com/pkgvc/pkgvc/objects/mem"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
)

func hexOf(b []byte) string { return objects.Sum(b).String() }

// image returns a config, a layer and a manifest referencing them.
func image(t *testing.T) (cfg, layer, man []byte) {
	cfg = []byte(`{"architecture":"amd64","os":"linux"}`)
	layer = bytes.Repeat([]byte("layer"), 1000)
	man = []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:` + hexOf(cfg) + `","size":37},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:` + hexOf(layer) + `","size":5000}],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + strings.Repeat("ab", 32) + `","size":1}}`)
	return cfg, layer, man
}

func write(t *testing.T, dir, name string, data []byte) string {
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

func TestCommitLayout(t *testing.T) {
	ctx := context.Background()
	st := repo.New(objects.New(objectsmem.New()), refsmem.New(), all.Kinds(), repo.WithMeta(metamem.New()))
	_, err := st.CreateRepo(ctx, "img", repo.CreateOptions{Kind: "container"})
	require.NoError(t, err)
	dir := t.TempDir()
	cfg, layer, man := image(t)
	adds := []repo.Add{
		{Path: container.BlobPath(hexOf(cfg)), File: write(t, dir, "cfg", cfg)},
		{Path: container.BlobPath(hexOf(layer)), File: write(t, dir, "layer", layer)},
		{Path: container.ManifestPath(hexOf(man)), File: write(t, dir, "man", man)},
		{Path: container.TagPath("v1"), File: write(t, dir, "tag", man)},
	}
	res, err := st.Commit(ctx, "img", repo.CommitRequest{Adds: adds})
	require.NoError(t, err)
	require.True(t, res.Changed)

	rec, err := st.Stat(ctx, "img", container.TagPath("v1"))
	require.NoError(t, err)
	require.Equal(t, format.MediaTypeImageManifest, rec.Metadata[container.MetaMediaType])
	require.Equal(t, format.Digest(man), rec.Metadata[container.MetaDigest])
	rec, err = st.Stat(ctx, "img", container.ManifestPath(hexOf(man)))
	require.NoError(t, err)
	require.Equal(t, "sha256:"+strings.Repeat("ab", 32), rec.Metadata[container.MetaSubject])
	require.Equal(t, "application/vnd.oci.image.config.v1+json", rec.Metadata[container.MetaArtifactType])

	name, ver, ok := container.Kind{}.Package(rec)
	require.False(t, ok, "a manifest is no package")
	tagRec, err := st.Stat(ctx, "img", "tags/v1")
	require.NoError(t, err)
	name, ver, ok = container.Kind{}.Package(tagRec)
	require.True(t, ok)
	require.Equal(t, "v1", name)
	require.Equal(t, format.Digest(man), ver)
	_, ordered := any(container.Kind{}).(repo.VersionComparer)
	require.False(t, ordered, "a tag's digests have no order: a moved tag is removed and added")

	// Refused: a blob or manifest at another digest's path, a broken
	// manifest, paths outside the layout, a bad tag. Nothing is committed.
	other := strings.Repeat("0", 64)
	bad := map[string]repo.Add{
		"blob digest":     {Path: container.BlobPath(other), File: write(t, dir, "l2", layer)},
		"manifest digest": {Path: container.ManifestPath(other), File: write(t, dir, "m2", man)},
		"not a manifest":  {Path: container.ManifestPath(hexOf(layer)), File: write(t, dir, "l3", layer)},
		"tag not json":    {Path: container.TagPath("v2"), File: write(t, dir, "l4", layer)},
		"outside":         {Path: "etc/passwd", File: write(t, dir, "l5", layer)},
		"bad tag":         {Path: "tags/-x", File: write(t, dir, "m3", man)},
		"sha512":          {Path: "blobs/sha512/" + other, File: write(t, dir, "l6", layer)},
		"short hex":       {Path: "blobs/sha256/abc", File: write(t, dir, "l7", layer)},
	}
	for name, a := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := st.Commit(ctx, "img", repo.CommitRequest{Adds: []repo.Add{a}})
			require.ErrorIs(t, err, repo.ErrInvalid)
			_, err = st.Stat(ctx, "img", a.Path)
			require.ErrorIs(t, err, repo.ErrNotFound)
		})
	}

	// By digest: the record's digest is checked against its path.
	id := objects.Sum(layer)
	_, err = st.Commit(ctx, "img", repo.CommitRequest{Records: []repo.Record{{Path: container.BlobPath(other), SHA256: id, Size: int64(len(layer))}}})
	require.ErrorIs(t, err, repo.ErrInvalid)
	_, err = st.Commit(ctx, "img", repo.CommitRequest{Records: []repo.Record{{Path: container.TagPath("v2"), SHA256: objects.Sum(man), Size: int64(len(man)),
		Metadata: container.TagMetadata(format.MediaTypeImageManifest, "sha256:"+other)}}})
	require.ErrorIs(t, err, repo.ErrInvalid)
	res, err = st.Commit(ctx, "img", repo.CommitRequest{Records: []repo.Record{{Path: container.TagPath("v2"), SHA256: objects.Sum(man), Size: int64(len(man)),
		Metadata: container.TagMetadata(format.MediaTypeImageManifest, format.Digest(man))}}})
	require.NoError(t, err)
	require.True(t, res.Changed)
}
