package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/remote/remotetest"
)

// startServeProc starts `pkgvc serve` as its own process on store and
// waits until it answers /healthz.
func startServeProc(t *testing.T, store string) (*proc, string) {
	t.Helper()
	addr := freeAddr(t)
	p := startProc(t, store, "", "serve", "--listen", addr, "--access-log", os.DevNull)
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	base := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 20*time.Second, 50*time.Millisecond, "serve did not start")
	return p, base
}

// procStore makes a store by running each command line as its own pkgvc
// process, then creates a *:*:admin token and sets it as $PKGVC_TOKEN.
func procStore(t *testing.T, cmds ...[]string) string {
	t.Helper()
	store := filepath.Join(t.TempDir(), "store")
	for _, args := range cmds {
		r := runProc(t, store, args...)
		require.Equal(t, 0, r.code, "%v: %s", args, r)
	}
	r := runProc(t, store, "--json", "token", "create", "--name", "ops", "--scope", "*:*:admin")
	require.Equal(t, 0, r.code, r.String())
	var tok struct{ Token string }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &tok))
	t.Setenv("PKGVC_TOKEN", tok.Token)
	return store
}

// TestProcessSyncTaskSurvivesServeKill: a sync task runs in a `pkgvc serve`
// that is killed (SIGKILL) in the middle of a download. The restarted
// server marks the task failed as interrupted without waiting for its
// lease, and the same sync run again completes, downloading only what the
// killed run had not verified.
func TestProcessSyncTaskSurvivesServeKill(t *testing.T) {
	up := remotetest.New(map[string][]byte{
		"a.bin": []byte(strings.Repeat("a", 3000)),
		"b.bin": []byte(strings.Repeat("b", 5000)),
		"z.bin": []byte(strings.Repeat("z", 9000)),
	}, "z.bin")
	ts := httptest.NewServer(up)
	t.Cleanup(ts.Close)

	store := procStore(t,
		[]string{"repo", "create", "mirror"},
		// One download at a time, in path order: z.bin comes last.
		[]string{"remote", "create", "up", "--url", ts.URL + "/PULP_MANIFEST", "--download-concurrency", "1"},
	)

	first, base := startServeProc(t, store)
	r := runCLI(t, "--server", base, "sync", "--no-wait", "up", "mirror")
	require.Equal(t, 0, r.code, r.String())
	id := strings.TrimSpace(r.stdout)
	select {
	case <-up.Asked:
	case <-time.After(30 * time.Second):
		t.Fatal("the sync never reached z.bin")
	}
	show := func(base string) api.Task {
		t.Helper()
		r := runCLI(t, "--server", base, "--json", "task", "show", id)
		require.Equal(t, 0, r.code, r.String())
		var task api.Task
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &task))
		return task
	}
	require.Equal(t, api.TaskRunning, show(base).State)
	// Verified downloads reach the store within seconds, not only at the
	// end of the sync.
	for _, name := range []string{"a.bin", "b.bin"} {
		blob := filepath.Join(store, "data", "blobs", fmt.Sprintf("%x", sha256.Sum256(up.Files[name])))
		blob = filepath.Join(filepath.Dir(blob), filepath.Base(blob)[:2], filepath.Base(blob))
		require.Eventually(t, func() bool {
			_, err1 := os.Stat(blob)
			_, err2 := os.Stat(blob + ".zst")
			return err1 == nil || err2 == nil
		}, 20*time.Second, 50*time.Millisecond, "%s is not in the store while the sync runs", name)
	}

	require.NoError(t, first.cmd.Process.Kill())
	_ = first.cmd.Wait()
	killed := time.Now()

	_, base = startServeProc(t, store)
	var task api.Task
	require.Eventually(t, func() bool {
		task = show(base)
		return task.State != api.TaskRunning
	}, 20*time.Second, 100*time.Millisecond, "the killed server's task stays running")
	require.Less(t, time.Since(killed), 25*time.Second, "marked before its 30 s lease ran out")
	require.Equal(t, api.TaskFailed, task.State)
	require.Contains(t, task.Error, "interrupted")
	info := runCLI(t, "--server", base, "--json", "log", "mirror")
	require.NotEqual(t, 0, info.code, "no version from the interrupted sync: %s", info)

	close(up.Release)
	r = runCLI(t, "--server", base, "--json", "sync", "up", "mirror")
	require.Equal(t, 0, r.code, r.String())
	var res remote.SyncResult
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
	require.True(t, res.Changed)
	require.Equal(t, 3, res.Added)
	require.Equal(t, 2, res.Reused, "what the killed run verified is not downloaded again")
	require.Equal(t, 1, res.Downloaded)
	require.Equal(t, map[string]int{"a.bin": 1, "b.bin": 1, "z.bin": 2}, up.Gets())
	r = runCLI(t, "--server", base, "cat", "mirror", "z.bin")
	require.Equal(t, 0, r.code, r.String())
	require.Equal(t, string(up.Files["z.bin"]), r.stdout)
}

// TestProcessTwoServesShareStore: two `pkgvc serve` processes on one store
// serve what a commit through either made, and share its task queue: syncs
// queued through both complete, each in whichever process claimed it, and
// the upstream's files are downloaded once.
func TestProcessTwoServesShareStore(t *testing.T) {
	up := remotetest.New(map[string][]byte{
		"u/one.txt": []byte("one from upstream"),
		"u/two.txt": []byte("two from upstream"),
	}, "")
	ts := httptest.NewServer(up)
	t.Cleanup(ts.Close)
	store := procStore(t,
		[]string{"repo", "create", "dev"},
		[]string{"dist", "create", "web", "--base-path", "web", "--repo", "dev"},
		[]string{"remote", "create", "up", "--url", ts.URL + "/PULP_MANIFEST"},
	)
	_, a := startServeProc(t, store)
	_, b := startServeProc(t, store)

	file := filepath.Join(t.TempDir(), "app.txt")
	require.NoError(t, os.WriteFile(file, []byte("built once"), 0o644))
	r := runCLI(t, "--server", a, "commit", "dev", "--add", file, "-m", "through a")
	require.Equal(t, 0, r.code, r.String())
	require.Equal(t, "built once", string(fetch(t, b+"/content/web/app.txt")), "b serves a's commit")

	var ids []string
	for i := range 6 {
		r := runCLI(t, "--server", []string{a, b}[i%2], "sync", "--no-wait", "up", "dev")
		require.Equal(t, 0, r.code, r.String())
		ids = append(ids, strings.TrimSpace(r.stdout))
	}
	for _, id := range ids {
		r := runCLI(t, "--server", b, "--json", "task", "wait", id)
		require.Equal(t, 0, r.code, r.String())
		var task api.Task
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &task))
		require.Equal(t, api.TaskCompleted, task.State, task.Error)
	}
	require.Equal(t, map[string]int{"u/one.txt": 1, "u/two.txt": 1}, up.Gets(), "each file downloaded once")
	r = runCLI(t, "--server", a, "--json", "log", "dev")
	require.Equal(t, 0, r.code, r.String())
	var log []struct{ Message string }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &log))
	require.Len(t, log, 2, "one commit, one sync that changed something: %+v", log)
	require.Equal(t, "two from upstream", string(fetch(t, a+"/content/web/u/two.txt")))
}
