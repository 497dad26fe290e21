package upstream_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/python/upstream"
	"github.com/pkgvc/pkgvc/remote"
)

func TestForProjectKeepsTheRemotesSpecifier(t *testing.T) {
	r := upstream.Options{Projects: []string{"Django>=4.2,<5", "flask"}, Latest: 2}.With(remote.Remote{Name: "pypi", Kind: "python"})
	for _, tc := range []struct{ project, want string }{
		{"django", "Django>=4.2,<5"}, // the remote's own filter for it
		{"flask", "flask"},
		{"requests", "requests"}, // not listed: the whole project
	} {
		one, err := upstream.Syncer{}.ForProject(r, tc.project)
		require.NoError(t, err)
		o, err := upstream.RemoteOptionsOf(&one)
		require.NoError(t, err)
		require.Equal(t, []string{tc.want}, o.Projects, tc.project)
		require.Equal(t, 2, o.Latest, "the remote's other filters stay")
	}
}
