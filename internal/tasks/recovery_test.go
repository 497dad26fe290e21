package tasks

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api"
)

func TestRestartAfterCrash(t *testing.T) {
	h := newHarness(t)
	st := newStore(t)
	clk := newClock()
	kb := &killable{Backend: NewStoreBackend(st)}
	svcA := New(kb, h.registry(), WithClock(clk.Now))
	running := start(t, svcA, "hold", "a", "x")
	queued := start(t, svcA, "quick", "a", "y") // waits for x's lock on a
	a := NewRunner(svcA, fastConfig(2))
	a.finishWait = 50 * time.Millisecond
	ctxA, cancelA := context.WithCancel(context.Background())
	require.NoError(t, a.Start(ctxA))
	require.Equal(t, "x", h.waitStarted())
	requireState(t, svcA, running.ID, api.TaskRunning)

	// The process dies: nothing it does reaches the store any more.
	kb.dead.Store(true)
	cancelA()
	require.NoError(t, a.Close())
	require.Equal(t, api.TaskRunning, show(t, svcA, running.ID).State)

	// The server starts again on the same store.
	svcB := New(NewStoreBackend(st), h.registry(), WithClock(clk.Now))
	startRunner(t, svcB, fastConfig(2))
	require.Equal(t, api.TaskRunning, show(t, svcB, running.ID).State, "the lease has not run out")
	clk.Add(31 * time.Second)

	got := wait(t, svcB, running.ID)
	require.Equal(t, api.TaskFailed, got.State)
	require.Equal(t, Interrupted, got.Error)
	require.Equal(t, api.TaskCompleted, wait(t, svcB, queued.ID).State)
	require.Equal(t, 1, h.runs["x"])
	require.Equal(t, 1, h.runs["y"])

	// Re-running the interrupted task is a new task.
	again, err := svcB.StartTask(context.Background(), got.Request)
	require.NoError(t, err)
	h.release("x")
	require.Equal(t, api.TaskCompleted, wait(t, svcB, again.ID).State)
}

func TestRestartAfterCleanStop(t *testing.T) {
	h := newHarness(t)
	st := newStore(t)
	svcA := New(NewStoreBackend(st), h.registry())
	running := start(t, svcA, "hold", "a", "x")
	queued := start(t, svcA, "quick", "a", "y")
	a := NewRunner(svcA, fastConfig(2))
	require.NoError(t, a.Start(context.Background()))
	require.Equal(t, "x", h.waitStarted())
	requireState(t, svcA, running.ID, api.TaskRunning)
	require.NoError(t, a.Close())

	// Marked at once, without waiting for the lease.
	got := show(t, svcA, running.ID)
	require.Equal(t, api.TaskFailed, got.State)
	require.Equal(t, Interrupted, got.Error)
	require.Equal(t, api.TaskQueued, show(t, svcA, queued.ID).State)

	svcB := New(NewStoreBackend(st), h.registry())
	startRunner(t, svcB, fastConfig(2))
	require.Equal(t, api.TaskCompleted, wait(t, svcB, queued.ID).State)
}

func TestLeaseRenewed(t *testing.T) {
	h := newHarness(t)
	st := newStore(t)
	clk := newClock()
	svcA := New(NewStoreBackend(st), h.registry(), WithClock(clk.Now))
	task := start(t, svcA, "hold", "a", "long")
	startRunner(t, svcA, fastConfig(1))
	require.Equal(t, "long", h.waitStarted())
	requireState(t, svcA, task.ID, api.TaskRunning)

	// Another server watches while A keeps running for two minutes.
	svcB := New(NewStoreBackend(st), h.registry(), WithClock(clk.Now))
	startRunner(t, svcB, fastConfig(1))
	for range 24 {
		clk.Add(5 * time.Second)
		// A renews once a third of the lease has passed; wait for it
		// before the clock moves on.
		require.Eventually(t, func() bool {
			d, _, err := svcA.get(context.Background(), task.ID)
			return err == nil && d.State == api.TaskRunning && !d.Lease.Before(clk.Now().Add(20*time.Second))
		}, 10*time.Second, time.Millisecond)
	}
	h.release("long")
	require.Equal(t, api.TaskCompleted, wait(t, svcB, task.ID).State)
	require.Equal(t, 1, h.runs["long"])
}

func TestTwoRunnersOneStore(t *testing.T) {
	h := newHarness(t)
	st := newStore(t)
	svc1 := New(NewStoreBackend(st), h.registry())
	svc2 := New(NewStoreBackend(st), h.registry())
	startRunner(t, svc1, fastConfig(3))
	startRunner(t, svc2, fastConfig(3))

	var ids []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 40 {
		svc := svc1
		if i%2 == 1 {
			svc = svc2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			task, err := svc.StartTask(context.Background(), api.TaskRequest{Op: "quick", Args: []string{fmt.Sprint("r", i%4), fmt.Sprint(i)}})
			if err == nil {
				mu.Lock()
				ids = append(ids, task.ID)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, ids, 40)
	for _, id := range ids {
		require.Equal(t, api.TaskCompleted, wait(t, svc1, id).State)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range 40 {
		require.Equal(t, 1, h.runs[fmt.Sprint(i)], "task %d", i)
	}
	for r, n := range h.maxRepo {
		require.Equal(t, 1, n, "repository %s", r)
	}
	locks, _, err := svc1.getLocks(context.Background())
	require.NoError(t, err)
	require.Empty(t, locks.Running)
}
