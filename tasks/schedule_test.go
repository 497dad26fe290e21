package tasks

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/repo"
)

func hold(args ...string) Request { return Request{Op: "hold", Args: args} }

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
			_, err := svc.CreateSchedule(ctx, Schedule{Name: "s", Cron: tc.cron, Request: hold("a", "x")})
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
	_, err := svc.CreateSchedule(ctx, Schedule{Name: "Bad Name", Cron: "@daily", Request: hold("a", "x")})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = svc.CreateSchedule(ctx, Schedule{Name: "s", Cron: "@daily", Request: Request{Op: "nope"}})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = svc.CreateSchedule(ctx, Schedule{Name: "s", Cron: "@daily", Request: hold("a")})
	require.ErrorIs(t, err, ErrInvalid)

	s, err := svc.CreateSchedule(ctx, Schedule{Name: "nightly", Cron: "@daily", Request: hold("a", "x")})
	require.NoError(t, err)
	require.Equal(t, time.Date(2030, 1, 3, 0, 0, 0, 0, time.UTC), s.Next)
	_, err = svc.CreateSchedule(ctx, Schedule{Name: "nightly", Cron: "0 2 * * *", Request: hold("a", "x")})
	require.ErrorIs(t, err, ErrScheduleExists)
	_, err = svc.CreateSchedule(ctx, Schedule{Name: "two", Cron: "0 2 * * *", Request: hold("a", "x")})
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
func tasksOf(t *testing.T, svc *Service, schedule string) []Task {
	t.Helper()
	all, err := svc.ListTasks(context.Background())
	require.NoError(t, err)
	var out []Task
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
	_, err := svc.CreateSchedule(ctx, Schedule{Name: "every5", Cron: "*/5 * * * *", Request: hold("a", "x")})
	require.NoError(t, err)
	r := NewRunner(svc, fastConfig(1)) // not started: the test fires it

	r.fireSchedules(ctx, at(0, 4))
	require.Empty(t, tasksOf(t, svc, "every5"))

	r.fireSchedules(ctx, at(0, 5))
	got := tasksOf(t, svc, "every5")
	require.Len(t, got, 1)
	require.Equal(t, Queued, got[0].State)
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
	require.Equal(t, Completed, wait(t, svc, got[3].ID).State)
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
	_, err := svcs[0].CreateSchedule(ctx, Schedule{Name: "m", Cron: "* * * * *", Request: hold("a", "x")})
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

// TestTwoSchedulesOverlap: two schedules on one repository come due at
// the same minute. Their runs take turns on the repository; while they
// last, a schedule that comes due again is skipped, not doubled; once
// both are done, the next due times run again.
func TestTwoSchedulesOverlap(t *testing.T) {
	h := newHarness(t)
	clk := newClock()
	clk.Set(at(0, 9))
	svc := New(NewStoreBackend(newStore(t)), h.registry(), WithClock(clk.Now), WithLocation(time.UTC))
	ctx := context.Background()
	for _, s := range []Schedule{
		{Name: "every5", Cron: "*/5 * * * *", Request: hold("a", "x")},
		{Name: "every10", Cron: "*/10 * * * *", Request: hold("a", "y")},
	} {
		_, err := svc.CreateSchedule(ctx, s)
		require.NoError(t, err)
	}
	startRunner(t, svc, fastConfig(2))
	time.Sleep(50 * time.Millisecond)
	require.Empty(t, tasksOf(t, svc, "every5"))

	clk.Set(at(0, 10)) // both due
	first := h.waitStarted()
	require.Contains(t, []string{"x", "y"}, first)
	count := func(schedule string) func() bool {
		return func() bool { return len(tasksOf(t, svc, schedule)) == 1 }
	}
	require.Eventually(t, count("every5"), 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, count("every10"), 5*time.Second, 5*time.Millisecond)
	other := map[string]string{"x": "every10", "y": "every5"}[first]
	require.Equal(t, Queued, tasksOf(t, svc, other)[0].State, "the second run waits for the repository")

	clk.Set(at(0, 15)) // every5 due again while its run is running or queued
	time.Sleep(100 * time.Millisecond)
	require.Len(t, tasksOf(t, svc, "every5"), 1, "a run still going makes the next due time skip")
	require.Len(t, tasksOf(t, svc, "every10"), 1)

	h.release(first)
	second := h.waitStarted()
	require.NotEqual(t, first, second)
	h.release(second)
	for _, s := range []string{"every5", "every10"} {
		require.Equal(t, Completed, wait(t, svc, tasksOf(t, svc, s)[0].ID).State)
	}
	require.Equal(t, 1, h.maxRepo["a"], "one run at a time on the repository")

	clk.Set(at(0, 20)) // both due again, and run
	for _, s := range []string{"every5", "every10"} {
		require.Eventually(t, func() bool { return len(tasksOf(t, svc, s)) == 2 }, 5*time.Second, 5*time.Millisecond)
		for _, task := range tasksOf(t, svc, s) {
			require.Equal(t, Completed, wait(t, svc, task.ID).State)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Equal(t, map[string]int{"x": 2, "y": 2}, h.runs)
	require.Equal(t, 1, h.maxRepo["a"])
}
