package tasks

import (
	"context"
	"fmt"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/repo"
)

// crashWhileRunning runs task x (hold on repository a) in a Runner named
// owner (its own name if empty), with quick task y queued behind it on a,
// then makes that Runner's process die: nothing it does reaches the store
// any more, and x stays recorded as running.
func crashWhileRunning(t *testing.T, h *harness, st *repo.Store, clk *clock, owner string) (running, queued *Task) {
	t.Helper()
	kb := &killable{Backend: NewStoreBackend(st)}
	svcA := New(kb, h.registry(), WithClock(clk.Now))
	running = start(t, svcA, "hold", "a", "x")
	queued = start(t, svcA, "quick", "a", "y") // waits for x's lock on a
	a := NewRunner(svcA, fastConfig(2))
	if owner != "" {
		a.owner = owner
	}
	a.finishWait = 50 * time.Millisecond
	ctxA, cancelA := context.WithCancel(context.Background())
	require.NoError(t, a.Start(ctxA))
	require.Equal(t, "x", h.waitStarted())
	requireState(t, svcA, running.ID, Running)
	kb.dead.Store(true)
	cancelA()
	require.NoError(t, a.Close())
	require.Equal(t, Running, show(t, svcA, running.ID).State)
	return running, queued
}

func TestRestartAfterCrash(t *testing.T) {
	h := newHarness(t)
	st := newStore(t)
	clk := newClock()
	running, queued := crashWhileRunning(t, h, st, clk, "")

	// The server starts again on the same store.
	svcB := New(NewStoreBackend(st), h.registry(), WithClock(clk.Now))
	startRunner(t, svcB, fastConfig(2))
	require.Equal(t, Running, show(t, svcB, running.ID).State, "the lease has not run out")
	clk.Add(31 * time.Second)

	got := wait(t, svcB, running.ID)
	require.Equal(t, Failed, got.State)
	require.Equal(t, Interrupted, got.Error)
	require.Equal(t, Completed, wait(t, svcB, queued.ID).State)
	require.Equal(t, 1, h.runs["x"])
	require.Equal(t, 1, h.runs["y"])

	// Re-running the interrupted task is a new task.
	again, err := svcB.StartTask(context.Background(), got.Request)
	require.NoError(t, err)
	h.release("x")
	require.Equal(t, Completed, wait(t, svcB, again.ID).State)
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
	requireState(t, svcA, running.ID, Running)
	require.NoError(t, a.Close())

	// Marked at once, without waiting for the lease.
	got := show(t, svcA, running.ID)
	require.Equal(t, Failed, got.State)
	require.Equal(t, Interrupted, got.Error)
	require.Equal(t, Queued, show(t, svcA, queued.ID).State)

	svcB := New(NewStoreBackend(st), h.registry())
	startRunner(t, svcB, fastConfig(2))
	require.Equal(t, Completed, wait(t, svcB, queued.ID).State)
}

func TestLeaseRenewed(t *testing.T) {
	h := newHarness(t)
	st := newStore(t)
	clk := newClock()
	svcA := New(NewStoreBackend(st), h.registry(), WithClock(clk.Now))
	task := start(t, svcA, "hold", "a", "long")
	startRunner(t, svcA, fastConfig(1))
	require.Equal(t, "long", h.waitStarted())
	requireState(t, svcA, task.ID, Running)

	// Another server watches while A keeps running for two minutes.
	svcB := New(NewStoreBackend(st), h.registry(), WithClock(clk.Now))
	startRunner(t, svcB, fastConfig(1))
	for range 24 {
		clk.Add(5 * time.Second)
		// A renews once a third of the lease has passed; wait for it
		// before the clock moves on.
		require.Eventually(t, func() bool {
			d, _, err := svcA.get(context.Background(), task.ID)
			return err == nil && d.State == Running && !d.Lease.Before(clk.Now().Add(20*time.Second))
		}, 10*time.Second, time.Millisecond)
	}
	h.release("long")
	require.Equal(t, Completed, wait(t, svcB, task.ID).State)
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
			task, err := svc.StartTask(context.Background(), Request{Op: "quick", Args: []string{fmt.Sprint("r", i%4), fmt.Sprint(i)}})
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
		require.Equal(t, Completed, wait(t, svc1, id).State)
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

// exitedPid returns the id of a process that ran and has exited.
func exitedPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	return cmd.Process.Pid
}

func TestOwnerExited(t *testing.T) {
	if node == "" {
		t.Skip("no /proc: runners are judged by their lease alone")
	}
	sleeper := exec.Command("sleep", "60")
	require.NoError(t, sleeper.Start())
	alive := fmt.Sprintf("host/%d/abc@%s", sleeper.Process.Pid, node)
	require.False(t, ownerExited(alive), "a running process")
	require.NoError(t, sleeper.Process.Kill())
	_ = sleeper.Wait()
	require.True(t, ownerExited(alive), "the same process once it has exited")

	gone := exitedPid(t)
	require.True(t, ownerExited(fmt.Sprintf("h/%d/x@%s", gone, node)))
	require.False(t, ownerExited(fmt.Sprintf("h/%d/x@%s", gone, "000000000000")), "another node's process ids say nothing here")
	require.False(t, ownerExited(fmt.Sprintf("h/%d/x", gone)), "an owner without a node")
	require.False(t, ownerExited(newOwner()), "this process")
	require.False(t, ownerExited("garbage@"+node))
}

// TestRestartAfterKill: a Runner whose process was killed on this machine
// leaves running tasks that the next Runner marks interrupted at once,
// without waiting for their lease.
func TestRestartAfterKill(t *testing.T) {
	if node == "" {
		t.Skip("no /proc: runners are judged by their lease alone")
	}
	h := newHarness(t)
	st := newStore(t)
	clk := newClock()
	// As a killed serve's Runner: its process is gone.
	running, queued := crashWhileRunning(t, h, st, clk, fmt.Sprintf("host/%d/dead@%s", exitedPid(t), node))

	svcB := New(NewStoreBackend(st), h.registry(), WithClock(clk.Now))
	startRunner(t, svcB, fastConfig(2))
	got := wait(t, svcB, running.ID) // the clock stands still: no lease ran out
	require.Equal(t, Failed, got.State)
	require.Equal(t, Interrupted, got.Error)
	require.Contains(t, got.Log[len(got.Log)-1], "exited")
	require.Equal(t, Completed, wait(t, svcB, queued.ID).State)
}
