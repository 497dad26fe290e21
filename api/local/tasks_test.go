package local_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pkgvc/pkgvc/remote/remotetest"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/api/local"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
	storetasks "github.com/pkgvc/pkgvc/tasks"
)

func fastRunner() storetasks.RunnerConfig {
	return storetasks.RunnerConfig{Poll: 10 * time.Millisecond, Flush: 10 * time.Millisecond}
}

func waitTask(t *testing.T, s api.Service, id string) *api.Task {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	task, err := s.WaitTask(ctx, id, nil)
	require.NoError(t, err)
	return task
}

func TestSyncTaskResumesAfterRestart(t *testing.T) {
	up := remotetest.New(map[string][]byte{
		"a.bin": []byte(strings.Repeat("a", 3000)),
		"b.bin": []byte(strings.Repeat("b", 5000)),
		"c.bin": []byte(strings.Repeat("c", 7000)),
		"z.bin": []byte(strings.Repeat("z", 9000)),
	}, "z.bin")
	srv := httptest.NewServer(up)
	defer srv.Close()

	s := open(t, local.WithStoreTasks())
	ctx := t.Context()
	_, err := s.CreateRepo(ctx, "mirror", repo.CreateOptions{})
	require.NoError(t, err)
	// One download at a time: when z.bin is asked for, a, b and c are
	// verified and kept.
	_, err = s.CreateRemote(ctx, remote.Remote{Name: "up", Kind: "file", URL: srv.URL + "/PULP_MANIFEST", DownloadConcurrency: 1})
	require.NoError(t, err)

	first := s.TaskRunner(fastRunner())
	require.NoError(t, first.Start(context.Background()))
	req := api.TaskRequest{Op: "sync", Args: []string{"up", "mirror"}}
	task, err := s.StartTask(ctx, req)
	require.NoError(t, err)
	require.Equal(t, "mirror", task.Repo)
	select {
	case <-up.Asked:
	case <-time.After(20 * time.Second):
		t.Fatal("the sync never reached z.bin")
	}
	running, err := s.ShowTask(ctx, task.ID)
	require.NoError(t, err)
	require.Equal(t, api.TaskRunning, running.State)

	// The server stops in the middle of the sync.
	require.NoError(t, first.Close())
	got, err := s.ShowTask(ctx, task.ID)
	require.NoError(t, err)
	require.Equal(t, api.TaskFailed, got.State)
	require.Equal(t, storetasks.Interrupted, got.Error)
	info, err := s.ShowRepo(ctx, "mirror")
	require.NoError(t, err)
	require.Nil(t, info.Head, "no version from an interrupted sync")

	// It starts again; the sync is run again and finishes.
	close(up.Release)
	second := s.TaskRunner(fastRunner())
	require.NoError(t, second.Start(context.Background()))
	defer second.Close()
	again, err := s.StartTask(ctx, req)
	require.NoError(t, err)
	done := waitTask(t, s, again.ID)
	require.Equal(t, api.TaskCompleted, done.State, done.Error)
	var res remote.SyncResult
	require.NoError(t, json.Unmarshal(done.Result, &res))
	require.True(t, res.Changed)
	require.Equal(t, 4, res.Added)
	require.Equal(t, 3, res.Reused, "what the first run verified is not downloaded again")
	require.Equal(t, 1, res.Downloaded)
	require.Equal(t, api.Progress{Done: 9000, Total: 9000, Unit: "bytes"}, done.Progress)
	require.Equal(t, map[string]int{"a.bin": 1, "b.bin": 1, "c.bin": 1, "z.bin": 2}, up.Gets())
	require.Equal(t, "zzz", cat(t, s, "mirror", "z.bin")[:3])
}

func TestTaskOps(t *testing.T) {
	s := open(t, local.WithStoreTasks())
	ctx := t.Context()
	_, err := s.CreateRepo(ctx, "dev", repo.CreateOptions{})
	require.NoError(t, err)
	for _, tc := range []struct {
		req  api.TaskRequest
		want error
	}{
		{api.TaskRequest{Op: "sync", Args: []string{"nope", "dev"}}, repo.ErrNotFound},
		{api.TaskRequest{Op: "sync", Args: []string{"up"}}, repo.ErrInvalid},
		{api.TaskRequest{Op: "sync", Args: []string{"up", "dev", "--bogus"}}, repo.ErrInvalid},
		{api.TaskRequest{Op: "gc", Args: []string{"--grace", "soon"}}, repo.ErrInvalid},
		{api.TaskRequest{Op: "gc", Args: []string{"extra"}}, repo.ErrInvalid},
		{api.TaskRequest{Op: "fsck", Args: []string{"x"}}, repo.ErrInvalid},
		{api.TaskRequest{Op: "reflog-expire"}, repo.ErrInvalid},
		{api.TaskRequest{Op: "reflog-expire", Args: []string{"--older-than", "soon"}}, repo.ErrInvalid},
		{api.TaskRequest{Op: "reflog-expire", Args: []string{"--older-than", "0d"}}, repo.ErrInvalid},
		{api.TaskRequest{Op: "commit"}, repo.ErrInvalid},
	} {
		_, err := s.StartTask(ctx, tc.req)
		require.ErrorIs(t, err, tc.want, "%v", tc.req)
	}
	_, err = s.CreateSchedule(ctx, api.Schedule{Name: "gc", Cron: "0 3 * * *", Request: api.TaskRequest{Op: "gc", Args: []string{"--dry-run"}}})
	require.NoError(t, err)

	runner := s.TaskRunner(fastRunner())
	require.NoError(t, runner.Start(context.Background()))
	defer runner.Close()
	gc, err := s.StartTask(ctx, api.TaskRequest{Op: "gc", Args: []string{"--grace=0s", "--dry-run"}})
	require.NoError(t, err)
	fsck, err := s.StartTask(ctx, api.TaskRequest{Op: "fsck"})
	require.NoError(t, err)
	// A reflog expiry as a task: nothing is 90 days old yet.
	exp, err := s.StartTask(ctx, api.TaskRequest{Op: "reflog-expire", Args: []string{"--older-than=90d"}})
	require.NoError(t, err)
	g := waitTask(t, s, gc.ID)
	require.Equal(t, api.TaskCompleted, g.State, g.Error)
	var gres repo.GCResult
	require.NoError(t, json.Unmarshal(g.Result, &gres))
	f := waitTask(t, s, fsck.ID)
	require.Equal(t, api.TaskCompleted, f.State, f.Error)
	var fres repo.FsckResult
	require.NoError(t, json.Unmarshal(f.Result, &fres))
	require.Empty(t, fres.Problems)
	require.NotEmpty(t, f.Log)
	x := waitTask(t, s, exp.ID)
	require.Equal(t, api.TaskCompleted, x.State, x.Error)
	var xres repo.ReflogExpireResult
	require.NoError(t, json.Unmarshal(x.Result, &xres))
	require.Zero(t, xres.Removed)
	require.WithinDuration(t, time.Now().Add(-90*24*time.Hour), xres.OlderThan, time.Minute)
	_, err = s.CreateSchedule(ctx, api.Schedule{Name: "expire", Cron: "0 4 * * 0", Request: api.TaskRequest{Op: "reflog-expire", Args: []string{"--older-than", "180d"}}})
	require.NoError(t, err)
}

// TestLocalGCIsATask: a gc run in this process with store tasks is
// recorded as a gc task, so that every process sharing the store sees it
// running and keeps its task locks; it returns its result as it is.
func TestLocalGCIsATask(t *testing.T) {
	s := open(t, local.WithStoreTasks())
	ctx := t.Context()
	content := "uploaded, pinned"
	id, err := s.PutBlob(ctx, strings.NewReader(content), int64(len(content)), objects.Sum([]byte(content)))
	require.NoError(t, err)
	res, err := s.GC(ctx, repo.GCOptions{Grace: -1})
	require.NoError(t, err)
	require.NotNil(t, res)
	require.Equal(t, 1, res.ReachableBlobs, "the pinned upload is a root")
	require.Zero(t, res.DeletedBlobs)
	has, err := s.Store().Objects().HasBlob(ctx, id)
	require.NoError(t, err)
	require.True(t, has)
	tasks, err := s.ListTasks(ctx)
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	require.Equal(t, "gc", tasks[0].Request.Op)
	require.Equal(t, []string{"--grace", "0s"}, tasks[0].Request.Args)
	require.Equal(t, api.TaskCompleted, tasks[0].State)
	var got repo.GCResult
	require.NoError(t, json.Unmarshal(tasks[0].Result, &got))
	require.Equal(t, *res, got)
}
