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

	for _, field := range []string{"name", "kind"} {
		bad := remote.Patch{}
		require.NoError(t, bad.Set(field, "x"))
		require.ErrorIs(t, bad.Apply(&r), repo.ErrInvalid, field)
	}
	wrongType := remote.Patch{"retries": []byte(`"many"`)}
	require.ErrorIs(t, wrongType.Apply(&r), repo.ErrInvalid)
	require.Equal(t, 5, r.Retries, "a refused patch changes nothing")
}

// A field beside the common ones is one of the kind's settings: a patch
// sets and clears it as any other; the Manager refuses those the kind
// does not declare.
func TestPatchKindSetting(t *testing.T) {
	r := remote.Remote{Name: "up", Kind: "python", URL: "http://a/"}
	p := remote.Patch{}
	require.NoError(t, p.Set("projects", []string{"django"}))
	require.NoError(t, p.Set("latest", 2))
	require.NoError(t, p.Apply(&r))
	require.JSONEq(t, `["django"]`, string(r.Options["projects"]))
	require.JSONEq(t, `2`, string(r.Options["latest"]))

	clear := remote.Patch{"projects": []byte("null")}
	require.NoError(t, clear.Set("latest", 0))
	require.NoError(t, clear.Apply(&r))
	require.Empty(t, r.Options, "null and zero values clear a setting")

	e := newEnv(t)
	_, err := e.m.Create(e.ctx, remote.Remote{Name: "up", Kind: "file", URL: "http://h/PULP_MANIFEST"})
	require.NoError(t, err)
	_, err = e.m.Update(e.ctx, "up", func(r *remote.Remote) error {
		bad := remote.Patch{}
		require.NoError(t, bad.Set("no_such_field", "x"))
		return bad.Apply(r)
	})
	require.ErrorIs(t, err, repo.ErrInvalid)
	require.Contains(t, err.Error(), `"no_such_field" is not a setting of file remotes`)
}
