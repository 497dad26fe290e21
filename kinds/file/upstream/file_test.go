package upstream_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/file/upstream"
)

func TestFileURL(t *testing.T) {
	cases := []struct{ manifest, path, want string }{
		{"http://h/PULP_MANIFEST", "a/b.bin", "http://h/a/b.bin"},
		{"http://h:8080/repo/v1/PULP_MANIFEST", "x.rpm", "http://h:8080/repo/v1/x.rpm"},
		{"https://h/repo/PULP_MANIFEST?token=s3cret#frag", "a.txt", "https://h/repo/a.txt"},
		{"http://h/my%20repo/PULP_MANIFEST", "sub dir/f.txt", "http://h/my%20repo/sub%20dir/f.txt"},
		{"http://h/r/PULP_MANIFEST", "odd #1?&+%;,:=@.txt", "http://h/r/odd%20%231%3F&+%25%3B%2C:=@.txt"},
		{"http://h/r/PULP_MANIFEST", "ünï/файл", "http://h/r/%C3%BCn%C3%AF/%D1%84%D0%B0%D0%B9%D0%BB"},
		{"http://h", "f", "http://h/f"},
	}
	for _, c := range cases {
		u, err := url.Parse(c.manifest)
		require.NoError(t, err)
		got := upstream.FileURL(u, c.path)
		require.Equal(t, c.want, got, c.path)
		back, err := url.Parse(got)
		require.NoError(t, err)
		require.Equal(t, c.path, back.Path[len(back.Path)-len(c.path):], "the path round-trips")
	}
	require.Equal(t, "file", upstream.Syncer{}.Kind())
}
