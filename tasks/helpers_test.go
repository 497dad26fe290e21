package tasks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metamem "github.com/pkgvc/pkgvc/meta/mem"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/objects"
	objmem "github.com/pkgvc/pkgvc/objects/mem"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 0, 1, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

func newStore(t *testing.T) *repo.Store {
	t.Helper()
	return repo.New(objects.New(objmem.New()), refsmem.New(), all.Kinds(), repo.WithMeta(metamem.New()))
}

// harness provides test operations and records how they ran.
//
//	hold REPO NAME: runs until release(NAME) or its context ends
//	quick REPO NAME: returns at once
//	excl NAME: like hold, but runs alone
//	fail NAME: fails
//
// REPO "-" locks no repository.
type harness struct {
	t       *testing.T
	started chan string

	mu        sync.Mutex
	gates     map[string]chan struct{}
	runs      map[string]int
	perRepo   map[string]int
	maxRepo   map[string]int
	now, most int
	excl      bool // an excl op is running
	overlap   bool // something ran beside an excl op
}

func newHarness(t *testing.T) *harness {
	return &harness{t: t, started: make(chan string, 1000), gates: map[string]chan struct{}{},
		runs: map[string]int{}, perRepo: map[string]int{}, maxRepo: map[string]int{}}
}

func (h *harness) gate(name string) chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.gates[name]
	if g == nil {
		g = make(chan struct{})
		h.gates[name] = g
	}
	return g
}

func (h *harness) release(name string) { close(h.gate(name)) }

// waitStarted returns the next started operation's name.
func (h *harness) waitStarted() string {
	h.t.Helper()
	select {
	case n := <-h.started:
		return n
	case <-time.After(10 * time.Second):
		h.t.Fatal("no operation started")
		return ""
	}
}

func (h *harness) enter(repoName, name string, excl bool) {
	h.mu.Lock()
	h.runs[name]++
	h.now++
	h.most = max(h.most, h.now)
	if h.excl || excl && h.now > 1 {
		h.overlap = true
	}
	h.excl = h.excl || excl
	if repoName != "-" {
		h.perRepo[repoName]++
		h.maxRepo[repoName] = max(h.maxRepo[repoName], h.perRepo[repoName])
	}
	h.mu.Unlock()
	h.started <- name
}

func (h *harness) leave(repoName string, excl bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now--
	if excl {
		h.excl = false
	}
	if repoName != "-" {
		h.perRepo[repoName]--
	}
}

func (h *harness) registry() *Registry {
	reg := NewRegistry()
	repoArgs := func(_ context.Context, args []string) (Lock, error) {
		if len(args) != 2 {
			return Lock{}, fmt.Errorf("%w: want REPO NAME", ErrInvalid)
		}
		if args[0] == "-" {
			return Lock{}, nil
		}
		return Lock{Repo: args[0]}, nil
	}
	hold := func(excl bool) OpFunc {
		return func(ctx context.Context, args []string, r *Report) (any, error) {
			rp, name := "-", args[len(args)-1]
			if !excl {
				rp = args[0]
			}
			h.enter(rp, name, excl)
			defer h.leave(rp, excl)
			r.Logf("holding %s", name)
			r.Progress(1, 2, "steps")
			select {
			case <-h.gate(name):
				r.Progress(2, 2, "steps")
				return map[string]string{"name": name}, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	reg.Register("hold", Op{Check: repoArgs, Run: hold(false)})
	reg.Register("excl", Op{
		Check: func(_ context.Context, args []string) (Lock, error) { return Lock{Exclusive: true}, nil },
		Run:   hold(true),
	})
	reg.Register("quick", Op{Check: repoArgs, Run: func(ctx context.Context, args []string, r *Report) (any, error) {
		h.enter(args[0], args[1], false)
		time.Sleep(time.Millisecond) // let an overlap show
		h.leave(args[0], false)
		return args[1], nil
	}})
	reg.Register("fail", Op{
		Check: func(_ context.Context, args []string) (Lock, error) { return Lock{}, nil },
		Run: func(ctx context.Context, args []string, r *Report) (any, error) {
			r.Logf("about to fail")
			return map[string]int{"partial": 1}, errors.New("it broke")
		},
	})
	return reg
}

// fastConfig polls and flushes often so that tests end quickly.
func fastConfig(workers int) RunnerConfig {
	return RunnerConfig{Workers: workers, Poll: 10 * time.Millisecond, Flush: 10 * time.Millisecond}
}

// startRunner starts a Runner on svc, closed at the end of the test.
func startRunner(t *testing.T, svc *Service, cfg RunnerConfig) *Runner {
	t.Helper()
	r := NewRunner(svc, cfg)
	require.NoError(t, r.Start(context.Background()))
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func start(t *testing.T, svc *Service, op string, args ...string) *Task {
	t.Helper()
	task, err := svc.StartTask(context.Background(), Request{Op: op, Args: args})
	require.NoError(t, err)
	return task
}

func wait(t *testing.T, svc *Service, id string) *Task {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	task, err := svc.WaitTask(ctx, id, nil)
	require.NoError(t, err)
	return task
}

func show(t *testing.T, svc *Service, id string) *Task {
	t.Helper()
	task, err := svc.ShowTask(context.Background(), id)
	require.NoError(t, err)
	return task
}

// requireState waits until task id is in state.
func requireState(t *testing.T, svc *Service, id, state string) {
	t.Helper()
	require.Eventually(t, func() bool { return show(t, svc, id).State == state }, 10*time.Second, 5*time.Millisecond, "task %s never %s", id, state)
}

// killable is a Backend that stops working, like a process that died.
type killable struct {
	Backend
	dead atomic.Bool
}

var errDead = errors.New("process is dead")

func (k *killable) Apply(ctx context.Context, action string, puts ...Put) ([]Version, error) {
	if k.dead.Load() {
		return nil, errDead
	}
	return k.Backend.Apply(ctx, action, puts...)
}
