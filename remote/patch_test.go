package remote_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

func TestPatchApply(t *testing.T) {
	r := remote.Remote{Name: "up", Kind: "file", URL: "http://a/", Include: []string{"*.whl"}, Retries: 3, Username: "u"}
	p := remote.Patch{}
	require.NoError(t, p.Set("url", "http://b/"))
	require.NoError(t, p.Set("retries", 5))
	p["include"] = []byte("null")
	require.NoError(t, p.Apply(&r))
	require.Equal(t, "http://b/", r.URL)
	require.Equal(t, 5, r.Retries)
	require.Nil(t, r.Include)
	require.Equal(t, "u", r.Username, "fields the patch does not name stay")

	for _, field := range []string{"name", "kind", "no_such_field"} {
		bad := remote.Patch{}
		require.NoError(t, bad.Set(field, "x"))
		require.ErrorIs(t, bad.Apply(&r), repo.ErrInvalid, field)
	}
	wrongType := remote.Patch{"retries": []byte(`"many"`)}
	require.ErrorIs(t, wrongType.Apply(&r), repo.ErrInvalid)
	require.Equal(t, 5, r.Retries, "a refused patch changes nothing")
}
