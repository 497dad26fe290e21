package pulpmanifest_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/file/pulpmanifest"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/repo/tree"
)

var (
	d1 = objects.Sum([]byte("one"))
	d2 = objects.Sum([]byte("two"))
)

func TestParse(t *testing.T) {
	in := fmt.Sprintf("a/one.bin,%s,3\r\n\n\"dir,with comma/two\",%s,3\n", d1, strings.ToUpper(d2.String()))
	got, err := pulpmanifest.Parse(strings.NewReader(in))
	require.NoError(t, err)
	require.Equal(t, []pulpmanifest.Entry{
		{Path: "a/one.bin", SHA256: d1, Size: 3},
		{Path: "dir,with comma/two", SHA256: d2, Size: 3},
	}, got)

	got, err = pulpmanifest.Parse(strings.NewReader(""))
	require.NoError(t, err)
	require.Empty(t, got)
}

func TestParseRefuses(t *testing.T) {
	ok := fmt.Sprintf("ok.txt,%s,3\n", d1)
	cases := []struct {
		name, line, want string
		path             bool // the cause is tree.ErrInvalidPath
	}{
		{"two fields", "a.txt," + d1.String(), "want 3 comma-separated fields", false},
		{"four fields", "a.txt," + d1.String() + ",3,x", "want 3 comma-separated fields", false},
		{"short digest", "a.txt,abcd,3", "want 64 hex digits", false},
		{"non-hex digest", "a.txt," + strings.Repeat("g", 64) + ",3", "not a hex digit", false},
		{"negative size", "a.txt," + d1.String() + ",-1", "non-negative decimal", false},
		{"plus size", "a.txt," + d1.String() + ",+1", "non-negative decimal", false},
		{"non-numeric size", "a.txt," + d1.String() + ",12k", "non-negative decimal", false},
		{"empty size", "a.txt," + d1.String() + ",", "non-negative decimal", false},
		{"huge size", "a.txt," + d1.String() + ",99999999999999999999", "too large", false},
		{"absolute", "/etc/passwd," + d1.String() + ",3", "absolute", true},
		{"dotdot", "../evil," + d1.String() + ",3", "'..'", true},
		{"inner dotdot", "a/../../evil," + d1.String() + ",3", "'..'", true},
		{"dot", "a/./b," + d1.String() + ",3", "'.'", true},
		{"empty segment", "a//b," + d1.String() + ",3", "empty segment", true},
		{"empty path", "," + d1.String() + ",3", "empty", true},
		{"backslash", `a\b,` + d1.String() + ",3", "backslash", true},
		{"control char", "a\x01b," + d1.String() + ",3", "control character", true},
		{"duplicate", "ok.txt," + d2.String() + ",3", "listed twice (first on line 1)", false},
		{"bare quote", `a"b,` + d1.String() + ",3", "column", false},
		{"long line", strings.Repeat("x", pulpmanifest.MaxLineLen+1), "longer than", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := pulpmanifest.Parse(strings.NewReader(ok + c.line + "\n"))
			require.Error(t, err)
			require.ErrorIs(t, err, pulpmanifest.ErrInvalid)
			var le *pulpmanifest.LineError
			require.True(t, errors.As(err, &le), "%T %v", err, err)
			require.Equal(t, 2, le.Line, err.Error())
			require.Contains(t, err.Error(), "PULP_MANIFEST line 2: ")
			require.Contains(t, err.Error(), c.want)
			if c.path {
				require.ErrorIs(t, err, tree.ErrInvalidPath)
			}
		})
	}
}

func TestReadStopsOnCallbackError(t *testing.T) {
	stop := errors.New("stop")
	in := fmt.Sprintf("a,%s,3\nb,%s,3\n", d1, d2)
	n := 0
	err := pulpmanifest.Read(strings.NewReader(in), func(pulpmanifest.Entry) error { n++; return stop })
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1, n)
}

func TestWriteRoundTrip(t *testing.T) {
	entries := []pulpmanifest.Entry{
		{Path: "d/blob.bin", SHA256: d1, Size: 200000},
		{Path: "a,b \"quoted\".txt", SHA256: d2, Size: 0},
		{Path: " leading space", SHA256: d2, Size: 7},
	}
	var buf bytes.Buffer
	require.NoError(t, pulpmanifest.Write(&buf, entries))
	require.True(t, strings.HasPrefix(buf.String(), "d/blob.bin,"+d1.String()+",200000\n"), buf.String())
	got, err := pulpmanifest.Parse(&buf)
	require.NoError(t, err)
	require.Equal(t, entries, got)
}

func TestWriteRefuses(t *testing.T) {
	for _, es := range [][]pulpmanifest.Entry{
		{{Path: "../x", SHA256: d1}},
		{{Path: "x", SHA256: d1, Size: -1}},
		{{Path: "x", SHA256: d1}, {Path: "x", SHA256: d2}},
	} {
		var buf bytes.Buffer
		require.ErrorIs(t, pulpmanifest.Write(&buf, es), pulpmanifest.ErrInvalid)
		require.Zero(t, buf.Len(), "nothing is written")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(fmt.Sprintf("a/b,%s,3\n", d1))
	f.Add(fmt.Sprintf("\"x,y\",%s,0\r\nz,%s,12\n", d1, d2))
	f.Add("../evil,00,1\n")
	f.Add("a,b\n\"")
	f.Fuzz(func(t *testing.T, in string) {
		entries, err := pulpmanifest.Parse(strings.NewReader(in))
		if err != nil {
			require.ErrorIs(t, err, pulpmanifest.ErrInvalid)
			return
		}
		seen := map[string]bool{}
		for _, e := range entries {
			require.NoError(t, tree.ValidatePath(e.Path))
			require.GreaterOrEqual(t, e.Size, int64(0))
			require.False(t, seen[e.Path])
			seen[e.Path] = true
		}
		var buf bytes.Buffer
		require.NoError(t, pulpmanifest.Write(&buf, entries))
		again, err := pulpmanifest.Parse(&buf)
		require.NoError(t, err)
		if len(entries) == 0 {
			require.Empty(t, again)
		} else {
			require.Equal(t, entries, again)
		}
	})
}

func ExampleWrite() {
	_ = pulpmanifest.Write(os.Stdout, []pulpmanifest.Entry{
		{Path: "docs/readme.txt", SHA256: objects.Sum([]byte("hi\n")), Size: 3},
	})
	// Output: docs/readme.txt,98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4,3
}
