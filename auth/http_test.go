package auth_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/auth"
)

func TestCredentials(t *testing.T) {
	for _, tc := range []struct {
		header, want string
		ok           bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer  abc ", "abc", true},
		{"Basic eDpzM2NyZXQ=", "s3cret", true}, // x:s3cret
		{"Basic czNjcmV0", "s3cret", true},     // s3cret, no password
		{"Basic !!!", "", false},
		{"Bearer ", "", false},
		{"Digest x", "", false},
		{"", "", false},
	} {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		got, ok := auth.Credentials(r)
		require.Equal(t, tc.ok, ok, tc.header)
		require.Equal(t, tc.want, got, tc.header)
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := auth.NewLimiter(2, time.Minute, 30*time.Second)
	l.SetClock(func() time.Time { return now })
	require.Zero(t, l.Fail("a"))
	require.Zero(t, l.Fail("a"))
	require.Equal(t, 30*time.Second, l.Fail("a"), "the third failure within the window blocks")
	require.Zero(t, l.Fail("b"), "other addresses are not blocked")
	now = now.Add(10 * time.Second)
	require.Equal(t, 20*time.Second, l.Fail("a"), "a blocked address waits for the rest of its block")
	now = now.Add(21 * time.Second)
	require.Zero(t, l.Fail("a"), "after the block a new window starts")
	now = now.Add(2 * time.Minute)
	require.Zero(t, l.Fail("a"))
	require.Zero(t, l.Fail("a"), "failures in an old window are forgotten")

	off := auth.NewLimiter(0, time.Minute, time.Minute)
	for range 100 {
		require.Zero(t, off.Fail("a"))
	}
}
