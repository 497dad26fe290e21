package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/kinds/python/format/pythontest"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/refs"
	"github.com/pkgvc/pkgvc/repo"
)

// writeFormat1 rewrites the store in dir into store format 1's layout: its
// documents as objects (a tag byte, an encoding version, JSON) named by
// refs under config/, pins as the refs dists/NAME, no metadata store.
func writeFormat1(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	st, err := fsstore.OpenDir(ctx, dir, all.Kinds())
	require.NoError(t, err)
	var ups []refs.Update
	require.NoError(t, st.Meta().List(ctx, "", func(key string, value []byte, _ meta.Rev) error {
		if strings.HasPrefix(key, repo.PinPrefix) {
			var p repo.Pin
			require.NoError(t, json.Unmarshal(value, &p))
			ups = append(ups, refs.Update{Name: strings.TrimPrefix(key, repo.PinPrefix), New: p.Versions[0]})
			return nil
		}
		tag := byte('K')
		if strings.HasPrefix(key, "repos/") {
			tag = 'R'
		}
		b := st.Objects().NewBatch()
		res, err := b.PutObject(ctx, append(append([]byte{tag, 1}, value...), '\n'))
		require.NoError(t, err)
		require.NoError(t, b.Flush(ctx))
		ups = append(ups, refs.Update{Name: "config/" + key, New: res.ID})
		return nil
	}))
	require.NoError(t, st.ApplyRefs(ctx, "format 1", ups...))
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "meta")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pkgvc-store.json"), []byte(`{"format":1}`+"\n"), 0o644))
}

func TestUpgradeCLI(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "dev", "--retain", "2")
	for _, c := range []string{"one", "two", "three"} {
		h.commit("dev", h.file(c+".txt", []byte(c)))
	}
	h.ok("dist", "create", "web", "--base-path", "web", "--repo", "dev")
	h.ok("dist", "create", "old", "--base-path", "old", "--version", "dev@2")
	h.ok("remote", "create", "up", "--url", "http://127.0.0.1:9/PULP_MANIFEST")
	h.ok("token", "create", "--name", "ci", "--scope", "repo:*:read")
	h.ok("schedule", "create", "nightly", "--cron", "0 3 * * *", "gc")
	h.ok("gc", "--no-wait")
	reads := [][]string{
		{"repo", "list"}, {"--json", "repo", "list"}, {"log", "dev"}, {"--json", "dist", "list"},
		{"dist", "show", "old"}, {"--json", "remote", "list"}, {"--json", "token", "list"},
		{"--json", "schedule", "list"}, {"--json", "task", "list"},
	}
	before := map[string]string{}
	for _, args := range reads {
		before[strings.Join(args, " ")] = h.ok(args...)
	}
	writeFormat1(t, h.store)

	for _, args := range [][]string{{"repo", "list"}, {"fsck"}, {"repo", "create", "x"}} {
		r := h.run(args...)
		require.Equal(t, 1, r.code, r)
		require.Contains(t, r.stderr, "store format 1: run pkgvc upgrade")
	}
	out := h.ok("upgrade")
	require.Contains(t, out, "moved 2 dists document(s)")
	require.Contains(t, out, "moved 1 repos document(s)")
	require.Contains(t, out, "moved 1 distribution pin(s)")
	require.Contains(t, out, "upgraded "+h.store+" from store format 1 to 2")
	for _, args := range reads {
		require.Equal(t, before[strings.Join(args, " ")], h.ok(args...), "pkgvc %s", strings.Join(args, " "))
	}
	require.Contains(t, h.ok("fsck"), "ok:")
	h.ok("gc", "--grace", "0")
	require.Contains(t, h.ok("fsck"), "ok:")
	require.Equal(t, before["log dev"], h.ok("log", "dev"))

	var rep repo.UpgradeReport
	h.jsonOK(&rep, "upgrade")
	require.Equal(t, 2, rep.From)
	require.Contains(t, h.ok("upgrade"), "already")
}

// An older pkgvc gave a distribution pinned by a full version id the kind
// file whatever the version held; the upgrade gives it its version's kind.
func TestUpgradeFixesPinnedDistributionKinds(t *testing.T) {
	h := newHarness(t)
	h.ok("repo", "create", "py", "--kind", "python")
	wheel, data := pythontest.Spec{Name: "demo", Version: "1.0"}.Wheel()
	id := h.commit("py", h.file(wheel, data)).ID
	h.ok("dist", "create", "pin", "--base-path", "pin", "--version", id)
	h.ok("dist", "create", "web", "--base-path", "web", "--repo", "py")
	// What the older pkgvc stored for the pinned one.
	ctx := context.Background()
	st, err := fsstore.OpenDir(ctx, h.store, all.Kinds())
	require.NoError(t, err)
	var doc map[string]any
	rev, err := meta.GetJSON(ctx, st.Meta(), "dists/pin", &doc)
	require.NoError(t, err)
	require.Equal(t, "python", doc["kind"])
	doc["kind"] = "file"
	_, err = meta.PutJSON(ctx, st.Meta(), "dists/pin", doc, rev)
	require.NoError(t, err)
	writeFormat1(t, h.store)

	out := h.ok("upgrade")
	require.Contains(t, out, "distribution pin: its kind is now its pinned version's")
	require.NotContains(t, out, "distribution web")
	var d struct{ Kind string }
	h.jsonOK(&d, "dist", "show", "pin")
	require.Equal(t, "python", d.Kind)
}
