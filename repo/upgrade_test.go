package repo_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/location/fsstore"
	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
	"github.com/pkgvc/pkgvc/repo"
)

// toFormat1 rewrites the store in dir, opened as st, into store format 1:
// every metadata document becomes an object named by the ref
// "config/KEY" (a repository's in the configuration encoding), every pin
// the ref it was, the metadata store goes, and the marker says 1.
func toFormat1(t *testing.T, ctx context.Context, st *repo.Store, dir string) {
	t.Helper()
	var ups []refs.Update
	require.NoError(t, st.Meta().List(ctx, "", func(key string, value []byte, _ meta.Rev) error {
		var data []byte
		var err error
		switch {
		case strings.HasPrefix(key, repo.PinPrefix):
			var p repo.Pin
			require.NoError(t, json.Unmarshal(value, &p))
			require.Len(t, p.Versions, 1)
			ups = append(ups, refs.Update{Name: strings.TrimPrefix(key, repo.PinPrefix), New: p.Versions[0]})
			return nil
		case strings.HasPrefix(key, "repos/"):
			var cfg repo.Config
			require.NoError(t, json.Unmarshal(value, &cfg))
			data, err = repo.EncodeConfig(&cfg)
		default:
			data, err = repo.EncodeDoc(json.RawMessage(value))
		}
		require.NoError(t, err)
		b := st.Objects().NewBatch()
		res, err := b.PutObject(ctx, data)
		require.NoError(t, err)
		require.NoError(t, b.Flush(ctx))
		ups = append(ups, refs.Update{Name: "config/" + key, New: res.ID})
		return nil
	}))
	require.NoError(t, st.ApplyRefs(ctx, "format 1", ups...))
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "meta")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pkgvc-store.json"), []byte(`{"format":1}`+"\n"), 0o644))
}

// metaDump returns every document of m.
func metaDump(t *testing.T, ctx context.Context, m meta.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, m.List(ctx, "", func(key string, value []byte, _ meta.Rev) error {
		out[key] = string(value)
		return nil
	}))
	return out
}

func TestUpgradeFormat1(t *testing.T) {
	e := newFSEnv(t)
	ctx := e.ctx
	e.create("dev", repo.CreateOptions{Retain: 2})
	e.create("prod", repo.CreateOptions{})
	var ids []objects.ID
	for i, c := range []string{"one", "two", "three", "four"} {
		res, err := e.s.Commit(ctx, "dev", repo.CommitRequest{Adds: []repo.Add{{Path: "a.txt", File: e.file(c)}}, Message: c})
		require.NoError(t, err, i)
		ids = append(ids, res.ID)
	}
	info, err := e.s.ShowRepo(ctx, "dev")
	require.NoError(t, err)
	require.NotEmpty(t, info.Shallow, "retention set a boundary")

	// Documents of the other packages, as they store them; the
	// distribution is pinned to a version retention dropped from dev.
	m := e.s.Meta()
	put := func(key, value string) {
		_, err := meta.PutIf(ctx, m, key, []byte(value), "")
		require.NoError(t, err)
	}
	put("dists/web", `{"name":"web","base_path":"web","version":"`+ids[0].String()+`","kind":"file","created":"2026-01-01T00:00:00Z"}`)
	pin, err := repo.PinOp(repo.PinPrefix+"dists/web", []objects.ID{ids[0]}, "")
	require.NoError(t, err)
	_, err = m.Apply(ctx, pin)
	require.NoError(t, err)
	put("dist-set", `{"seq":3}`)
	put("remotes/up", `{"name":"up","kind":"file","url":"http://h/PULP_MANIFEST"}`)
	put("tokens/ci", `{"name":"ci","hash":"ab"}`)
	put("token-hashes/ab", `{"name":"ci","hash":"ab"}`)
	put("tasks/0001", `{"id":"0001","state":"completed","progress":{"done":10}}`)
	put("schedules/nightly", `{"name":"nightly","cron":"0 3 * * *"}`)
	put("task-locks", `{"repos":{}}`)
	want := metaDump(t, ctx, m)
	devHead, err := e.s.RepoHead(ctx, "dev")
	require.NoError(t, err)
	devLog, err := e.s.Log(ctx, "dev", 0)
	require.NoError(t, err)
	toFormat1(t, ctx, e.s, e.dir)

	// A format 1 store is refused, with what to do.
	_, err = fsstore.OpenDir(ctx, e.dir, all.Kinds())
	require.ErrorIs(t, err, repo.ErrUpgrade)
	require.ErrorIs(t, err, repo.ErrFormat)
	require.Contains(t, err.Error(), "store format 1: run pkgvc upgrade")
	_, err = fsstore.OpenExistingDir(ctx, e.dir, all.Kinds())
	require.ErrorIs(t, err, repo.ErrUpgrade)

	// An upgrade stopped by a failing step records no new format, and
	// run again finishes.
	fail := errors.New("power cut")
	calls := 0
	step := func(ctx context.Context, st *repo.Store) error {
		calls++
		if calls == 1 {
			return fail
		}
		// The documents are in place when steps run.
		_, err := st.ShowRepo(ctx, "dev")
		return err
	}
	_, err = fsstore.Upgrade(ctx, e.dir, all.Kinds(), []repo.UpgradeStep{step})
	require.ErrorIs(t, err, fail)
	_, err = fsstore.OpenDir(ctx, e.dir, all.Kinds())
	require.ErrorIs(t, err, repo.ErrUpgrade)

	rep, err := fsstore.Upgrade(ctx, e.dir, all.Kinds(), []repo.UpgradeStep{step})
	require.NoError(t, err)
	require.Equal(t, 1, rep.From)
	require.Equal(t, 2, rep.To)
	require.Equal(t, 1, rep.Steps)
	require.Equal(t, 2, calls)
	require.Empty(t, rep.Documents, "the first run moved them")

	st, err := fsstore.OpenDir(ctx, e.dir, all.Kinds())
	require.NoError(t, err)
	require.Equal(t, want, metaDump(t, ctx, st.Meta()), "every document and task is there")
	var left []string
	require.NoError(t, st.Refs().List(ctx, "", func(name string, _ objects.ID) error {
		if strings.HasPrefix(name, "config/") || strings.HasPrefix(name, "dists/") {
			left = append(left, name)
		}
		return nil
	}))
	require.Empty(t, left)
	head, err := st.RepoHead(ctx, "dev")
	require.NoError(t, err)
	require.Equal(t, devHead, head)
	got, err := st.Log(ctx, "dev", 0)
	require.NoError(t, err)
	require.Equal(t, len(devLog), len(got))
	info2, err := st.ShowRepo(ctx, "dev")
	require.NoError(t, err)
	require.Equal(t, info.Config, info2.Config)

	res, err := st.Fsck(ctx)
	require.NoError(t, err)
	require.Empty(t, res.Problems)
	// gc collects the documents' old objects, keeps every version named.
	_, err = st.GC(ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	_, err = st.Version(ctx, ids[0])
	require.NoError(t, err, "the pinned version stays")
	_, err = st.Version(ctx, ids[1])
	require.ErrorIs(t, err, objects.ErrNotFound, "retention let the unpinned one go")
	res, err = st.Fsck(ctx)
	require.NoError(t, err)
	require.Empty(t, res.Problems)

	// Done once: again is nothing to do.
	rep, err = fsstore.Upgrade(ctx, e.dir, all.Kinds(), []repo.UpgradeStep{step})
	require.NoError(t, err)
	require.Equal(t, 2, rep.From)
	require.Equal(t, 2, calls)
}

// The first run of an upgrade reports what it moved.
func TestUpgradeReport(t *testing.T) {
	e := newFSEnv(t)
	e.create("dev", repo.CreateOptions{})
	e.create("prod", repo.CreateOptions{})
	_, err := meta.PutIf(e.ctx, e.s.Meta(), "tasks/0001", []byte(`{"id":"0001"}`), "")
	require.NoError(t, err)
	toFormat1(t, e.ctx, e.s, e.dir)
	rep, err := fsstore.Upgrade(e.ctx, e.dir, all.Kinds(), nil)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"repos": 2, "tasks": 1}, rep.Documents)
	require.Equal(t, 3, rep.RefsDeleted)
	_, err = fsstore.Upgrade(e.ctx, filepath.Join(t.TempDir(), "none"), all.Kinds(), nil)
	require.ErrorIs(t, err, repo.ErrNoStore)
}
