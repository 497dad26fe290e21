package publication_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/content"
	"github.com/pkgvc/pkgvc/kinds/deb"
	"github.com/pkgvc/pkgvc/kinds/deb/publication"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/repo"
)

// TestPublishMatchesBuild: Publish (in memory, for a checkout without a
// distribution) writes the files the stored publication holds under the
// default settings: unsigned, main, amd64 and all.
func TestPublishMatchesBuild(t *testing.T) {
	e := newEnv(t)
	tmp := t.TempDir()
	var recs []repo.Record
	for _, s := range []debSpec{
		{name: "hello-a", version: "1.0", arch: "all"},
		{name: "hello-b", version: "2.0", arch: "amd64"},
		{name: "hello-c", version: "2.0", arch: "i386"},
	} {
		data, ctl := mkdeb(t, tmp, s)
		recs = append(recs, e.record(t, "main", s, data, ctl))
	}
	recs = append(recs, e.synthetic(t, 300, "1")...)
	v := e.commit(t, recs)
	pubs, _ := tracked(e.st)
	pub, err := pubs.ForParams(e.ctx, "deb", v, publish.Params{})
	require.NoError(t, err)
	stored := files(t, e.ctx, pub)
	checkPublication(t, stored, "", deb.DefaultSuite)
	fs, err := publication.Publisher{}.Publish(e.ctx, e.st, v)
	require.NoError(t, err)
	mem := map[string]string{}
	for _, f := range fs {
		mem[f.Path] = string(f.Content)
	}
	require.Len(t, mem, len(stored))
	for p, data := range stored {
		require.Equal(t, string(data), mem[p], p)
	}
	require.NotContains(t, stored, "dists/stable/InRelease", "unsigned without a key")
}

// TestClientAccess: dist show and the home page give apt's sources line.
func TestClientAccess(t *testing.T) {
	var g content.ClientGuide = deb.Kind{}
	url, use := g.ClientAccess("http://h/content/debian/", "h/debian")
	require.Equal(t, "http://h/content/debian", url)
	require.True(t, strings.HasPrefix(use[0], "deb [signed-by="), use[0])
	require.Contains(t, use[0], " http://h/content/debian ")
}
