package format_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/deb/format"
)

func TestParseRelations(t *testing.T) {
	rs, err := format.ParseRelations("libc6 (>= 2.34), default-mta | mail-transport-agent,\n python3:any (<< 3.13~),\n" +
		" foo [amd64 !i386] <!nocheck> <stage1 cross>, bar (>2), baz(=1:1.0-1),")
	require.NoError(t, err)
	require.Len(t, rs, 6, "the trailing comma adds nothing")
	require.Equal(t, format.Relation{Name: "libc6", Op: ">=", Version: "2.34"}, rs[0][0])
	require.Equal(t, []string{"default-mta", "mail-transport-agent"}, []string{rs[1][0].Name, rs[1][1].Name})
	require.Equal(t, format.Relation{Name: "python3", ArchQual: "any", Op: "<<", Version: "3.13~"}, rs[2][0])
	require.Equal(t, format.Relation{Name: "foo", Arches: []string{"amd64", "!i386"}, Profiles: [][]string{{"!nocheck"}, {"stage1", "cross"}}}, rs[3][0])
	require.Equal(t, ">=", rs[4][0].Op, "obsolete > is >=")
	require.Equal(t, "baz (= 1:1.0-1)", rs[5][0].String())
	require.Equal(t, "libc6 (>= 2.34), default-mta | mail-transport-agent, python3:any (<< 3.13~), foo [amd64 !i386] <!nocheck> <stage1 cross>, bar (>= 2), baz (= 1:1.0-1)", rs.String())

	for _, bad := range []string{"a | | b", "Foo", "x", "a (>= )", "a (=> 1)", "a (>= 1", "a [amd64", "a []", "a <>", "a (>= 1) junk", "a:", "a (== 1)"} {
		_, err := format.ParseRelations(bad)
		require.Error(t, err, "%q", bad)
	}

	r := format.Relation{Name: "a", Op: ">=", Version: "1:1.0"}
	require.True(t, r.SatisfiedBy("1:1.0"))
	require.True(t, r.SatisfiedBy("2:0.1"))
	require.False(t, r.SatisfiedBy("1.5"))
	require.False(t, r.SatisfiedBy("garbage"))
	for op, want := range map[string][3]bool{"<<": {true, false, false}, "<=": {true, true, false}, "=": {false, true, false}, ">=": {false, true, true}, ">>": {false, false, true}} {
		r := format.Relation{Name: "a", Op: op, Version: "1.0"}
		require.Equal(t, want, [3]bool{r.SatisfiedBy("1.0~rc1"), r.SatisfiedBy("1.0-0"), r.SatisfiedBy("1.0+b1")}, op)
	}
	require.True(t, format.Relation{Name: "a"}.SatisfiedBy("anything"))
}

func TestNames(t *testing.T) {
	for _, n := range []string{"hello", "libc6", "g++", "a.b-c+d", "0ad"} {
		require.True(t, format.ValidPackageName(n), n)
	}
	for _, n := range []string{"", "a", "Hello", "-x", ".x", "a_b", "a b", "a/b"} {
		require.False(t, format.ValidPackageName(n), n)
	}
	for _, a := range []string{"all", "amd64", "kfreebsd-i386", "arm64"} {
		require.True(t, format.ValidArchitecture(a), a)
	}
	for _, a := range []string{"", "any", "source", "AMD64", "x_86", "-x"} {
		require.False(t, format.ValidArchitecture(a), a)
	}
}
