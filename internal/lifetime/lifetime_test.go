package lifetime_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/internal/lifetime"
)

func TestParse(t *testing.T) {
	for s, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "12h": 12 * time.Hour, "90m": 90 * time.Minute, "1d": 24 * time.Hour} {
		got, err := lifetime.Parse(s)
		require.NoError(t, err, s)
		require.Equal(t, want, got, s)
	}
	for _, s := range []string{"", "d", "-1d", "0d", "0s", "-5m", "1.5d", "36501d", "soon", "1w"} {
		_, err := lifetime.Parse(s)
		require.Error(t, err, s)
	}
}
