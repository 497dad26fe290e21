package content

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckPath(t *testing.T) {
	for _, tc := range []struct {
		p       string
		escaped bool
		bad     bool
	}{
		{"/content/a/b.txt", false, false},
		{"/content/a/", false, false},
		{"/content/a/../b", false, true},
		{"/content/a/./b", false, true},
		{"/content/a//b", false, true},
		{"/content/a/b\x00", false, true},
		{"/content/a/%2e%2e/b", true, true},
		{"/content/a/..%2fb", true, true},
		{"/content/a%2fb", true, true},
		{"/content/a%5cb", true, true},
		{"/content/a/%zz", true, true},
		{"/content/a/%25zz", true, false},
		{"/content/a/%00", true, true},
		{"/content/a/b%20c", true, false},
	} {
		got := checkPath(tc.p, tc.escaped)
		require.Equal(t, tc.bad, got != "", "%q: %q", tc.p, got)
	}
}
