package glob

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pat, path string
		want      bool
	}{
		{"a.txt", "a.txt", true},
		{"*.txt", "sub/c.txt", true},
		{"sub/*.txt", "sub/c.txt", true},
		{"sub/*.txt", "sub/d/c.txt", false},
		{"sub/**", "sub/d/c.txt", true},
		{"sub", "sub/d/c.txt", true},
		{"sub/", "sub/c.txt", true},
		{"su", "sub/c.txt", false},
		{"*.whl", "a.txt", false},
		{"docs/a?.txt", "docs/a2.txt", true},
	} {
		require.Equal(t, c.want, Set{c.pat}.Match(c.path), "%s ~ %s", c.pat, c.path)
	}
	require.Error(t, Set{"[a"}.Validate())
	require.NoError(t, Set{"*.txt", "sub/"}.Validate())
}
