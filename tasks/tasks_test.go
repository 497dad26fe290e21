package tasks

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/repo"
)

func TestIDs(t *testing.T) {
	var src idSource
	now := time.Now()
	var ids []string
	for i := range 1000 {
		id := src.next(now.Add(time.Duration(i/10) * time.Millisecond))
		require.True(t, validID(id), id)
		ids = append(ids, id)
	}
	require.True(t, sort.StringsAreSorted(ids), "ids sort in creation order")
	require.False(t, validID("../../repos/x"))
	require.False(t, validID(""))
}

func TestStartValidates(t *testing.T) {
	svc := New(NewStoreBackend(newStore(t)), newHarness(t).registry())
	ctx := context.Background()
	for _, req := range []Request{
		{Op: "nope"},
		{Op: "hold", Args: []string{"only-one"}},
		{Op: "hold", Args: []string{"Bad Repo", "x"}},
	} {
		_, err := svc.StartTask(ctx, req)
		require.ErrorIs(t, err, ErrInvalid, "%v", req)
	}
	_, err := svc.ShowTask(ctx, "01234567890123456789abcdef")
	require.ErrorIs(t, err, ErrTaskNotFound)
	require.ErrorIs(t, err, repo.ErrNotFound)
	_, err = svc.ShowTask(ctx, "../x")
	require.ErrorIs(t, err, ErrTaskNotFound)
}

func TestStateMachine(t *testing.T) {
	h := newHarness(t)
	clk := newClock()
	svc := New(NewStoreBackend(newStore(t)), h.registry(), WithClock(clk.Now))
	ctx := repo.WithWhoContext(context.Background(), "alice")

	// Queued without a Runner: the CLI on a local store does this.
	task, err := svc.StartTask(ctx, Request{Op: "hold", Args: []string{"dev", "a"}})
	require.NoError(t, err)
	require.Equal(t, Queued, task.State)
	require.Equal(t, "dev", task.Repo)
	require.Equal(t, "alice", task.By)
	require.Equal(t, clk.Now(), task.Created)
	failing := start(t, svc, "fail")

	reg := prometheus.NewPedanticRegistry()
	cfg := fastConfig(2)
	cfg.Registerer = reg
	cfg.ErrorCode = func(err error) string { return "code of " + err.Error() }
	startRunner(t, svc, cfg)
	require.Equal(t, "a", h.waitStarted())
	requireState(t, svc, task.ID, Running)
	// Progress and log reach the store while it runs.
	require.Eventually(t, func() bool {
		cur := show(t, svc, task.ID)
		return cur.Progress == Progress{Done: 1, Total: 2, Unit: "steps"} && len(cur.Log) == 1
	}, 10*time.Second, 5*time.Millisecond)

	var seen []string
	var mu sync.Mutex
	type waited struct {
		task *Task
		err  error
	}
	done, first := make(chan waited), make(chan struct{})
	go func() {
		got, err := svc.WaitTask(context.Background(), task.ID, func(p *Task) {
			mu.Lock()
			if seen = append(seen, p.State); len(seen) == 1 {
				close(first)
			}
			mu.Unlock()
		})
		done <- waited{got, err}
	}()
	<-first
	clk.Add(time.Minute)
	h.release("a")
	w := <-done
	require.NoError(t, w.err)
	got := w.task
	require.Equal(t, Completed, got.State)
	require.Empty(t, got.Error)
	require.Empty(t, got.ErrorCode)
	require.JSONEq(t, `{"name":"a"}`, string(got.Result))
	out, err := json.Marshal(got)
	require.NoError(t, err)
	require.Contains(t, string(out), `"result":{"name":"a"}`, "the result is JSON in the task's JSON")
	require.Equal(t, Progress{Done: 2, Total: 2, Unit: "steps"}, got.Progress)
	require.Contains(t, got.Log[0], "holding a")
	require.Equal(t, time.Minute, got.Finished.Sub(got.Started))
	mu.Lock()
	require.Equal(t, Running, seen[0])
	require.Equal(t, Completed, seen[len(seen)-1])
	mu.Unlock()

	f := wait(t, svc, failing.ID)
	require.Equal(t, Failed, f.State)
	require.Equal(t, "it broke", f.Error)
	require.Equal(t, "code of it broke", f.ErrorCode)
	require.JSONEq(t, `{"partial":1}`, string(f.Result), "a result returned with an error is kept")
	require.Contains(t, f.Log[0], "about to fail")

	list, err := svc.ListTasks(context.Background())
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, task.ID, list[0].ID)
	require.Equal(t, failing.ID, list[1].ID)

	// Cancelling a finished task changes nothing.
	c, err := svc.CancelTask(context.Background(), task.ID)
	require.NoError(t, err)
	require.Equal(t, Completed, c.State)

	n, err := testutil.GatherAndCount(reg, "pkgvc_task_duration_seconds")
	require.NoError(t, err)
	require.Equal(t, 2, n, "hold/completed and fail/failed")
}

func TestLogBounded(t *testing.T) {
	r := &Report{now: time.Now}
	for i := range MaxLogLines + 50 {
		r.Logf("line %d", i)
	}
	_, log, dirty := r.take()
	require.True(t, dirty)
	require.Len(t, log, MaxLogLines)
	require.Contains(t, log[0], fmt.Sprintf("line %d", 50))
	_, _, dirty = r.take()
	require.False(t, dirty)
}

func TestPerRepoSerialization(t *testing.T) {
	h := newHarness(t)
	svc := New(NewStoreBackend(newStore(t)), h.registry())
	a1 := start(t, svc, "hold", "a", "a1")
	a2 := start(t, svc, "hold", "a", "a2")
	b1 := start(t, svc, "hold", "b", "b1")
	startRunner(t, svc, fastConfig(4))

	// a1 and b1 run together; a2 waits for a1.
	got := []string{h.waitStarted(), h.waitStarted()}
	require.ElementsMatch(t, []string{"a1", "b1"}, got)
	requireState(t, svc, a1.ID, Running)
	requireState(t, svc, b1.ID, Running)
	require.Equal(t, Queued, show(t, svc, a2.ID).State)

	h.release("a1")
	require.Equal(t, "a2", h.waitStarted())
	require.Equal(t, Completed, wait(t, svc, a1.ID).State)
	h.release("a2")
	h.release("b1")
	require.Equal(t, Completed, wait(t, svc, a2.ID).State)
	require.Equal(t, Completed, wait(t, svc, b1.ID).State)
	require.Equal(t, 1, h.maxRepo["a"])
	require.Equal(t, 2, h.most)
}

func TestExclusive(t *testing.T) {
	h := newHarness(t)
	svc := New(NewStoreBackend(newStore(t)), h.registry())
	a := start(t, svc, "hold", "a", "a")
	gc := start(t, svc, "excl", "gc")
	b := start(t, svc, "hold", "b", "b") // queued after gc: waits for it
	startRunner(t, svc, fastConfig(4))

	require.Equal(t, "a", h.waitStarted())
	requireState(t, svc, a.ID, Running)
	require.Equal(t, Queued, show(t, svc, gc.ID).State)
	require.Equal(t, Queued, show(t, svc, b.ID).State)
	h.release("a")
	require.Equal(t, "gc", h.waitStarted())
	h.release("gc")
	require.Equal(t, "b", h.waitStarted())
	h.release("b")
	for _, id := range []string{a.ID, gc.ID, b.ID} {
		require.Equal(t, Completed, wait(t, svc, id).State)
	}
	require.False(t, h.overlap, "nothing ran beside the exclusive task")
}

func TestWorkerLimit(t *testing.T) {
	h := newHarness(t)
	svc := New(NewStoreBackend(newStore(t)), h.registry())
	var ids []string
	for i := range 5 {
		ids = append(ids, start(t, svc, "hold", "-", fmt.Sprint(i)).ID)
	}
	startRunner(t, svc, fastConfig(2))
	require.ElementsMatch(t, []string{"0", "1"}, []string{h.waitStarted(), h.waitStarted()})
	for i := range 5 {
		// Each end lets exactly the next one start.
		h.release(fmt.Sprint(i))
		if i+2 < 5 {
			require.Equal(t, fmt.Sprint(i+2), h.waitStarted())
		}
	}
	for _, id := range ids {
		require.Equal(t, Completed, wait(t, svc, id).State)
	}
	require.Equal(t, 2, h.most)
}

func TestCancel(t *testing.T) {
	h := newHarness(t)
	svc := New(NewStoreBackend(newStore(t)), h.registry())
	running := start(t, svc, "hold", "a", "running")
	queued := start(t, svc, "hold", "a", "queued")
	startRunner(t, svc, fastConfig(2))
	require.Equal(t, "running", h.waitStarted())

	c, err := svc.CancelTask(context.Background(), queued.ID)
	require.NoError(t, err)
	require.Equal(t, Canceled, c.State)

	_, err = svc.CancelTask(context.Background(), running.ID)
	require.NoError(t, err)
	got := wait(t, svc, running.ID)
	require.Equal(t, Canceled, got.State)
	require.Equal(t, "canceled", got.Error)

	// The lock is free again and the canceled task never ran.
	next := start(t, svc, "quick", "a", "next")
	require.Equal(t, Completed, wait(t, svc, next.ID).State)
	require.Zero(t, h.runs["queued"])
	require.Equal(t, Canceled, show(t, svc, queued.ID).State)
}

func TestCancelFromAnotherProcess(t *testing.T) {
	h := newHarness(t)
	st := newStore(t)
	svc := New(NewStoreBackend(st), h.registry())
	task := start(t, svc, "hold", "a", "x")
	startRunner(t, svc, fastConfig(1))
	require.Equal(t, "x", h.waitStarted())

	// A CLI on the same store: its own Service, no Runner.
	cli := New(NewStoreBackend(st), h.registry())
	_, err := cli.CancelTask(context.Background(), task.ID)
	require.NoError(t, err)
	require.Equal(t, Canceled, wait(t, cli, task.ID).State)
}

func TestStoreBackend(t *testing.T) {
	ctx := context.Background()
	b := NewStoreBackend(newStore(t))
	var v map[string]int
	_, err := b.Get(ctx, "tasks/x", &v)
	require.ErrorIs(t, err, ErrNotFound)

	vers, err := b.Apply(ctx, "test", Put{Key: "tasks/x", Value: map[string]int{"n": 1}})
	require.NoError(t, err)
	_, err = b.Apply(ctx, "test", Put{Key: "tasks/x", Value: map[string]int{"n": 2}})
	require.ErrorIs(t, err, ErrConflict, "must not exist")
	// One stale put fails the whole transaction.
	_, err = b.Apply(ctx, "test", Put{Key: "tasks/y", Value: map[string]int{"n": 1}}, Put{Key: "tasks/x", Old: "", Value: map[string]int{"n": 3}})
	require.ErrorIs(t, err, ErrConflict)
	_, err = b.Get(ctx, "tasks/y", &v)
	require.ErrorIs(t, err, ErrNotFound)

	v2, err := b.Apply(ctx, "test", Put{Key: "tasks/x", Old: vers[0], Value: map[string]int{"n": 2}})
	require.NoError(t, err)
	ver, err := b.Get(ctx, "tasks/x", &v)
	require.NoError(t, err)
	require.Equal(t, v2[0], ver)
	require.Equal(t, 2, v["n"])

	var keys []string
	require.NoError(t, b.List(ctx, "tasks/", func(key string, _ Version) error {
		keys = append(keys, key)
		return nil
	}))
	require.Equal(t, []string{"tasks/x"}, keys)
	_, err = b.Apply(ctx, "test", Put{Key: "tasks/x", Old: ver})
	require.NoError(t, err)
	_, err = b.Get(ctx, "tasks/x", &v)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestPrune(t *testing.T) {
	clk := newClock()
	svc := New(NewStoreBackend(newStore(t)), newHarness(t).registry(), WithClock(clk.Now))
	ctx := context.Background()
	var ids []string
	for range 5 {
		task := start(t, svc, "hold", "a", "x")
		_, err := svc.CancelTask(ctx, task.ID) // finished now
		require.NoError(t, err)
		ids = append(ids, task.ID)
		clk.Add(time.Hour)
	}
	queued := start(t, svc, "hold", "a", "y")
	r := NewRunner(svc, RunnerConfig{KeepFinished: 2, Retention: 3*time.Hour + 30*time.Minute})
	left := func() []string {
		es, err := svc.list(ctx)
		require.NoError(t, err)
		r.prune(ctx, es, clk.Now())
		list, err := svc.ListTasks(ctx)
		require.NoError(t, err)
		var ids []string
		for _, task := range list {
			ids = append(ids, task.ID)
		}
		return ids
	}
	// Finished 5, 4, 3, 2 and 1 hours ago: three are younger than the
	// retention, but only the newest two are kept.
	require.Equal(t, []string{ids[3], ids[4], queued.ID}, left())
	clk.Add(2 * time.Hour)
	require.Equal(t, []string{ids[4], queued.ID}, left(), "one more is older than the retention")
}

func TestStaleLockDropped(t *testing.T) {
	h := newHarness(t)
	svc := New(NewStoreBackend(newStore(t)), h.registry())
	ctx := context.Background()
	// A lock whose task is gone, as a damaged store might have.
	_, err := svc.b.Apply(ctx, "test", Put{Key: locksKey, Value: &locksDoc{Running: map[string]string{"01234567890123456789abcdef": "a"}}})
	require.NoError(t, err)
	task := start(t, svc, "quick", "a", "x")
	startRunner(t, svc, fastConfig(1))
	require.Equal(t, Completed, wait(t, svc, task.ID).State)
}
