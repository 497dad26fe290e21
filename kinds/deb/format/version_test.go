package format_test

import (
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/deb/format"
)

// versionPairs are tricky pairs with their order (a vs b), each checked
// against dpkg itself.
var versionPairs = []struct {
	a, b string
	want int
}{
	{"1.0", "1.0", 0},
	{"1.0", "1.0-0", 0}, // no revision is revision "0"
	{"1.0-1", "1.0-2", -1},
	{"1.0~rc1", "1.0", -1}, // ~ sorts before the end
	{"1.0~rc1", "1.0~rc1~1", 1},
	{"1.0~~", "1.0~~a", -1},
	{"1.0~~a", "1.0~", -1},
	{"1.0~", "1.0", -1},
	{"1.0", "1.0a", -1},  // letters after the end
	{"1.0a", "1.0+", -1}, // non-letters after letters
	{"1.0+", "1.0.", -1}, // by ASCII among non-letters
	{"1.0.", "1.0-1", 1}, // "1.0." upstream vs "1.0" with revision
	{"1:0.1", "2.0", 1},  // epochs first
	{"0:2.0", "2.0", 0},  // epoch 0 is no epoch
	{"1.10", "1.9", 1},   // numbers, not strings
	{"1.010", "1.10", 0}, // leading zeros
	{"1.0-1ubuntu1", "1.0-1", 1},
	{"1.0-1~bpo1", "1.0-1", -1},
	{"2.30-1+deb12u1", "2.30-1", 1},
	{"1:1.2.3-4", "1:1.2.3-4+b1", -1},
	{"7.0.0", "7.0.0-0ubuntu1", -1},
	{"1.2.3+dfsg-1", "1.2.3-1", 1},
	{"1.2.3a", "1.2.3-a", 1},
	{"10:1", "9:100", 1},
	{"1-2-3", "1-2", 1},         // upstream "1-2" vs "1"
	{"2:1.0:1-1", "2:1.0-1", 1}, // a colon in upstream after an epoch
	{"99999999999999999999", "100000000000000000000", -1},
	{"a", "b", 0}, // unparsable: compared as strings below, skipped for dpkg
}

func TestCompareVersionsMatchesDpkg(t *testing.T) {
	dpkg, err := exec.LookPath("dpkg")
	require.NoError(t, err, "dpkg is needed to check the version order")
	for _, p := range versionPairs {
		if _, err := format.ParseVersion(p.a); err != nil {
			continue
		}
		require.Equal(t, p.want, format.CompareVersions(p.a, p.b), "%s vs %s", p.a, p.b)
		require.Equal(t, -p.want, format.CompareVersions(p.b, p.a), "%s vs %s", p.b, p.a)
		if len(p.a) > 18 { // dpkg's numbers overflow past 64 bits
			continue
		}
		for op, want := range map[string]bool{"lt": p.want < 0, "eq": p.want == 0, "gt": p.want > 0} {
			err := exec.Command(dpkg, "--compare-versions", p.a, op, p.b).Run()
			require.Equal(t, want, err == nil, "dpkg --compare-versions %s %s %s", p.a, op, p.b)
		}
	}
	require.Equal(t, -1, format.CompareVersions("a", "b"), "two invalid versions compare as strings")
	require.Equal(t, -1, format.CompareVersions("x", "1.0"), "an invalid version sorts first")
}

func TestParseVersion(t *testing.T) {
	v, err := format.ParseVersion("3:1.2-3-4~bpo1")
	require.NoError(t, err)
	require.Equal(t, format.Version{Epoch: 3, Upstream: "1.2-3", Revision: "4~bpo1"}, v)
	require.Equal(t, "3:1.2-3-4~bpo1", v.String())
	require.Equal(t, "1.2-3-4~bpo1", v.NoEpoch())
	v, err = format.ParseVersion("0:1.0")
	require.NoError(t, err)
	require.Equal(t, "1.0", v.String())
	v, err = format.ParseVersion("0:1.0:2")
	require.NoError(t, err)
	require.Equal(t, "0:1.0:2", v.String(), "a colon in the upstream version keeps epoch 0")
	require.Equal(t, "1.0:2", v.NoEpoch())

	dpkg, err := exec.LookPath("dpkg")
	require.NoError(t, err)
	for _, bad := range []string{"", "a1.0", "1.0-", ":1.0", "x:1.0", "1:", "1.0 1", "1.0_1", "1.0-a_b", "1:1.0-1:2",
		"-1:1.0", "2147483648:1.0", "1.0\n", "1.0/2", "1.0-1-"} {
		_, err := format.ParseVersion(bad)
		require.Error(t, err, "%q", bad)
		if bad == "" || bad == "1.0\n" || bad[0] == '-' { // dpkg would read an option
			continue
		}
		// dpkg finds them bad too (an error, or a warning where it
		// still compares).
		out, _ := exec.Command(dpkg, "--compare-versions", bad, "eq", bad).CombinedOutput()
		require.Contains(t, string(out), "bad syntax", "dpkg on %q", bad)
	}
	for _, good := range []string{"0", "1:0", "1.0+dfsg1-2~bpo11+1", "2147483647:1", "1.0-1.2.3", "20240101", "1~"} {
		_, err := format.ParseVersion(good)
		require.NoError(t, err, "%q", good)
		require.NoError(t, exec.Command(dpkg, "--compare-versions", good, "eq", good).Run(), "dpkg accepts %q", good)
	}
}
