package tasks

import (
	"context"
	"fmt"
	"time"
)

// RunHere runs req in this process and returns the operation's result and
// error as they are, recording it as a task that every process sharing the
// Backend sees running, with this process as its owner. It waits, never
// fails, while the task locks forbid it: an exclusive task (gc) waits for
// every running task, and no Runner starts a task while it runs. It does
// not wait behind queued tasks, which no Runner may ever start. If this
// process dies, a Runner finds the task's owner gone and releases its
// locks.
func (s *Service) RunHere(ctx context.Context, req Request) (any, error) {
	op, _, err := s.reg.check(ctx, req)
	if err != nil {
		return nil, err
	}
	d, err := s.newTask(ctx, req)
	if err != nil {
		return nil, err
	}
	r := NewRunner(s, RunnerConfig{Workers: 1})
	var ver Version
	for {
		changed := s.changedChan()
		locks, lver, err := s.getLocks(ctx)
		if err != nil {
			return nil, err
		}
		if locks.allows(d.Lock) {
			now := s.now().UTC()
			n := d.clone()
			n.State, n.Started, n.Owner, n.Lease = Running, now, r.owner, now.Add(r.cfg.Lease)
			vers, err := s.b.Apply(ctx, "task "+d.ID+" start here: "+d.Request.Op,
				Put{Key: taskKey(d.ID), Value: n}, Put{Key: locksKey, Old: lver, Value: locks.with(d.ID, d.Lock)})
			if isConflict(err) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("start task: %w", err)
			}
			d, ver = n, vers[0]
			break
		}
		t := time.NewTimer(s.poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-changed:
		case <-t.C:
		}
		t.Stop()
	}
	s.notify()
	jctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	j := r.newJob(op, d, ver, cancel)
	res, runErr := r.runJob(jctx, j)
	s.notify()
	return res, runErr
}
