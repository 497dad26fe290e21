package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLsPrefix: `ls REV PREFIX` prints, in the same format, the lines of
// `ls REV` whose path starts with PREFIX, as a string.
func TestLsPrefix(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "dev")
	for _, p := range []string{"d7/a.txt", "d7/b/c.txt", "d70/x.txt", "d7.txt", "e/f.txt"} {
		h.file("in/"+p, []byte("content of "+p))
	}
	h.ok("commit", "dev", "--add", h.work+"/in")
	full := strings.Split(strings.TrimSuffix(h.ok("ls", "dev"), "\n"), "\n")
	require.Len(t, full, 5)
	var fullJSON []map[string]any
	h.jsonOK(&fullJSON, "ls", "dev")
	for _, prefix := range []string{"d7/", "d7", "d70/", "e", "d7/b/c.txt", "zz", ""} {
		var want []string
		var wantJSON []map[string]any
		for i, line := range full {
			if strings.HasPrefix(strings.Fields(line)[2], prefix) {
				want = append(want, line)
				wantJSON = append(wantJSON, fullJSON[i])
			}
		}
		out := h.ok("ls", "dev", prefix)
		if len(want) == 0 {
			require.Empty(t, out, prefix)
			require.Equal(t, "[]", strings.TrimSpace(h.ok("--json", "ls", "dev", prefix)))
			continue
		}
		got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		// Column widths follow the lines printed; the fields do not.
		require.Equal(t, len(want), len(got), prefix)
		for i := range want {
			require.Equal(t, strings.Fields(want[i]), strings.Fields(got[i]), prefix)
		}
		var gotJSON []map[string]any
		require.NoError(t, json.Unmarshal([]byte(h.ok("--json", "ls", "dev", prefix)), &gotJSON))
		require.Equal(t, wantJSON, gotJSON, prefix)
	}
	requireRefused(t, h.run("ls", "nope", "d7/"), "nope")
}
