package format_test

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/python/format"
)

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{
		"Foo":            "foo",
		"foo_bar":        "foo-bar",
		"Foo.Bar":        "foo-bar",
		"foo--bar":       "foo-bar",
		"foo-_.-bar":     "foo-bar",
		"FOO___BAR.baz":  "foo-bar-baz",
		"zope.interface": "zope-interface",
		"a":              "a",
		"_x_":            "-x-",
		"":               "",
		"Ab9":            "ab9",
	} {
		require.Equal(t, want, format.NormalizeName(in), in)
		require.True(t, format.IsNormalized(want), want)
	}
	require.False(t, format.IsNormalized("Foo"))
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"a", "A1", "foo-bar", "foo_bar.baz", "9lives", "a.b-c_d"} {
		require.True(t, format.ValidName(ok), ok)
	}
	for _, bad := range []string{"", "-a", "a-", ".a", "a_", "a b", "a/b", "ä", "a+b", "a\x00"} {
		require.False(t, format.ValidName(bad), bad)
	}
}

func TestNormalizeVersion(t *testing.T) {
	for in, want := range map[string]string{
		"1.0":              "1.0",
		"1.0.0":            "1.0.0",
		"v1.0":             "1.0",
		" 1.0\t":           "1.0",
		"01.002":           "1.2",
		"1.0a":             "1.0a0",
		"1.0-alpha.1":      "1.0a1",
		"1.0.BETA2":        "1.0b2",
		"1.0c3":            "1.0rc3",
		"1.0pre4":          "1.0rc4",
		"1.0preview5":      "1.0rc5",
		"1.0-1":            "1.0.post1",
		"1.0.post":         "1.0.post0",
		"1.0_r7":           "1.0.post7",
		"1.0-rev8":         "1.0.post8",
		"1.0.dev":          "1.0.dev0",
		"1.0-DEV-3":        "1.0.dev3",
		"1!2.0":            "1!2.0",
		"0!2.0":            "2.0",
		"1.0a1.post2.dev3": "1.0a1.post2.dev3",
		"1.0+Ubuntu-1":     "1.0+ubuntu.1",
		"1.0+abc_007.X":    "1.0+abc.7.x",
		"1.0+0":            "1.0+0",
		"2.0rc1+local.00":  "2.0rc1+local.0",
	} {
		got, err := format.NormalizeVersion(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "abc", "1..0", "1.0+", "1.0++", "1.0-", "1.0.post.post", "1.0 a1 x", "٣.0", "99999999999999999999999", string(make([]byte, 300))} {
		_, err := format.NormalizeVersion(bad)
		require.ErrorIs(t, err, format.ErrInvalid, "%q", bad)
	}
}

func TestCompareVersions(t *testing.T) {
	// PEP 440's own ordering example, shuffled.
	want := []string{"1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12", "1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345", "1.0rc1.dev456", "1.0rc1", "1.0", "1.0+abc.5", "1.0+abc.7", "1.0+5", "1.0.post456.dev34", "1.0.post456", "1.0.15", "1.1.dev1", "1!0.1"}
	got := []string{"1.0+5", "1!0.1", "1.0", "1.0b2.post345", "1.0a1", "1.1.dev1", "1.0.post456", "1.0.dev456", "1.0a12", "1.0rc1", "1.0+abc.7", "1.0.15", "1.0b1.dev456", "1.0a2.dev456", "1.0rc1.dev456", "1.0b2", "1.0a12.dev456", "1.0+abc.5", "1.0.post456.dev34", "1.0b2.post345.dev456"}
	sort.Slice(got, func(i, j int) bool { return format.CompareVersions(got[i], got[j]) < 0 })
	require.Equal(t, want, got)
	require.Equal(t, 0, format.CompareVersions("1.0", "1.0.0"))
	require.Equal(t, -1, format.CompareVersions("junk", "0.1"))
	require.Equal(t, 1, format.CompareVersions("0.1", "junk"))
	require.Equal(t, -1, format.CompareVersions("a-junk", "b-junk"))
}

func TestParseWheelName(t *testing.T) {
	w, err := format.ParseWheelName("My_Pkg-1.0rc1-2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
	require.NoError(t, err)
	require.Equal(t, format.WheelName{Name: "My_Pkg", Version: "1.0rc1", Build: "2", Python: "cp311", ABI: "cp311", Platform: "manylinux_2_17_x86_64.manylinux2014_x86_64"}, w)
	w, err = format.ParseWheelName("alpha-1.0-py3-none-any.whl")
	require.NoError(t, err)
	require.Equal(t, format.WheelName{Name: "alpha", Version: "1.0", Python: "py3", ABI: "none", Platform: "any"}, w)

	for _, bad := range []string{
		"alpha-1.0-py3-none-any.zip",
		"alpha-1.0-py3-none.whl",
		"alpha-1.0-x-y-py3-none-any.whl",
		"alpha-1.0-b1-py3-none-any.whl", // build tag must start with a digit
		"-1.0-py3-none-any.whl",
		"al pha-1.0-py3-none-any.whl",
		"alpha-one-py3-none-any.whl",
		"alpha-1.0--none-any.whl",
		".whl",
	} {
		_, err := format.ParseWheelName(bad)
		require.ErrorIs(t, err, format.ErrInvalid, bad)
	}
}

func TestSdistNames(t *testing.T) {
	stem, ok := format.SdistStem("foo-bar-1.0.tar.gz")
	require.True(t, ok)
	require.Equal(t, "foo-bar-1.0", stem)
	_, ok = format.SdistStem("foo-1.0.tar.bz2")
	require.False(t, ok)
	_, ok = format.SdistStem(".zip")
	require.False(t, ok)

	for stem, want := range map[string][2]string{
		"foo-1.0":           {"foo", "1.0"},
		"Foo_Bar-2.0.post1": {"foo-bar", "2.0.post1"},
		"foo-bar-1.0":       {"foo-bar", "1.0"},
		"foo-1.0-1":         {"foo-1-0", "1"}, // ambiguous: the last split wins
	} {
		n, v, ok := format.GuessSdistName(stem)
		require.True(t, ok, stem)
		require.Equal(t, want, [2]string{n, v}, stem)
	}
	for _, bad := range []string{"foo", "foo-", "-1.0", "foo-bar"} {
		_, _, ok := format.GuessSdistName(bad)
		require.False(t, ok, bad)
	}
}

func TestCanonicalVersion(t *testing.T) {
	for in, want := range map[string]string{
		"1": "1", "1.0": "1", "1.0.0": "1", "01.0": "1", "1.10": "1.10", "1.0.1": "1.0.1", "0": "0", "0.0": "0",
		"1.0.0rc1": "1rc1", "1.0-post1": "1.post1", "1!2.0": "1!2", "1.0.0+local.01": "1+local.1", "1.0.dev0": "1.dev0",
		"V1.0.0": "1",
	} {
		got, err := format.CanonicalVersion(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	_, err := format.CanonicalVersion("not a version")
	require.ErrorIs(t, err, format.ErrInvalid)
}
