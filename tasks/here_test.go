package tasks

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRunHereExclusive: an exclusive operation run in another process
// (RunHere, as a local gc is) waits for a running repository task, and
// while it runs a Runner starts nothing; neither side fails.
func TestRunHereExclusive(t *testing.T) {
	st := newStore(t)
	h := newHarness(t)
	server := New(NewStoreBackend(st), h.registry(), WithWaitPoll(5*time.Millisecond))
	local := New(NewStoreBackend(st), h.registry(), WithWaitPoll(5*time.Millisecond))
	startRunner(t, server, fastConfig(3))

	w := start(t, server, "hold", "dev", "write")
	require.Equal(t, "write", h.waitStarted())

	type ran struct {
		res any
		err error
	}
	done := make(chan ran, 1)
	go func() {
		res, err := local.RunHere(context.Background(), Request{Op: "excl", Args: []string{"gc"}})
		done <- ran{res, err}
	}()
	select {
	case <-h.started:
		t.Fatal("the exclusive operation started beside a running task")
	case <-done:
		t.Fatal("the exclusive operation returned beside a running task")
	case <-time.After(200 * time.Millisecond):
	}
	h.release("write")
	require.Equal(t, Completed, wait(t, server, w.ID).State)
	require.Equal(t, "gc", h.waitStarted())

	// Running: seen by the server, which starts nothing beside it.
	q := start(t, server, "quick", "other", "later")
	select {
	case n := <-h.started:
		t.Fatalf("%s started beside the exclusive operation", n)
	case <-time.After(200 * time.Millisecond):
	}
	tasks, err := server.ListTasks(context.Background())
	require.NoError(t, err)
	running := 0
	for _, tk := range tasks {
		if tk.State == Running && tk.Request.Op == "excl" {
			running++
		}
	}
	require.Equal(t, 1, running)

	h.release("gc")
	r := <-done
	require.NoError(t, r.err)
	require.Equal(t, map[string]string{"name": "gc"}, r.res)
	require.Equal(t, Completed, wait(t, server, q.ID).State)
	require.False(t, h.overlap)
	tasks, err = server.ListTasks(context.Background())
	require.NoError(t, err)
	for _, tk := range tasks {
		require.NotEqual(t, Running, tk.State, tk.ID)
	}
}
