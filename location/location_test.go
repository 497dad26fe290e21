package location_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	kinds "github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location"
	"github.com/pkgvc/pkgvc/location/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/repo"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]location.Location{
		"/tmp/x":             {Scheme: "file", Rest: "/tmp/x", Raw: "/tmp/x"},
		"pkgvc-data":         {Scheme: "file", Rest: "pkgvc-data", Raw: "pkgvc-data"},
		"file:///tmp/x":      {Scheme: "file", Rest: "/tmp/x", Raw: "file:///tmp/x"},
		"file:/tmp/x":        {Scheme: "file", Rest: "/tmp/x", Raw: "file:/tmp/x"},
		"FILE://LocalHost/x": {Scheme: "file", Rest: "/x", Raw: "FILE://LocalHost/x"},
		"file:///a/my%20st":  {Scheme: "file", Rest: "/a/my st", Raw: "file:///a/my%20st"},
		"S3://bucket/prefix": {Scheme: "s3", Rest: "bucket/prefix", Raw: "S3://bucket/prefix"},
	} {
		got, err := location.Parse(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "file://", "1x://a", "a b://c",
		"file:rel", "file://localhost", "file://host/x", "file://localhostfoo/x", "file://localhost:1/x",
		"file://u@localhost/x", "file:///x?y", "file:///x#y", "file:///x%00", "file:///x%zz"} {
		_, err := location.Parse(bad)
		require.ErrorIs(t, err, repo.ErrInvalid, bad)
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	r := location.NewRegistry()
	r.Register("file", fsstore.Open)
	require.Panics(t, func() { r.Register("file", fsstore.Open) })
	require.Panics(t, func() { r.Register("", fsstore.Open) })
}

func TestUnknownScheme(t *testing.T) {
	_, err := all.Registry().Open(context.Background(), "s3://bucket/store", location.Create)
	require.ErrorIs(t, err, location.ErrUnknownScheme)
	require.ErrorIs(t, err, repo.ErrInvalid)
	require.ErrorContains(t, err, `"s3"`)
	require.ErrorContains(t, err, "known: file")
}

// A store made through file:///DIR is the store of DIR.
func TestFileScheme(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	reg := all.Registry()
	_, err := reg.Open(ctx, "file://"+dir, location.Existing)
	require.ErrorIs(t, err, repo.ErrNoStore)

	p, err := reg.Open(ctx, "file://"+dir, location.Create)
	require.NoError(t, err)
	require.NotNil(t, p.Watch)
	require.NotNil(t, p.Format)
	_, err = p.Store(kinds.Kinds()).CreateRepo(ctx, "r", repo.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, p.Close())

	for _, loc := range []string{dir, "file://localhost" + dir} {
		p, err := reg.Open(ctx, loc, location.Existing)
		require.NoError(t, err, loc)
		repos, err := p.Store(kinds.Kinds()).ListRepos(ctx)
		require.NoError(t, err)
		require.Len(t, repos, 1)
		require.Equal(t, "r", repos[0].Name)
		require.NoError(t, p.Close())
	}
}
