package tasks

import (
	"context"
	"errors"
	"time"

	"github.com/robfig/cron/v3"
)

// maxCatchUp bounds the due times walked over after a long pause.
const maxCatchUp = 1 << 20

// dueTime returns the latest due time of d not after now that is not
// handled yet; ok is false when none is due. After a pause that missed
// several, only the latest is returned: one run, not one per missed time.
func dueTime(sched cron.Schedule, d *scheduleDoc, now time.Time) (due time.Time, ok bool) {
	base := d.Created
	if d.Handled.After(base) {
		base = d.Handled
	}
	due = sched.Next(base.In(now.Location()))
	if due.IsZero() || due.After(now) {
		return time.Time{}, false
	}
	for range maxCatchUp {
		n := sched.Next(due)
		if n.IsZero() || n.After(now) {
			break
		}
		due = n
	}
	return due, true
}

// fireSchedules starts the tasks of the schedules due at now.
func (r *Runner) fireSchedules(ctx context.Context, now time.Time) {
	err := r.svc.listSchedules(ctx, func(d *scheduleDoc, ver Version) error {
		if err := r.fire(ctx, d, ver, now); err != nil && ctx.Err() == nil {
			r.log.Error("tasks: schedule", "schedule", d.Name, "err", err)
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		r.log.Error("tasks: schedules", "err", err)
	}
}

// fire starts d's task if d is due, or skips the due time if d's previous
// task is not done. The schedule's compare-and-swap makes one Runner, of
// several, handle a due time.
func (r *Runner) fire(ctx context.Context, d *scheduleDoc, ver Version, now time.Time) error {
	sched, err := parseCron(d.Cron)
	if err != nil {
		return err
	}
	due, ok := dueTime(sched, d, now.In(r.svc.loc))
	if !ok {
		return nil
	}
	n := *d
	n.Handled, n.Next = due.UTC(), time.Time{}
	skip := func(why string) error {
		_, err := r.svc.b.Apply(ctx, "schedule "+d.Name+" skip", Put{Key: scheduleKey(d.Name), Old: ver, Value: &n})
		if isConflict(err) {
			return nil // another Runner handled it
		}
		if err == nil {
			r.m.schedules.WithLabelValues("skipped").Inc()
			r.log.Info("tasks: schedule run skipped", "schedule", d.Name, "due", due, "why", why)
		}
		return err
	}
	if d.LastTask != "" {
		prev, _, err := r.svc.get(ctx, d.LastTask)
		switch {
		case errors.Is(err, ErrTaskNotFound):
		case err != nil:
			return err
		case !prev.Done():
			return skip("task " + prev.ID + " is still " + prev.State)
		}
	}
	t, err := r.svc.newTask(ctx, d.Request)
	if err != nil {
		return errors.Join(err, skip(err.Error()))
	}
	t.Schedule = d.Name
	n.LastRun, n.LastTask = due.UTC(), t.ID
	_, err = r.svc.b.Apply(ctx, "schedule "+d.Name+" run "+t.ID,
		Put{Key: scheduleKey(d.Name), Old: ver, Value: &n}, Put{Key: taskKey(t.ID), Value: t})
	if isConflict(err) {
		return nil
	}
	if err != nil {
		return err
	}
	r.m.schedules.WithLabelValues("started").Inc()
	r.svc.notify()
	return nil
}
