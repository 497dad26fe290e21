package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/remote"
)

func syncCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "sync",
		Usage:     "bring a repository up to date with a remote: one new version, or none if nothing changed",
		ArgsUsage: "REMOTE REPO",
		Description: "Downloads what the repository lacks (verified against the upstream's sha256 and size),\n" +
			"then commits one version. Additive unless --mirror. If any file fails, no version is made\n" +
			"and the files that did verify are kept for the next sync.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "mirror", Usage: "also remove paths the upstream no longer lists (within --include/--exclude)"},
			&cli.StringFlag{Name: "message", Aliases: []string{"m"}, Usage: "version message"},
			noWaitFlag(),
		},
		Action: e.action(2, 2, "REMOTE REPO [--mirror] [-m MSG] [--no-wait]", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			if c.Bool("no-wait") {
				req := api.TaskRequest{Op: "sync", Args: append([]string(nil), a...)}
				if c.Bool("mirror") {
					req.Args = append(req.Args, "--mirror")
				}
				if c.IsSet("message") {
					req.Args = append(req.Args, "--message", c.String("message"))
				}
				return e.startTask(ctx, c, svc, req)
			}
			o := remote.SyncOptions{Mirror: c.Bool("mirror"), Message: c.String("message")}
			var bar *progressBar
			if !jsonOut(c) && isTerminal(os.Stdout) {
				bar = newProgressBar(e.stderr, "syncing")
			}
			waits := newStepWatch(e.stderr, "sync "+a[0], stepPatience)
			defer waits.stop()
			o.Progress = func(p remote.SyncProgress) {
				waits.progress(p.Step)
				if bar != nil && (p.FilesTotal > 0 || p.BytesTotal > 0) {
					bar.set(p.Bytes, p.BytesTotal, "bytes")
				}
			}
			res, err := svc.Sync(ctx, a[0], a[1], o)
			waits.stop()
			if bar != nil {
				bar.finish()
			}
			if res != nil {
				if jsonOut(c) {
					if perr := e.printJSON(res); err == nil {
						err = perr
					}
				} else {
					// The summary goes to stdout even on failure; stderr
					// gets the one-line error.
					printSyncSummary(e.stdout, res, err == nil)
				}
			}
			return err
		}),
	}
}

// stepPatience is how long a sync step may go without progress before
// the command says what it waits for.
const stepPatience = 2 * time.Second

// stepWatch prints a step of a long operation (once) when it makes no
// progress for a while: a sync waiting on an upstream that does not
// answer says so, and names it, instead of staying silent.
type stepWatch struct {
	w        io.Writer
	prefix   string
	patience time.Duration

	mu      sync.Mutex
	step    string
	said    bool
	timer   *time.Timer
	stopped bool
}

func newStepWatch(w io.Writer, prefix string, patience time.Duration) *stepWatch {
	return &stepWatch{w: w, prefix: prefix, patience: patience}
}

// progress notes progress in step ("" keeps the current one).
func (s *stepWatch) progress(step string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	if step != "" && step != s.step {
		s.step, s.said = step, false
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	if s.step != "" && !s.said {
		s.timer = time.AfterFunc(s.patience, s.say)
	}
}

func (s *stepWatch) say() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || s.said {
		return
	}
	s.said = true
	fmt.Fprintf(s.w, "%s: %s…\n", s.prefix, s.step)
}

// stop ends the watch; nothing is printed after it returns.
func (s *stepWatch) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	if s.timer != nil {
		s.timer.Stop()
	}
}

func printSyncSummary(w io.Writer, r *remote.SyncResult, ok bool) {
	switch {
	case !ok:
		fmt.Fprintf(w, "sync %s → %s failed; %s unchanged\n", r.Remote, r.Repo, r.Repo)
	case r.Changed:
		fmt.Fprintf(w, "%s@%d %s\n", r.Repo, r.Version, r.ID)
	case r.Version == 0:
		fmt.Fprintf(w, "nothing to sync: %s has no versions and the upstream offers nothing\n", r.Repo)
	default:
		fmt.Fprintf(w, "nothing to sync: %s@%d %s is up to date (no new version)\n", r.Repo, r.Version, r.ID)
	}
	fmt.Fprintf(w, "%d added, %d updated, %d removed, %d unchanged", r.Added, r.Updated, r.Removed, r.Unchanged)
	if r.Filtered > 0 {
		fmt.Fprintf(w, ", %d filtered out", r.Filtered)
	}
	if r.Failed > 0 {
		fmt.Fprintf(w, ", %d failed", r.Failed)
	}
	fmt.Fprintf(w, "; downloaded %d file(s), %s", r.Downloaded, byteCount(r.BytesDownloaded))
	if r.Reused > 0 {
		fmt.Fprintf(w, " (%d already stored)", r.Reused)
	}
	if r.Policy == remote.OnDemand {
		fmt.Fprint(w, " (on_demand: bytes are fetched when first served)")
	}
	fmt.Fprintf(w, " in %s\n", (time.Duration(r.Seconds * float64(time.Second))).Round(time.Millisecond))
}

// byteCount renders n bytes in binary units.
func byteCount(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
