package local

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/internal/lifetime"
	"github.com/pkgvc/pkgvc/internal/tasks"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// WithStoreTasks keeps tasks and schedules in the store (see package
// internal/tasks) with the operations sync, gc, fsck and reflog-expire. Every process
// sharing the store sees them; a tasks.Runner (`pkgvc serve` starts one,
// see TaskRunner) runs them.
func WithStoreTasks(opts ...tasks.Option) Option {
	return func(s *Service) {
		ts := tasks.New(tasks.NewStoreBackend(s.st), s.taskOps(), opts...)
		s.Tasks, s.Schedules = ts, ts
	}
}

// TaskRunner returns a Runner for the Service's tasks, switching the
// Service to store tasks (WithStoreTasks) first if it has other ones.
// Call it before the Service is in use.
func (s *Service) TaskRunner(cfg tasks.RunnerConfig) *tasks.Runner {
	ts, ok := s.Tasks.(*tasks.Service)
	if !ok {
		WithStoreTasks()(s)
		ts = s.Tasks.(*tasks.Service)
	}
	return tasks.NewRunner(ts, cfg)
}

// taskOps registers the operations tasks can run on s.
func (s *Service) taskOps() *tasks.Registry {
	reg := tasks.NewRegistry()
	reg.Register("sync", tasks.Op{Check: s.checkSync, Run: s.runSync})
	reg.Register("gc", tasks.Op{Check: checkGC, Run: s.runGC})
	reg.Register("fsck", tasks.Op{Check: checkFsck, Run: s.runFsck})
	reg.Register("reflog-expire", tasks.Op{Check: checkReflogExpire, Run: s.runReflogExpire})
	return reg
}

// syncArgs are a sync task's arguments: REMOTE REPO [--mirror]
// [--message MSG].
type syncArgs struct {
	remote, repo string
	o            remote.SyncOptions
}

func parseSync(args []string) (syncArgs, error) {
	var a syncArgs
	var pos []string
	for i := 0; i < len(args); i++ {
		switch arg := args[i]; {
		case arg == "--mirror":
			a.o.Mirror = true
		case arg == "--message" || arg == "-m":
			if i+1 == len(args) {
				return a, fmt.Errorf("%w: %s needs a value", repo.ErrInvalid, arg)
			}
			i++
			a.o.Message = args[i]
		case strings.HasPrefix(arg, "--message="):
			a.o.Message = strings.TrimPrefix(arg, "--message=")
		case strings.HasPrefix(arg, "-"):
			return a, fmt.Errorf("%w: unknown flag %q", repo.ErrInvalid, arg)
		default:
			pos = append(pos, arg)
		}
	}
	if len(pos) != 2 {
		return a, fmt.Errorf("%w: want REMOTE REPO [--mirror] [--message MSG], got %d arguments", repo.ErrInvalid, len(pos))
	}
	a.remote, a.repo = pos[0], pos[1]
	return a, nil
}

// checkSync refuses a sync whose remote or repository does not exist, so
// that the caller hears it at once rather than from a failed task.
func (s *Service) checkSync(ctx context.Context, args []string) (tasks.Lock, error) {
	a, err := parseSync(args)
	if err != nil {
		return tasks.Lock{}, err
	}
	if _, err := s.remotes.Show(ctx, a.remote); err != nil {
		return tasks.Lock{}, err
	}
	if _, err := s.st.ShowRepo(ctx, a.repo); err != nil {
		return tasks.Lock{}, err
	}
	return tasks.Lock{Repo: a.repo}, nil
}

func (s *Service) runSync(ctx context.Context, args []string, r *tasks.Report) (any, error) {
	a, err := parseSync(args)
	if err != nil {
		return nil, err
	}
	a.o.Progress = func(p remote.SyncProgress) { r.Progress(p.Bytes, p.BytesTotal, "bytes") }
	r.Logf("sync %s into %s", a.remote, a.repo)
	res, err := s.remotes.Sync(ctx, a.remote, a.repo, a.o)
	if res == nil {
		return nil, err
	}
	r.Logf("%d added, %d updated, %d removed; %d downloaded (%d bytes), %d reused, %d failed",
		res.Added, res.Updated, res.Removed, res.Downloaded, res.BytesDownloaded, res.Reused, res.Failed)
	return res, err
}

// parseGC reads a gc task's arguments: [--grace DURATION] [--dry-run];
// --grace 0 (or less) is no grace, no --grace repo.DefaultGrace.
func parseGC(args []string) (repo.GCOptions, error) {
	var o repo.GCOptions
	for i := 0; i < len(args); i++ {
		arg, val, hasVal := strings.Cut(args[i], "=")
		switch {
		case arg == "--dry-run" && !hasVal:
			o.DryRun = true
		case arg == "--grace":
			if !hasVal {
				if i+1 == len(args) {
					return o, fmt.Errorf("%w: --grace needs a duration", repo.ErrInvalid)
				}
				i++
				val = args[i]
			}
			d, err := time.ParseDuration(val)
			if err != nil {
				return o, fmt.Errorf("%w: --grace: %w", repo.ErrInvalid, err)
			}
			if d == 0 {
				d = -1 // an explicit 0 is no grace, as on the command line
			}
			o.Grace = d
		default:
			return o, fmt.Errorf("%w: unexpected argument %q: want [--grace DURATION] [--dry-run]", repo.ErrInvalid, args[i])
		}
	}
	return o, nil
}

// gcRequest is the task request of a collection, as parseGC reads it: a
// negative Grace (no grace) is --grace 0s, a zero one (the default) none.
func gcRequest(o repo.GCOptions) api.TaskRequest {
	var args []string
	switch {
	case o.Grace < 0:
		args = append(args, "--grace", "0s")
	case o.Grace > 0:
		args = append(args, "--grace", o.Grace.String())
	}
	if o.DryRun {
		args = append(args, "--dry-run")
	}
	return api.TaskRequest{Op: "gc", Args: args}
}

// checkGC makes gc exclusive: it runs alone, so that no sync commits a
// version over objects it is deleting.
func checkGC(_ context.Context, args []string) (tasks.Lock, error) {
	_, err := parseGC(args)
	return tasks.Lock{Exclusive: true}, err
}

func (s *Service) runGC(ctx context.Context, args []string, r *tasks.Report) (any, error) {
	o, err := parseGC(args)
	if err != nil {
		return nil, err
	}
	if !o.DryRun {
		// Expired upload sessions go too (each process also sweeps them
		// when it opens one); their bytes are not objects gc sees.
		if err := s.uploads.Sweep(ctx); err != nil {
			r.Logf("sweeping expired uploads: %v", err)
		}
	}
	res, err := s.st.GC(ctx, o)
	if res == nil {
		return nil, err
	}
	r.Logf("deleted %d objects and %d blobs (%d bytes); %d kept as young", res.DeletedObjects, res.DeletedBlobs, res.FreedBytes, res.KeptYoung)
	return res, err
}

// parseFsck parses a fsck task's arguments: [--repair].
func parseFsck(args []string) (api.FsckOptions, error) {
	var o api.FsckOptions
	for _, a := range args {
		if a != "--repair" {
			return o, fmt.Errorf("%w: fsck argument %q: only --repair", repo.ErrInvalid, a)
		}
		o.Repair = true
	}
	return o, nil
}

func checkFsck(_ context.Context, args []string) (tasks.Lock, error) {
	_, err := parseFsck(args)
	return tasks.Lock{}, err
}

func (s *Service) runFsck(ctx context.Context, args []string, r *tasks.Report) (any, error) {
	o, err := parseFsck(args)
	if err != nil {
		return nil, err
	}
	res, err := s.Fsck(ctx, o)
	if res == nil {
		return nil, err
	}
	for _, p := range res.Repaired {
		r.Logf("repaired: %s", p)
	}
	for _, p := range res.Unrepaired {
		r.Logf("not repaired: %s", p)
	}
	r.Logf("checked %d objects and %d blobs (%d bytes): %d problems", res.Objects, res.Blobs, res.Bytes, len(res.Problems))
	for _, p := range res.Problems {
		r.Logf("problem: %s", p)
	}
	return res, err
}

// parseReflogExpire reads a reflog-expire task's arguments: --older-than
// LIFETIME (90d, 12h).
func parseReflogExpire(args []string) (time.Duration, error) {
	var val string
	switch {
	case len(args) == 2 && args[0] == "--older-than":
		val = args[1]
	case len(args) == 1 && strings.HasPrefix(args[0], "--older-than="):
		val = strings.TrimPrefix(args[0], "--older-than=")
	default:
		return 0, fmt.Errorf("%w: want --older-than LIFETIME (such as 90d), got %q", repo.ErrInvalid, args)
	}
	d, err := lifetime.Parse(val)
	if err != nil {
		return 0, fmt.Errorf("%w: --older-than %w", repo.ErrInvalid, err)
	}
	return d, nil
}

func checkReflogExpire(_ context.Context, args []string) (tasks.Lock, error) {
	_, err := parseReflogExpire(args)
	return tasks.Lock{}, err
}

// runReflogExpire expires what is older than the lifetime when the task
// runs, so that a schedule keeps a sliding window of history.
func (s *Service) runReflogExpire(ctx context.Context, args []string, r *tasks.Report) (any, error) {
	d, err := parseReflogExpire(args)
	if err != nil {
		return nil, err
	}
	res, err := s.st.ExpireReflog(ctx, time.Now().Add(-d))
	if res == nil {
		return nil, err
	}
	r.Logf("deleted %d reflog entries older than %s", res.Removed, res.OlderThan.Format(time.RFC3339))
	return res, err
}
