package tasks

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/repo"
)

func hold(args ...string) api.TaskRequest { return api.TaskRequest{Op: "hold", Args: args} }

func TestScheduleCRUD(t *testing.T) {
	clk := newClock() // 2030-01-02 00:01 UTC
	svc := New(NewStoreBackend(newStore(t)), newHarness(t).registry(), WithClock(clk.Now), WithLocation(time.UTC))
	ctx := context.Background()
	for _, tc := range []struct{ name, cron string }{
		{"minute-61", "61 * * * *"},
		{"three-fields", "* * *"},
		{"seconds", "0 * * * * *"},
		{"descriptor", "@sometimes"},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.CreateSchedule(ctx, api.Schedule{Name: "s", Cron: tc.cron, Request: hold("a", "x")})
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
	_, err := svc.CreateSchedule(ctx, api.Schedule{Name: "Bad Name", Cron: "@daily", Request: hold("a", "x")})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = svc.CreateSchedule(ctx, api.Schedule{Name: "s", Cron: "@daily", Request: api.TaskRequest{Op: "nope"}})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = svc.CreateSchedule(ctx, api.Schedule{Name: "s", Cron: "@daily", Request: hold("a")})
	require.ErrorIs(t, err, ErrInvalid)

	s, err := svc.CreateSchedule(ctx, api.Schedule{Name: "nightly", Cron: "@daily", Request: hold("a", "x")})
	require.NoError(t, err)
	require.Equal(t, time.Date(2030, 1, 3, 0, 0, 0, 0, time.UTC), s.Next)
	_, err = svc.CreateSchedule(ctx, api.Schedule{Name: "nightly", Cron: "0 2 * * *", Request: hold("a", "x")})
	require.ErrorIs(t, err, ErrScheduleExists)
	_, err = svc.CreateSchedule(ctx, api.Schedule{Name: "two", Cron: "0 2 * * *", Request: hold("a", "x")})
	require.NoError(t, err)

	list, err := svc.ListSchedules(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "nightly", list[0].Name)
	require.Equal(t, "two", list[1].Name)
	require.Equal(t, time.Date(2030, 1, 2, 2, 0, 0, 0, time.UTC), list[1].Next)
	require.Equal(t, hold("a", "x"), list[1].Request)

	require.NoError(t, svc.DeleteSchedule(ctx, "nightly"))
	require.ErrorIs(t, svc.DeleteSchedule(ctx, "nightly"), ErrScheduleNotFound)
	require.ErrorIs(t, svc.DeleteSchedule(ctx, "nightly"), repo.ErrNotFound)
	list, err = svc.ListSchedules(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
}

// tasksOf returns the tasks a schedule started.
func tasksOf(t *testing.T, svc *Service, schedule string) []api.Task {
	t.Helper()
	all, err := svc.ListTasks(context.Background())
	require.NoError(t, err)
	var out []api.Task
	for _, task := range all {
		if task.Schedule == schedule {
			out = append(out, task)
		}
	}
	return out
}

func at(hour, min int) time.Time { return time.Date(2030, 1, 2, hour, min, 0, 0, time.UTC) }

func TestScheduleFires(t *testing.T) {
	h := newHarness(t)
	clk := newClock() // 00:01
	svc := New(NewStoreBackend(newStore(t)), h.registry(), WithClock(clk.Now), WithLocation(time.UTC))
	ctx := context.Background()
	_, err := svc.CreateSchedule(ctx, api.Schedule{Name: "every5", Cron: "*/5 * * * *", Request: hold("a", "x")})
	require.NoError(t, err)
	r := NewRunner(svc, fastConfig(1)) // not started: the test fires it

	r.fireSchedules(ctx, at(0, 4))
	require.Empty(t, tasksOf(t, svc, "every5"))

	r.fireSchedules(ctx, at(0, 5))
	got := tasksOf(t, svc, "every5")
	require.Len(t, got, 1)
	require.Equal(t, api.TaskQueued, got[0].State)
	require.Equal(t, hold("a", "x"), got[0].Request)
	first := got[0].ID
	list, err := svc.ListSchedules(ctx)
	require.NoError(t, err)
	require.Equal(t, at(0, 5), list[0].LastRun)
	require.Equal(t, first, list[0].LastTask)

	r.fireSchedules(ctx, at(0, 5).Add(30*time.Second))
	require.Len(t, tasksOf(t, svc, "every5"), 1, "one run per due time")

	// Due again while the first is still queued: skipped, and not run
	// late once the first ends.
	r.fireSchedules(ctx, at(0, 10))
	r.fireSchedules(ctx, at(0, 12))
	require.Len(t, tasksOf(t, svc, "every5"), 1)
	_, err = svc.CancelTask(ctx, first)
	require.NoError(t, err)
	r.fireSchedules(ctx, at(0, 14))
	require.Len(t, tasksOf(t, svc, "every5"), 1)

	r.fireSchedules(ctx, at(0, 15))
	require.Len(t, tasksOf(t, svc, "every5"), 2)

	// Hours without a Runner: one run for the latest missed time.
	_, err = svc.CancelTask(ctx, tasksOf(t, svc, "every5")[1].ID)
	require.NoError(t, err)
	r.fireSchedules(ctx, at(3, 2))
	got = tasksOf(t, svc, "every5")
	require.Len(t, got, 3)
	list, err = svc.ListSchedules(ctx)
	require.NoError(t, err)
	require.Equal(t, at(3, 0), list[0].LastRun)
	require.Equal(t, got[2].ID, list[0].LastTask)

	// A started Runner fires on its own and runs the task.
	clk.Set(at(3, 5))
	_, err = svc.CancelTask(ctx, got[2].ID)
	require.NoError(t, err)
	startRunner(t, svc, fastConfig(1))
	require.Equal(t, "x", h.waitStarted())
	h.release("x")
	got = tasksOf(t, svc, "every5")
	require.Len(t, got, 4)
	require.Equal(t, api.TaskCompleted, wait(t, svc, got[3].ID).State)
}

func TestScheduleOneRunnerFires(t *testing.T) {
	h := newHarness(t)
	st := newStore(t)
	clk := newClock()
	var runners []*Runner
	var svcs []*Service
	for range 3 {
		svc := New(NewStoreBackend(st), h.registry(), WithClock(clk.Now), WithLocation(time.UTC))
		svcs = append(svcs, svc)
		runners = append(runners, NewRunner(svc, fastConfig(1)))
	}
	ctx := context.Background()
	_, err := svcs[0].CreateSchedule(ctx, api.Schedule{Name: "m", Cron: "* * * * *", Request: hold("a", "x")})
	require.NoError(t, err)
	for i := range 20 {
		now := at(0, 2+i)
		var wg sync.WaitGroup
		for _, r := range runners {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.fireSchedules(ctx, now)
			}()
		}
		wg.Wait()
		got := tasksOf(t, svcs[0], "m")
		require.Len(t, got, i+1, "at %s", now)
		for _, task := range got {
			// Done, so that the next due time runs.
			_, err := svcs[1].CancelTask(ctx, task.ID)
			require.NoError(t, err)
		}
	}
}
