package server

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api/wire"
	"github.com/pkgvc/pkgvc/repo"
)

func TestParseContentRange(t *testing.T) {
	for _, tc := range []struct {
		in         string
		start, end int64
		bad        bool
	}{
		{in: "bytes 0-9/10", start: 0, end: 9},
		{in: "bytes 5-9/*", start: 5, end: 9},
		{in: "bytes 0-0/1", start: 0, end: 0},
		{in: "bytes 0-9/9", bad: true},
		{in: "bytes 9-5/*", bad: true},
		{in: "bytes -1-5/*", bad: true},
		{in: "bytes 0-9", bad: true},
		{in: "items 0-9/10", bad: true},
		{in: "", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			s, e, err := parseContentRange(tc.in)
			if tc.bad {
				require.ErrorIs(t, err, repo.ErrInvalid)
				return
			}
			require.NoError(t, err)
			require.Equal(t, [2]int64{tc.start, tc.end}, [2]int64{s, e})
		})
	}
}

func TestPaginate(t *testing.T) {
	items := []string{"a", "b", "c", "d", "e"}
	key := func(s string) string { return s }
	collect := func(key func(string) string, sorted bool, limit int, items []string) []string {
		var out []string
		p := PageParams{Limit: limit}
		for {
			pg, err := paginate(items, p, key, sorted)
			require.NoError(t, err)
			out = append(out, pg.Items...)
			if pg.Next == "" {
				return out
			}
			p.Cursor = pg.Next
		}
	}
	require.Equal(t, items, collect(key, true, 2, items))
	require.Equal(t, items, collect(nil, false, 2, items))
	require.Equal(t, items, collect(key, true, 5, items))

	// The item a cursor names is gone: a sorted list goes on after it.
	pg, err := paginate(items, PageParams{Limit: 2}, key, true)
	require.NoError(t, err)
	pg, err = paginate([]string{"a", "c", "d", "e"}, PageParams{Limit: 2, Cursor: pg.Next}, key, true)
	require.NoError(t, err)
	require.Equal(t, []string{"c", "d"}, pg.Items)

	_, err = paginate(items, PageParams{Cursor: "%%"}, key, true)
	require.ErrorIs(t, err, repo.ErrInvalid)
	_, err = paginate(items, PageParams{Cursor: wire.EncodeCursor("x" + strconv.Itoa(1))}, nil, false)
	require.ErrorIs(t, err, repo.ErrInvalid)
	pg, err = paginate([]string{}, PageParams{}, key, true)
	require.NoError(t, err)
	require.NotNil(t, pg.Items)
}
