package main

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v3"

	remoteall "github.com/pkgvc/pkgvc/kinds/all"
)

// repeated is how a repeatable flag shows its repetition.
var repeated = regexp.MustCompile(` \[ --\S+ \S+ \]`)

// flagColumn is the names-and-placeholder column of a flag's help line.
var flagColumn = regexp.MustCompile(`^\s+(--?\S.*?)(\s{2,}|$)`)

// TestHelpTexts walks every command's --help: no flag shows a sentence as
// its placeholder (a backquoted word in a bool flag's usage), no default
// is printed twice, every --kind lists the registered kinds, and no text
// keeps backquotes or doubles the program's name.
func TestHelpTexts(t *testing.T) {
	var paths [][]string
	walkCommands(newApp(&env{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}), nil, func(_ *cli.Command, path []string) {
		paths = append(paths, path)
	})
	require.Greater(t, len(paths), 30)
	for _, path := range paths {
		name := strings.Join(append([]string{"pkgvc"}, path...), " ")
		t.Run(name, func(t *testing.T) {
			r := runCLI(t, append(slices.Clip(path), "--help")...)
			require.Equal(t, 0, r.code, "%s", r)
			out := r.stdout
			require.Contains(t, out, "USAGE:")
			assert.NotContains(t, out, "`", "backquotes left in the help")
			assert.NotContains(t, out, "pkgvc pkgvc")
			for _, line := range strings.Split(out, "\n") {
				m := flagColumn.FindStringSubmatch(line)
				if m == nil || !strings.HasPrefix(strings.TrimSpace(line), "-") {
					continue
				}
				col := repeated.ReplaceAllString(m[1], "") // "--add FILE [ --add FILE ]": a repeatable flag
				for _, part := range strings.Split(col, ", ") {
					assert.LessOrEqual(t, len(strings.Fields(part)), 2, "%q: a flag shows a sentence as its value: %s", part, line)
				}
				assert.LessOrEqual(t, strings.Count(strings.ToLower(line), "default"), 1, "a default said twice: %s", line)
				if strings.HasPrefix(strings.TrimSpace(line), "--kind ") {
					kinds := remoteall.Kinds().Names()
					if len(path) > 0 && path[0] == "remote" {
						kinds = remoteall.Syncers().Kinds()
					}
					for _, k := range kinds {
						assert.Contains(t, line, k, "--kind without the kind %s: %s", k, line)
					}
				}
			}
		})
	}
}
