package tasks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/pkgvc/pkgvc/repo"
)

// Keys in the Backend.
const (
	taskPrefix     = "tasks/"
	schedulePrefix = "schedules/"
	locksKey       = "task-locks"
)

func taskKey(id string) string       { return taskPrefix + id }
func scheduleKey(name string) string { return schedulePrefix + name }

// taskDoc is a stored task: the public Task and what Runners need.
type taskDoc struct {
	Task
	Lock Lock `json:"lock"`
	// Owner is the Runner running the task; Lease is when it counts as
	// gone unless it writes again.
	Owner string    `json:"owner,omitempty"`
	Lease time.Time `json:"lease,omitzero"`
	// Cancel asks the owner of a running task to stop it.
	Cancel bool `json:"cancel,omitempty"`
}

func (d *taskDoc) clone() *taskDoc {
	c := *d
	c.Request.Args = slices.Clone(d.Request.Args)
	c.Log = slices.Clone(d.Log)
	c.Result = slices.Clone(d.Result)
	return &c
}

// public returns the Task callers see.
func (d *taskDoc) public() *Task {
	t := d.clone().Task
	return &t
}

// scheduleDoc is a stored schedule.
type scheduleDoc struct {
	Schedule
	// Handled is the latest due time started or skipped.
	Handled time.Time `json:"handled,omitzero"`
}

// locksDoc holds the running tasks' locks; a claim and a finish change it
// in the same transaction as the task.
type locksDoc struct {
	Running   map[string]string `json:"running,omitempty"` // task id: its repository, or ""
	Exclusive string            `json:"exclusive,omitempty"`
}

// allows reports whether a task with lock l may start now.
func (l *locksDoc) allows(lock Lock) bool {
	if l.Exclusive != "" {
		return false
	}
	if lock.Exclusive {
		return len(l.Running) == 0
	}
	if lock.Repo != "" {
		for _, r := range l.Running {
			if r == lock.Repo {
				return false
			}
		}
	}
	return true
}

func (l *locksDoc) with(id string, lock Lock) *locksDoc {
	c := &locksDoc{Running: map[string]string{}, Exclusive: l.Exclusive}
	for k, v := range l.Running {
		c.Running[k] = v
	}
	if lock.Exclusive {
		c.Exclusive = id
	} else {
		c.Running[id] = lock.Repo
	}
	return c
}

func (l *locksDoc) without(ids ...string) *locksDoc {
	c := &locksDoc{Running: map[string]string{}, Exclusive: l.Exclusive}
	for k, v := range l.Running {
		c.Running[k] = v
	}
	for _, id := range ids {
		delete(c.Running, id)
		if c.Exclusive == id {
			c.Exclusive = ""
		}
	}
	return c
}

func (l *locksDoc) holds(id string) bool {
	_, ok := l.Running[id]
	return ok || l.Exclusive == id
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock that dates tasks, leases and schedule times.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithLocation sets the time zone of cron expressions without CRON_TZ=
// (default: the local one).
func WithLocation(loc *time.Location) Option { return func(s *Service) { s.loc = loc } }

// WithWaitPoll sets how often WaitTask reads a task that another process
// runs (default 500 ms).
func WithWaitPoll(d time.Duration) Option { return func(s *Service) { s.poll = d } }

// Service runs tasks and schedules over a Backend (it is the api.Tasks
// and api.Schedules of api/local). It queues
// tasks and stores schedules; a Runner, in this process or another one
// sharing the Backend, runs them. It is safe for concurrent use.
type Service struct {
	b    Backend
	reg  *Registry
	now  func() time.Time
	loc  *time.Location
	poll time.Duration
	ids  idSource

	mu      sync.Mutex
	cache   map[string]cachedTask // by key; documents are immutable per version
	changed chan struct{}         // closed when this process changes a task
	wake    chan struct{}         // tells a Runner in this process to look now
}

type cachedTask struct {
	ver Version
	doc *taskDoc
}

// New returns a Service storing in b and running the operations of reg.
func New(b Backend, reg *Registry, opts ...Option) *Service {
	s := &Service{
		b: b, reg: reg, now: time.Now, loc: time.Local, poll: 500 * time.Millisecond,
		cache: map[string]cachedTask{}, changed: make(chan struct{}), wake: make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// notify wakes WaitTask calls and the local Runner after a change.
func (s *Service) notify() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Service) changedChan() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// taskEntry is a listed task and its version.
type taskEntry struct {
	ver Version
	doc *taskDoc // shared with the cache: clone before changing
}

// list returns every task in id order, reading only those that changed
// since the last call.
func (s *Service) list(ctx context.Context) ([]taskEntry, error) {
	var out []taskEntry
	seen := map[string]bool{}
	err := s.b.List(ctx, taskPrefix, func(key string, ver Version) error {
		seen[key] = true
		s.mu.Lock()
		c, ok := s.cache[key]
		s.mu.Unlock()
		if ok && c.ver == ver {
			out = append(out, taskEntry{ver, c.doc})
			return nil
		}
		d := new(taskDoc)
		got, err := s.b.Get(ctx, key, d)
		if errors.Is(err, ErrNotFound) {
			return nil // deleted meanwhile
		}
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.cache[key] = cachedTask{got, d}
		s.mu.Unlock()
		out = append(out, taskEntry{got, d})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	s.mu.Lock()
	for k := range s.cache {
		if !seen[k] {
			delete(s.cache, k)
		}
	}
	s.mu.Unlock()
	return out, nil
}

// get reads a task afresh.
func (s *Service) get(ctx context.Context, id string) (*taskDoc, Version, error) {
	if !validID(id) {
		return nil, "", fmt.Errorf("%w: %q", ErrTaskNotFound, id)
	}
	d := new(taskDoc)
	ver, err := s.b.Get(ctx, taskKey(id), d)
	if errors.Is(err, ErrNotFound) {
		return nil, "", fmt.Errorf("%w: %s", ErrTaskNotFound, id)
	}
	if err != nil {
		return nil, "", fmt.Errorf("task %s: %w", id, err)
	}
	return d, ver, nil
}

func (s *Service) getLocks(ctx context.Context) (*locksDoc, Version, error) {
	l := new(locksDoc)
	ver, err := s.b.Get(ctx, locksKey, l)
	if errors.Is(err, ErrNotFound) {
		return &locksDoc{}, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("task locks: %w", err)
	}
	return l, ver, nil
}

// newTask returns a queued task for req, checked by the registry.
func (s *Service) newTask(ctx context.Context, req Request) (*taskDoc, error) {
	_, lock, err := s.reg.check(ctx, req)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	return &taskDoc{
		Task: Task{
			ID:      s.ids.next(now),
			Request: Request{Op: req.Op, Args: slices.Clone(req.Args)},
			State:   Queued,
			Repo:    lock.Repo,
			Created: now,
			By:      repo.WhoFrom(ctx),
		},
		Lock: lock,
	}, nil
}

// StartTask checks req and queues it.
func (s *Service) StartTask(ctx context.Context, req Request) (*Task, error) {
	d, err := s.newTask(ctx, req)
	if err != nil {
		return nil, err
	}
	if _, err := s.b.Apply(ctx, "task "+d.ID+" queued: "+d.Request.Op, Put{Key: taskKey(d.ID), Value: d}); err != nil {
		return nil, fmt.Errorf("queue task: %w", err)
	}
	s.notify()
	return d.public(), nil
}

// ListTasks returns every task, oldest first.
func (s *Service) ListTasks(ctx context.Context) ([]Task, error) {
	es, err := s.list(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Task, len(es))
	for i, e := range es {
		out[i] = *e.doc.public()
	}
	return out, nil
}

// ShowTask returns one task.
func (s *Service) ShowTask(ctx context.Context, id string) (*Task, error) {
	d, _, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	return d.public(), nil
}

// WaitTask returns when the task is done or ctx ends, calling progress,
// when set, each time the task changes.
func (s *Service) WaitTask(ctx context.Context, id string, progress func(*Task)) (*Task, error) {
	var last Version
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		ch := s.changedChan()
		d, ver, err := s.get(ctx, id)
		if err != nil {
			return nil, err
		}
		if ver != last && progress != nil {
			progress(d.public())
		}
		last = ver
		if d.Done() {
			return d.public(), nil
		}
		t.Reset(s.poll)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ch:
		case <-t.C:
		}
	}
}

// CancelTask cancels a queued task at once and asks the owner of a
// running one to stop it; the task becomes canceled when it has. A task
// that is done is returned as it is.
func (s *Service) CancelTask(ctx context.Context, id string) (*Task, error) {
	for {
		d, ver, err := s.get(ctx, id)
		if err != nil {
			return nil, err
		}
		if d.Done() || d.Cancel {
			return d.public(), nil
		}
		n := d.clone()
		if n.State == Queued {
			n.State, n.Finished = Canceled, s.now().UTC()
			n.Error = "canceled before it started"
		} else {
			n.Cancel = true
		}
		_, err = s.b.Apply(ctx, "task "+id+" cancel", Put{Key: taskKey(id), Old: ver, Value: n})
		if isConflict(err) {
			continue // claimed or written meanwhile: look again
		}
		if err != nil {
			return nil, fmt.Errorf("cancel task %s: %w", id, err)
		}
		s.notify()
		return n.public(), nil
	}
}

// parseCron parses a standard 5-field cron expression or a descriptor
// such as @daily or @every 1h.
func parseCron(spec string) (cron.Schedule, error) {
	sched, err := cron.ParseStandard(strings.TrimSpace(spec))
	if err != nil {
		return nil, fmt.Errorf("%w cron expression %q: %w", ErrInvalid, spec, err)
	}
	return sched, nil
}

// CreateSchedule checks s's name, cron expression and request and stores
// it. LastRun, LastTask and Next are ignored.
func (s *Service) CreateSchedule(ctx context.Context, sc Schedule) (*Schedule, error) {
	if err := repo.ValidateName(sc.Name); err != nil {
		return nil, fmt.Errorf("schedule %w", err)
	}
	sched, err := parseCron(sc.Cron)
	if err != nil {
		return nil, err
	}
	if _, _, err := s.reg.check(ctx, sc.Request); err != nil {
		return nil, err
	}
	d := &scheduleDoc{Schedule: Schedule{
		Name: sc.Name, Cron: strings.TrimSpace(sc.Cron), Created: s.now().UTC(),
		Request: Request{Op: sc.Request.Op, Args: slices.Clone(sc.Request.Args)},
	}}
	_, err = s.b.Apply(ctx, "schedule "+sc.Name+" create", Put{Key: scheduleKey(sc.Name), Value: d})
	if isConflict(err) {
		return nil, fmt.Errorf("%w: %s", ErrScheduleExists, sc.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("create schedule %s: %w", sc.Name, err)
	}
	out := d.Schedule
	out.Next = sched.Next(s.now().In(s.loc))
	return &out, nil
}

// listSchedules returns every schedule document with its version.
func (s *Service) listSchedules(ctx context.Context, fn func(d *scheduleDoc, ver Version) error) error {
	var keys []string
	if err := s.b.List(ctx, schedulePrefix, func(key string, _ Version) error {
		keys = append(keys, key)
		return nil
	}); err != nil {
		return fmt.Errorf("list schedules: %w", err)
	}
	for _, k := range keys {
		d := new(scheduleDoc)
		ver, err := s.b.Get(ctx, k, d)
		if errors.Is(err, ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return fmt.Errorf("schedule %s: %w", strings.TrimPrefix(k, schedulePrefix), err)
		}
		if err := fn(d, ver); err != nil {
			return err
		}
	}
	return nil
}

// ListSchedules returns every schedule, by name, with its next due time.
func (s *Service) ListSchedules(ctx context.Context) ([]Schedule, error) {
	out := []Schedule{}
	now := s.now().In(s.loc)
	err := s.listSchedules(ctx, func(d *scheduleDoc, _ Version) error {
		sc := d.Schedule
		if sched, err := parseCron(sc.Cron); err == nil {
			sc.Next = sched.Next(now)
		}
		out = append(out, sc)
		return nil
	})
	return out, err
}

// DeleteSchedule removes a schedule; a task it started is left alone.
func (s *Service) DeleteSchedule(ctx context.Context, name string) error {
	if repo.ValidateName(name) != nil {
		return fmt.Errorf("%w: %q", ErrScheduleNotFound, name)
	}
	for {
		ver, err := s.b.Get(ctx, scheduleKey(name), new(scheduleDoc))
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: %s", ErrScheduleNotFound, name)
		}
		if err != nil {
			return fmt.Errorf("schedule %s: %w", name, err)
		}
		_, err = s.b.Apply(ctx, "schedule "+name+" delete", Put{Key: scheduleKey(name), Old: ver})
		if isConflict(err) {
			continue // fired meanwhile
		}
		if err != nil {
			return fmt.Errorf("delete schedule %s: %w", name, err)
		}
		return nil
	}
}
