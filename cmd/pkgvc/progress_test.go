package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// lastFrame is the last line the bar drew.
func lastFrame(out string) string {
	frames := strings.FieldsFunc(out, func(r rune) bool { return r == '\r' || r == '\n' })
	for i := len(frames) - 1; i >= 0; i-- {
		if strings.TrimSpace(frames[i]) != "" {
			return frames[i]
		}
	}
	return ""
}

// TestProgressBar feeds the progress a sync or a task reports, locally and
// through a server, to the bar: byte units with a rate and the time left,
// whatever came before the totals were known.
func TestProgressBar(t *testing.T) {
	for name, before := range map[string][][3]int64{
		"local sync":                {},
		"queued task, then bytes":   {{0, 0, 0}},       // unit "" (a queued task)
		"nothing known, then bytes": {{0, 0, 1}},       // 0 of 0 bytes
		"spinner, then total":       {{100, 0, 1}},     // bytes of an unknown total
		"total changes":             {{0, 1 << 30, 1}}, // a sync that found files already stored
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			p := newProgressBar(&out, "syncing")
			p.throttle = 0
			for _, b := range before {
				unit := ""
				if b[2] == 1 {
					unit = "bytes"
				}
				p.set(b[0], b[1], unit)
			}
			p.set(0, 3<<20, "bytes")
			time.Sleep(1100 * time.Millisecond) // a rate and an ETA need time
			p.set(1<<20, 3<<20, "bytes")
			f := lastFrame(out.String())
			require.Contains(t, f, "33%", "%q", out.String())
			require.Contains(t, f, "1.0/3.1 MB", "%q", f)
			require.Regexp(t, `[0-9.]+ [kM]B/s`, f, "a rate in bytes")
			require.Regexp(t, `\[\d+s:\d+s\]`, f, "elapsed and left")
			require.NotContains(t, out.String(), "it/s")
			require.NotContains(t, out.String(), "0/0 B")
			p.finish()
			require.Contains(t, lastFrame(out.String()), "100%")
		})
	}
	t.Run("files", func(t *testing.T) {
		var out bytes.Buffer
		p := newProgressBar(&out, "fsck")
		p.throttle = 0
		p.set(0, 0, "")
		p.set(3, 10, "files")
		f := lastFrame(out.String())
		require.Contains(t, f, "(3/10, ")
		require.Contains(t, f, "files/")
		require.NotContains(t, f, "it/s")
	})
	t.Run("nothing known draws nothing", func(t *testing.T) {
		var out bytes.Buffer
		p := newProgressBar(&out, "gc")
		p.set(0, 0, "")
		p.finish()
		require.Empty(t, out.String())
	})
}
