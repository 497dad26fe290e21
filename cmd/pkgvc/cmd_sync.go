package main

import (
	"context"
	"fmt"
	"io"
	"os"
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
				o.Progress = func(p remote.SyncProgress) { bar.set(p.Bytes, p.BytesTotal, "bytes") }
			}
			res, err := svc.Sync(ctx, a[0], a[1], o)
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
