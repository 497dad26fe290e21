package auth_test

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/auth"
)

// An IPv6 host commonly has a whole /64 to send from: the addresses of
// one /64 share one budget of failures, or the limit limits nothing.
func TestLimiterIPv6SameSlash64SharesBudget(t *testing.T) {
	l := auth.NewLimiter(3, time.Minute, time.Minute)
	blocked := 0
	for i := 1; i <= 10; i++ {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = fmt.Sprintf("[2001:db8:1:2::%x]:4000", i)
		if l.Fail(auth.ClientAddr(r)) > 0 {
			blocked = i
			break
		}
	}
	require.Equal(t, 4, blocked, "the 4th failure from one /64 is past a budget of 3")

	// Fail keys what it is given the same way.
	require.Greater(t, l.Fail("2001:db8:1:2:ffff::1"), time.Duration(0))
	// Another /64 and IPv4 clients have budgets of their own.
	require.Zero(t, l.Fail("2001:db8:1:3::1"))
	require.Zero(t, l.Fail("192.0.2.1"))
}

func TestClientAddr(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.1:80":              "192.0.2.1",
		"[::ffff:192.0.2.1]:80":     "192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:80": "2001:db8:1:2::/64",
		"[fe80::1%eth0]:80":         "fe80::/64",
		"@":                         "@",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		require.Equal(t, want, auth.ClientAddr(r), remote)
	}
}

// A full table of clients makes room without lifting a block: a guesser
// that fills it does not free itself.
func TestLimiterPruneDoesNotUnblock(t *testing.T) {
	l := auth.NewLimiter(1, time.Minute, time.Hour)
	now := time.Unix(1_700_000_000, 0)
	l.SetClock(func() time.Time { return now })
	const victim = "198.51.100.7"
	l.Fail(victim)
	require.Greater(t, l.Fail(victim), time.Duration(0), "blocked after its budget")
	for i := 0; i < 1<<16+1<<12; i++ {
		now = now.Add(time.Microsecond)
		require.Zero(t, l.Fail(fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&0xff, i&0xff)))
	}
	require.Greater(t, l.Fail(victim), time.Duration(0), "the block was lifted by filling the table")

	// A new client still has its failures counted in the full table.
	require.Zero(t, l.Fail("203.0.113.1"))
	require.Greater(t, l.Fail("203.0.113.1"), time.Duration(0))
}

// When every client of the full table is blocked, a new one has no room
// and waits until a block ends; memory stays bounded.
func TestLimiterFullOfBlockedClients(t *testing.T) {
	l := auth.NewLimiter(1, time.Minute, time.Hour)
	start := time.Unix(1_700_000_000, 0)
	now := start
	l.SetClock(func() time.Time { return now })
	for i := 0; i < 1<<16; i++ {
		a := fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&0xff, i&0xff)
		l.Fail(a)
		require.Greater(t, l.Fail(a), time.Duration(0))
	}
	wait := l.Fail("203.0.113.1")
	require.Greater(t, wait, time.Duration(0), "a new client in a table full of blocked ones")
	require.LessOrEqual(t, wait, time.Hour)

	now = start.Add(time.Hour + time.Second) // every block over
	require.Zero(t, l.Fail("203.0.113.1"))
	require.Zero(t, l.Fail("10.0.0.0"), "its block ended")
}
