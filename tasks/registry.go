package tasks

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pkgvc/pkgvc/repo"
)

// Lock says what a task must not run alongside.
type Lock struct {
	// Repo, when set, is the repository the task works on: tasks on one
	// repository run one at a time.
	Repo string `json:"repo,omitempty"`
	// Exclusive tasks (gc) run alone: they wait for every running task
	// and no task starts while one runs.
	Exclusive bool `json:"exclusive,omitempty"`
}

// OpFunc runs an operation with its arguments, reporting progress and log
// lines to r, and returns a JSON-encodable result (nil for none). It may
// return a result with an error; both are kept.
type OpFunc func(ctx context.Context, args []string, r *Report) (result any, err error)

// Op is an operation tasks can run.
type Op struct {
	// Check validates args, before the task is queued, and returns the
	// task's lock. Nil accepts no arguments and locks nothing. Its error
	// reaches the caller unchanged, so that an operation refused before
	// it is queued says what it says when run in the caller's process.
	Check func(ctx context.Context, args []string) (Lock, error)
	Run   OpFunc
}

// Registry maps operation names to Ops.
type Registry struct {
	ops map[string]Op
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry { return &Registry{ops: map[string]Op{}} }

// Register adds op under name. It panics on a duplicate or empty name or a
// nil Run, which are programming errors.
func (g *Registry) Register(name string, op Op) {
	if name == "" || op.Run == nil {
		panic("tasks: Register needs a name and a Run")
	}
	if _, dup := g.ops[name]; dup {
		panic("tasks: operation " + name + " registered twice")
	}
	g.ops[name] = op
}

// Names returns the registered operation names, sorted.
func (g *Registry) Names() []string {
	names := make([]string, 0, len(g.ops))
	for n := range g.ops {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// check validates req and returns its Op and lock.
func (g *Registry) check(ctx context.Context, req Request) (Op, Lock, error) {
	op, ok := g.ops[req.Op]
	if !ok {
		return Op{}, Lock{}, fmt.Errorf("%w: unknown operation %q (have %s)", ErrInvalid, req.Op, strings.Join(g.Names(), ", "))
	}
	if op.Check == nil {
		if len(req.Args) > 0 {
			return Op{}, Lock{}, fmt.Errorf("%w: %s takes no arguments", ErrInvalid, req.Op)
		}
		return op, Lock{}, nil
	}
	lock, err := op.Check(ctx, req.Args)
	if err != nil {
		return Op{}, Lock{}, err
	}
	if lock.Repo != "" {
		if err := repo.ValidateName(lock.Repo); err != nil {
			return Op{}, Lock{}, fmt.Errorf("%s: repository %w", req.Op, err)
		}
	}
	return op, lock, nil
}

// MaxLogLines is how many log lines a task keeps: the latest.
const MaxLogLines = 200

// maxLineLen bounds one log line, in bytes.
const maxLineLen = 1000

// Report collects a running task's progress and log lines; the Runner
// writes them out now and then. Its methods are safe for concurrent use.
type Report struct {
	now func() time.Time

	mu    sync.Mutex
	prog  Progress
	log   []string
	dirty bool
}

// Progress records that done of total units are done (total 0: unknown).
func (r *Report) Progress(done, total int64, unit string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := Progress{Done: done, Total: total, Unit: unit}
	if p != r.prog {
		r.prog, r.dirty = p, true
	}
}

// Logf adds a line, stamped with the time, to the task's log.
func (r *Report) Logf(format string, args ...any) {
	line := r.now().UTC().Format(time.RFC3339) + " " + fmt.Sprintf(format, args...)
	line = strings.ReplaceAll(line, "\n", " ")
	if len(line) > maxLineLen {
		line = line[:maxLineLen] + "…"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = appendBounded(r.log, line)
	r.dirty = true
}

// take returns the progress and log and whether they changed since the
// last take.
func (r *Report) take() (Progress, []string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.dirty
	r.dirty = false
	return r.prog, append([]string(nil), r.log...), d
}

func appendBounded(log []string, line string) []string {
	log = append(log, line)
	if n := len(log) - MaxLogLines; n > 0 {
		log = append(log[:0:0], log[n:]...)
	}
	return log
}
