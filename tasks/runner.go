package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pkgvc/pkgvc/internal/parallel"
	"github.com/pkgvc/pkgvc/repo"
)

// Interrupted is the error of a task whose Runner stopped while it ran.
const Interrupted = "interrupted: the server stopped"

// RunnerConfig configures a Runner; zero fields take their defaults.
type RunnerConfig struct {
	// Workers is how many tasks this process runs at once (default 3).
	Workers int
	// Lease is how long a running task stays claimed without a write from
	// its Runner (default 30 s); Runners renew it every third of it.
	Lease time.Duration
	// Poll is how often the Runner looks for work queued by other
	// processes and for due schedules (default 1 s).
	Poll time.Duration
	// Flush is the least time between writes of a task's progress and log
	// (default 2 s).
	Flush time.Duration
	// Retention is how long finished tasks are kept (default 7 days), and
	// KeepFinished how many at most (default 1000).
	Retention    time.Duration
	KeepFinished int
	// Registerer, when set, gets the Runner's metrics.
	Registerer prometheus.Registerer
	// Logger gets what goes wrong outside of tasks (default: discarded).
	Logger *slog.Logger
	// ErrorCode, when set, gives a failed task's error its code
	// (Task.ErrorCode); a server passes the mapping of its API's
	// errors, so that clients match a task's error as they match a
	// request's.
	ErrorCode func(error) string
}

func (c *RunnerConfig) defaults() {
	if c.Workers <= 0 {
		c.Workers = 3
	}
	if c.Lease <= 0 {
		c.Lease = 30 * time.Second
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.Flush <= 0 {
		c.Flush = 2 * time.Second
	}
	if c.Retention <= 0 {
		c.Retention = 7 * 24 * time.Hour
	}
	if c.KeepFinished <= 0 {
		c.KeepFinished = 1000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// pruneEvery is how often a Runner deletes old finished tasks.
const pruneEvery = 10 * time.Minute

// finishTimeout bounds the writes that record how a task ended, which
// go on after the Runner's context ends.
const finishTimeout = 30 * time.Second

var (
	errStopping = errors.New("runner stopping")
	errCanceled = errors.New("task canceled")
	// errLost means another Runner took the task over (it found the lease
	// expired): this one stops and writes nothing more.
	errLost = errors.New("task taken over: lease expired")
)

// Runner runs the queued tasks of a Service and fires its schedules.
type Runner struct {
	svc   *Service
	cfg   RunnerConfig
	owner string
	log   *slog.Logger
	m     *metrics
	// finishWait is finishTimeout; tests shorten it.
	finishWait time.Duration

	mu        sync.Mutex
	jobs      map[string]*job
	stop      context.CancelCauseFunc
	lastPrune time.Time
	wg        sync.WaitGroup
}

// job is a task this Runner runs.
type job struct {
	id      string
	op      Op
	cancel  context.CancelCauseFunc
	rep     *Report
	renewAt time.Time // when the lease needs writing again

	mu   sync.Mutex // guards doc, ver, lost; held while writing
	doc  *taskDoc
	ver  Version
	lost bool
}

// NewRunner returns a Runner for svc; Start starts it.
func NewRunner(svc *Service, cfg RunnerConfig) *Runner {
	cfg.defaults()
	return &Runner{
		svc: svc, cfg: cfg, log: cfg.Logger, m: newMetrics(cfg.Registerer),
		owner: newOwner(),
		jobs:  map[string]*job{}, finishWait: finishTimeout,
	}
}

// Start starts the Runner's work in the background: recovering tasks
// whose Runner is gone, running queued tasks, firing schedules. It ends
// when ctx ends or Close is called; either way running tasks are
// canceled and marked failed as interrupted.
func (r *Runner) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stop != nil {
		return errors.New("tasks: runner already started")
	}
	ctx, r.stop = context.WithCancelCause(ctx)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.loop(ctx)
	}()
	return nil
}

// Close stops the Runner and waits until its running tasks are recorded
// as interrupted.
func (r *Runner) Close() error {
	r.mu.Lock()
	stop := r.stop
	r.mu.Unlock()
	if stop != nil {
		stop(errStopping)
	}
	r.wg.Wait()
	return nil
}

func (r *Runner) loop(ctx context.Context) {
	t := time.NewTicker(r.cfg.Poll)
	defer t.Stop()
	for {
		r.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.svc.wake:
		}
	}
}

// poll does one round of the Runner's work.
func (r *Runner) poll(ctx context.Context) {
	now := r.svc.now()
	es, err := r.svc.list(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("tasks: list", "err", err)
		}
		return
	}
	r.refreshJobs(ctx, es)
	r.reap(ctx, es, now)
	r.claim(ctx, es)
	r.fireSchedules(ctx, now)
	r.mu.Lock()
	prune := now.Sub(r.lastPrune) >= pruneEvery
	if prune {
		r.lastPrune = now
	}
	r.mu.Unlock()
	if prune {
		r.prune(ctx, es, now)
	}
}

// running returns the number of tasks this Runner runs.
func (r *Runner) running() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.jobs)
}

// reservation is what queued tasks that could not start hold back: a
// later task that conflicts with one of them waits too, so tasks start in
// order and an exclusive task is not starved.
type reservation struct {
	all, any bool
	repos    map[string]bool
}

func (v *reservation) blocks(l Lock) bool {
	return v.all || l.Exclusive && v.any || l.Repo != "" && v.repos[l.Repo]
}

func (v *reservation) add(l Lock) {
	v.any = true
	v.all = v.all || l.Exclusive
	if l.Repo != "" {
		if v.repos == nil {
			v.repos = map[string]bool{}
		}
		v.repos[l.Repo] = true
	}
}

// claim starts the queued tasks the locks and free workers allow.
func (r *Runner) claim(ctx context.Context, es []taskEntry) {
	queued := 0
	for _, e := range es {
		if e.doc.State == Queued {
			queued++
		}
	}
	r.m.queued.Set(float64(queued))
	if queued == 0 {
		return
	}
	for range 5 {
		again, err := r.claimOnce(ctx, es)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Error("tasks: claim", "err", err)
			}
			return
		}
		if !again {
			return
		}
		// Another process claimed or changed something: look again.
		if es, err = r.svc.list(ctx); err != nil {
			return
		}
	}
}

func (r *Runner) claimOnce(ctx context.Context, es []taskEntry) (conflict bool, err error) {
	free := r.cfg.Workers - r.running()
	if free <= 0 {
		return false, nil
	}
	locks, lver, err := r.svc.getLocks(ctx)
	if err != nil {
		return false, err
	}
	var held reservation
	for _, e := range es {
		d := e.doc
		if d.State != Queued {
			continue
		}
		if free == 0 {
			break
		}
		op, known := r.svc.reg.ops[d.Request.Op]
		if !known {
			continue // queued by a pkgvc that knows more operations
		}
		if !locks.allows(d.Lock) || held.blocks(d.Lock) {
			held.add(d.Lock)
			continue
		}
		if ctx.Err() != nil {
			return false, nil // stopping: the locks may show what shutdown freed
		}
		now := r.svc.now().UTC()
		n := d.clone()
		n.State, n.Started, n.Owner, n.Lease = Running, now, r.owner, now.Add(r.cfg.Lease)
		nl := locks.with(d.ID, d.Lock)
		vers, err := r.svc.b.Apply(ctx, "task "+d.ID+" start: "+d.Request.Op,
			Put{Key: taskKey(d.ID), Old: e.ver, Value: n}, Put{Key: locksKey, Old: lver, Value: nl})
		if isConflict(err) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		locks, lver = nl, vers[1]
		free--
		r.startJob(ctx, op, n, vers[0])
		r.svc.notify()
	}
	return false, nil
}

func (r *Runner) startJob(ctx context.Context, op Op, d *taskDoc, ver Version) {
	jctx, cancel := context.WithCancelCause(ctx)
	if d.By != "" {
		jctx = repo.WithWhoContext(jctx, d.By)
	}
	j := r.newJob(op, d, ver, cancel)
	r.mu.Lock()
	r.jobs[d.ID] = j
	r.m.running.Set(float64(len(r.jobs)))
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer cancel(nil)
		_, _ = r.runJob(jctx, j) // recorded in the task
		r.mu.Lock()
		delete(r.jobs, j.id)
		r.m.running.Set(float64(len(r.jobs)))
		r.mu.Unlock()
		r.svc.notify() // a worker is free; waiters see the end
	}()
}

// newJob is the job running task d, started at version ver.
func (r *Runner) newJob(op Op, d *taskDoc, ver Version, cancel context.CancelCauseFunc) *job {
	return &job{id: d.ID, op: op, cancel: cancel, doc: d, ver: ver,
		rep: &Report{now: r.svc.now}, renewAt: d.Lease.Add(-2 * r.cfg.Lease / 3)}
}

// runJob runs j, writing its progress meanwhile, records its end and
// returns the operation's result and error.
func (r *Runner) runJob(ctx context.Context, j *job) (any, error) {
	stop, flushed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(flushed)
		if err := parallel.Safe(func() error { r.flushLoop(ctx, j, stop); return nil }); err != nil {
			r.log.Error("tasks: progress", "task", j.id, "err", err, parallel.LogStack(err))
		}
	}()
	res, err := safeRun(ctx, j)
	close(stop)
	<-flushed
	r.finish(ctx, j, res, err)
	return res, err
}

func safeRun(ctx context.Context, j *job) (res any, err error) {
	err = parallel.Safe(func() (err error) {
		res, err = j.op.Run(ctx, j.doc.Request.Args, j.rep)
		return err
	})
	return res, err
}

// flushLoop writes the job's progress and log when they changed, at most
// every Flush, and renews its lease.
func (r *Runner) flushLoop(ctx context.Context, j *job, stop <-chan struct{}) {
	t := time.NewTicker(r.cfg.Flush)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		prog, log, dirty := j.rep.take()
		now := r.svc.now().UTC()
		if !dirty && now.Before(j.renewAt) {
			continue
		}
		err := r.write(ctx, j, "progress", func(d *taskDoc) {
			d.Progress, d.Log, d.Lease = prog, log, now.Add(r.cfg.Lease)
		})
		switch {
		case err == nil:
			j.renewAt = now.Add(r.cfg.Lease / 3)
		case errors.Is(err, errLost):
			return
		default:
			j.rep.mu.Lock()
			j.rep.dirty = j.rep.dirty || dirty // write it next time
			j.rep.mu.Unlock()
			if ctx.Err() == nil {
				r.log.Warn("tasks: write progress", "task", j.id, "err", err)
			}
		}
	}
}

// write changes the job's task with a compare-and-swap, reloading it when
// someone else wrote it (a cancel request).
func (r *Runner) write(ctx context.Context, j *job, what string, change func(*taskDoc)) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for {
		if j.lost {
			return errLost
		}
		n := j.doc.clone()
		change(n)
		vers, err := r.svc.b.Apply(ctx, "task "+j.id+" "+what, Put{Key: taskKey(j.id), Old: j.ver, Value: n})
		if err == nil {
			j.doc, j.ver = n, vers[0]
			r.svc.notify()
			return nil
		}
		if !isConflict(err) {
			return err
		}
		if err := r.reload(ctx, j); err != nil {
			return err
		}
	}
}

// reload reads the job's task again, with j.mu held: a cancel request
// cancels the job; a task no longer running as ours is lost.
func (r *Runner) reload(ctx context.Context, j *job) error {
	cur, ver, err := r.svc.get(ctx, j.id)
	if errors.Is(err, ErrTaskNotFound) {
		cur = &taskDoc{}
	} else if err != nil {
		return err
	}
	if cur.State != Running || cur.Owner != r.owner {
		j.lost = true
		j.cancel(errLost)
		r.log.Warn("tasks: task taken over by another runner", "task", j.id, "state", cur.State)
		return errLost
	}
	if cur.Cancel {
		j.cancel(errCanceled)
	}
	j.doc, j.ver = cur, ver
	return nil
}

// refreshJobs reloads this Runner's tasks that others wrote, so that a
// cancel request from any process reaches the job.
func (r *Runner) refreshJobs(ctx context.Context, es []taskEntry) {
	for _, e := range es {
		r.mu.Lock()
		j := r.jobs[e.doc.ID]
		r.mu.Unlock()
		if j == nil {
			continue
		}
		j.mu.Lock()
		if !j.lost && j.ver != e.ver && (e.doc.Cancel || e.doc.Owner != r.owner || e.doc.State != Running) {
			_ = r.reload(ctx, j) // reads afresh: a cancel request, or the task lost
		}
		j.mu.Unlock()
	}
}

// finish records how the job ended and releases its locks.
func (r *Runner) finish(ctx context.Context, j *job, res any, runErr error) {
	cause := context.Cause(ctx)
	if errors.Is(cause, errLost) {
		return
	}
	state, msg, code := Completed, "", ""
	switch {
	case runErr == nil:
	case errors.Is(cause, errCanceled):
		state, msg = Canceled, "canceled"
	case ctx.Err() != nil:
		state, msg = Failed, Interrupted
		j.rep.Logf("stopped: %s", runErr)
	default:
		state, msg = Failed, runErr.Error()
		if errors.As(runErr, new(*parallel.PanicError)) { // a bug: its stack is for the log
			r.log.Error("tasks: panic", "task", j.id, "err", runErr, parallel.LogStack(runErr))
		}
		if r.cfg.ErrorCode != nil {
			code = r.cfg.ErrorCode(runErr)
		}
	}
	var result json.RawMessage
	if res != nil {
		var err error
		if result, err = json.Marshal(res); err != nil {
			j.rep.Logf("result: %s", err)
			result = nil
		}
		if string(result) == "null" { // a nil pointer: no result
			result = nil
		}
	}
	prog, log, _ := j.rep.take()
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.finishWait)
	defer cancel()

	j.mu.Lock()
	defer j.mu.Unlock()
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		if j.lost {
			return
		}
		err := r.end(wctx, j.doc, j.ver, func(n *taskDoc) {
			n.State, n.Error, n.ErrorCode, n.Progress, n.Log, n.Result = state, msg, code, prog, log, result
		})
		if err == nil {
			return
		}
		if isConflict(err) {
			// Someone wrote the task (a cancel request): read it again,
			// unless it is no longer ours.
			if err = r.reload(wctx, j); err == nil {
				continue
			}
		}
		if errors.Is(err, errLost) {
			return
		}
		r.log.Warn("tasks: record end", "task", j.id, "err", err)
		select {
		case <-wctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// end writes a running task's final state and releases its locks in one
// transaction. A conflict on the locks alone is retried here; one on the
// task is returned.
func (r *Runner) end(ctx context.Context, d *taskDoc, ver Version, change func(*taskDoc)) error {
	n := d.clone()
	n.Finished, n.Lease, n.Cancel = r.svc.now().UTC(), time.Time{}, false
	change(n)
	for {
		locks, lver, err := r.svc.getLocks(ctx)
		if err != nil {
			return err
		}
		puts := []Put{{Key: taskKey(d.ID), Old: ver, Value: n}}
		if locks.holds(d.ID) {
			puts = append(puts, Put{Key: locksKey, Old: lver, Value: locks.without(d.ID)})
		}
		_, err = r.svc.b.Apply(ctx, "task "+d.ID+" "+n.State, puts...)
		if isConflict(err) && len(puts) == 2 {
			// Which one moved? Only the locks: try again.
			if _, cur, gerr := r.svc.get(ctx, d.ID); gerr == nil && cur == ver {
				continue
			}
		}
		if err != nil {
			return err
		}
		r.m.duration.WithLabelValues(n.Request.Op, n.State).Observe(n.Finished.Sub(n.Started).Seconds())
		r.svc.notify()
		return nil
	}
}

// reap fails the running tasks whose owner's lease ran out, and drops
// locks that no running task holds.
func (r *Runner) reap(ctx context.Context, es []taskEntry, now time.Time) {
	running := map[string]bool{}
	for _, e := range es {
		d := e.doc
		if d.State != Running {
			continue
		}
		running[d.ID] = true
		if !r.ownerGone(d, now) {
			continue
		}
		if err := r.reapOne(ctx, d.ID, now); err != nil && ctx.Err() == nil {
			r.log.Error("tasks: fail interrupted task", "task", d.ID, "err", err)
		}
	}
	locks, lver, err := r.svc.getLocks(ctx)
	if err != nil {
		return
	}
	var stale []string
	for id := range locks.Running {
		if !running[id] {
			stale = append(stale, id)
		}
	}
	if locks.Exclusive != "" && !running[locks.Exclusive] {
		stale = append(stale, locks.Exclusive)
	}
	// The listing may predate a claim: read each task again.
	stale = slicesFilter(stale, func(id string) bool {
		d, _, err := r.svc.get(ctx, id)
		return errors.Is(err, ErrTaskNotFound) || err == nil && d.State != Running
	})
	if len(stale) > 0 {
		// A conflict means the locks moved since they were read: next time.
		_, _ = r.svc.b.Apply(ctx, "task locks: drop stale", Put{Key: locksKey, Old: lver, Value: locks.without(stale...)})
	}
}

// ownerGone reports whether the Runner running d is gone: its lease ran
// out, or its process exited.
func (r *Runner) ownerGone(d *taskDoc, now time.Time) bool {
	return d.Owner != r.owner && (now.After(d.Lease) || ownerExited(d.Owner))
}

func (r *Runner) reapOne(ctx context.Context, id string, now time.Time) error {
	for range 5 {
		d, ver, err := r.svc.get(ctx, id)
		if err != nil {
			return err
		}
		if d.State != Running || !r.ownerGone(d, now) {
			return nil // renewed or ended meanwhile
		}
		why := " stopped renewing its lease"
		if ownerExited(d.Owner) {
			why = " exited"
		}
		err = r.end(ctx, d, ver, func(n *taskDoc) {
			n.State, n.Error = Failed, Interrupted
			if d.Cancel {
				n.State, n.Error = Canceled, "canceled"
			}
			n.Log = appendBounded(n.Log, now.UTC().Format(time.RFC3339)+" runner "+d.Owner+why)
		})
		if !isConflict(err) {
			return err
		}
	}
	return nil
}

// prune deletes finished tasks older than Retention, and the oldest beyond
// KeepFinished.
func (r *Runner) prune(ctx context.Context, es []taskEntry, now time.Time) {
	var done []taskEntry
	for _, e := range es {
		if e.doc.Done() {
			done = append(done, e)
		}
	}
	sort.SliceStable(done, func(a, b int) bool { return done[a].doc.Finished.Before(done[b].doc.Finished) })
	cutoff := now.Add(-r.cfg.Retention)
	var puts []Put
	for i, e := range done {
		if len(done)-i > r.cfg.KeepFinished || e.doc.Finished.Before(cutoff) {
			puts = append(puts, Put{Key: taskKey(e.doc.ID), Old: e.ver})
		}
	}
	for len(puts) > 0 {
		n := min(len(puts), 100)
		// A conflict (a task deleted meanwhile) skips this batch until the
		// next prune.
		if _, err := r.svc.b.Apply(ctx, "tasks: prune finished", puts[:n]...); err != nil && !isConflict(err) {
			r.log.Error("tasks: prune", "err", err)
			return
		}
		puts = puts[n:]
	}
}

func slicesFilter[T any](s []T, keep func(T) bool) []T {
	var out []T
	for _, v := range s {
		if keep(v) {
			out = append(out, v)
		}
	}
	return out
}
