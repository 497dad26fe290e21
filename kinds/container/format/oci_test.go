package format_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/container/format"
)

const (
	h1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	h2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

func TestNamesTagsDigests(t *testing.T) {
	for _, n := range []string{"img", "test/img", "library/alpine", "a.b_c__d--e/f0", "a/b/c/d"} {
		require.True(t, format.ValidName(n), n)
	}
	for _, n := range []string{"", "Img", "a//b", "/a", "a/", "a..b", "-a", "a_", "a___b", "a/../b", "a/./b", "a b", strings.Repeat("a", 256)} {
		require.False(t, format.ValidName(n), n)
		require.ErrorIs(t, format.CheckName(n), format.ErrInvalidName)
	}
	for _, tag := range []string{"v1", "latest", "_x", "1.0-rc.1", "A_b", strings.Repeat("a", 128)} {
		require.NoError(t, format.CheckTag(tag), tag)
	}
	for _, tag := range []string{"", "-bad", ".bad", "a/b", "a:b", "a+b", strings.Repeat("a", 129)} {
		require.ErrorIs(t, format.CheckTag(tag), format.ErrInvalidTag, tag)
	}
	hx, err := format.ParseDigest(h1)
	require.NoError(t, err)
	require.Equal(t, h1[7:], hx)
	_, err = format.ParseDigest("sha512:" + strings.Repeat("ab", 64))
	require.ErrorIs(t, err, format.ErrUnsupportedDigest)
	alg, hx, err := format.ParseDigestAlg("sha512:" + strings.Repeat("ab", 64))
	require.NoError(t, err)
	require.Equal(t, []string{"sha512", strings.Repeat("ab", 64)}, []string{alg, hx})
	for _, d := range []string{"sha512:" + strings.Repeat("ab", 32), "sha512:" + strings.Repeat("AB", 64), "sha256:" + strings.Repeat("ab", 64)} {
		_, _, err := format.ParseDigestAlg(d)
		require.ErrorIs(t, err, format.ErrInvalidDigest, d)
	}
	_, _, err = format.ParseDigestAlg("sha384:" + strings.Repeat("ab", 48))
	require.ErrorIs(t, err, format.ErrUnsupportedDigest)
	for _, d := range []string{"", "sha256", "sha256:", "sha256:abc", "sha256:" + strings.Repeat("A", 64), "sha256:" + strings.Repeat("g", 64), "SHA256:" + h1[7:], "sha256:../" + h1[10:]} {
		_, err := format.ParseDigest(d)
		require.ErrorIs(t, err, format.ErrInvalidDigest, d)
		require.ErrorIs(t, err, format.ErrInvalid, d)
	}
	require.Equal(t, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", format.Digest(nil))
}

func TestParse(t *testing.T) {
	img := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + h1 + `","size":10},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"` + h2 + `","size":20}],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + h2 + `","size":3}}`
	m, err := format.Parse("", []byte(img))
	require.NoError(t, err)
	require.Equal(t, format.MediaTypeImageManifest, m.MediaType)
	require.False(t, m.IsIndex())
	require.Len(t, m.Blobs(), 2)
	require.Equal(t, h1, m.Blobs()[0].Digest)
	require.Equal(t, h2, m.Subject.Digest)
	require.Equal(t, "application/vnd.oci.image.config.v1+json", m.EffectiveArtifactType())

	// Without mediaType, the declared type or the fields decide.
	idx := `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + h1 + `","size":5,"platform":{"architecture":"arm64","os":"linux"}}]}`
	m, err = format.Parse("", []byte(idx))
	require.NoError(t, err)
	require.True(t, m.IsIndex())
	require.Equal(t, "arm64", m.Manifests[0].Platform.Architecture)
	m, err = format.Parse(format.MediaTypeDockerList+"; charset=utf-8", []byte(idx))
	require.NoError(t, err)
	require.Equal(t, format.MediaTypeDockerList, m.MediaType)

	bad := map[string]struct {
		ct, doc string
		want    error
	}{
		"not json":         {"", `{`, format.ErrInvalidManifest},
		"schema 1":         {"", `{"schemaVersion":1}`, format.ErrInvalidManifest},
		"type mismatch":    {format.MediaTypeImageIndex, img, format.ErrInvalidManifest},
		"unknown type":     {"", `{"schemaVersion":2,"mediaType":"text/plain","config":{}}`, format.ErrInvalidManifest},
		"no config":        {"", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}`, format.ErrInvalidManifest},
		"index has layers": {"", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"layers":[]}`, format.ErrInvalidManifest},
		"sha384 layer":     {"", strings.Replace(img, h2, "sha384:"+strings.Repeat("ab", 48), 1), format.ErrUnsupportedDigest},
		"short sha512":     {"", strings.Replace(img, h2, "sha512:"+strings.Repeat("ab", 32), 1), format.ErrInvalidDigest},
		"bad digest":       {"", strings.Replace(img, h1, "sha256:xyz", 1), format.ErrInvalidDigest},
		"negative size":    {"", strings.Replace(img, `"size":10`, `"size":-1`, 1), format.ErrInvalidManifest},
		"no media type":    {"", strings.Replace(img, `"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip",`, "", 1), format.ErrInvalidManifest},
		"too large":        {"", img + strings.Repeat(" ", format.MaxManifestSize), format.ErrManifestTooLarge},
	}
	for name, c := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := format.Parse(c.ct, []byte(c.doc))
			require.ErrorIs(t, err, c.want)
			require.ErrorIs(t, err, format.ErrInvalid)
		})
	}
}

func ExampleParseDigest() {
	hx, err := format.ParseDigest("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	if err != nil {
		panic(err)
	}
	fmt.Println(hx[:12])
	// Output: e3b0c44298fc
}
