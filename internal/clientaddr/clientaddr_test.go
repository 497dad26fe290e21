package clientaddr_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/internal/clientaddr"
)

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7:4000":                "192.0.2.7",
		"192.0.2.7":                     "192.0.2.7",
		"[::ffff:192.0.2.7]:80":         "192.0.2.7",
		"[2001:db8:1:2::5]:4000":        "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1%eth0]:1": "2001:db8:1:2::/64",
		"2001:db8:1:2::9":               "2001:db8:1:2::/64",
		"@":                             "@",
		"/run/pkgvc.sock":               "/run/pkgvc.sock",
	} {
		require.Equal(t, want, clientaddr.Key(in), in)
	}
}
