package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/api"
)

// noWaitFlag is the flag of the commands that can run as a task.
func noWaitFlag() cli.Flag {
	return &cli.BoolFlag{Name: "no-wait", Usage: "start it as a task and print the task's id (see pkgvc task)"}
}

// startTask queues req and prints the task's id, or the task with --json.
func (e *env) startTask(ctx context.Context, c *cli.Command, svc api.Service, req api.TaskRequest) error {
	t, err := svc.StartTask(ctx, req)
	if err != nil {
		return err
	}
	if jsonOut(c) {
		return e.printJSON(t)
	}
	fmt.Fprintln(e.stdout, t.ID)
	return nil
}

func taskCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:     "task",
		Usage:    "list, show, wait for and cancel tasks (syncs, gc, fsck started with --no-wait or by schedules)",
		Commands: []*cli.Command{taskListCmd(e), taskShowCmd(e), taskWaitCmd(e), taskCancelCmd(e)},
	}
}

func taskListCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list tasks",
		Action: e.action(0, 0, "", func(ctx context.Context, c *cli.Command, svc api.Service, _ []string) error {
			ts, err := svc.ListTasks(ctx)
			if err != nil {
				return err
			}
			if jsonOut(c) {
				if ts == nil {
					ts = []api.Task{}
				}
				return e.printJSON(ts)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tREQUEST\tPROGRESS\tCREATED\tBY")
			for i := range ts {
				t := &ts[i]
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.State, requestText(t.Request), progressText(t.Progress), timeText(t.Created), dash(t.By))
			}
			return tw.Flush()
		}),
	}
}

func requestText(r api.TaskRequest) string {
	return strings.Join(append([]string{r.Op}, r.Args...), " ")
}

func progressText(p api.Progress) string {
	switch {
	case p.Total > 0 && p.Unit == "bytes":
		return fmt.Sprintf("%s/%s", byteCount(p.Done), byteCount(p.Total))
	case p.Total > 0:
		return strings.TrimSpace(fmt.Sprintf("%d/%d %s", p.Done, p.Total, p.Unit))
	case p.Done > 0:
		return strings.TrimSpace(fmt.Sprintf("%d %s", p.Done, p.Unit))
	}
	return "-"
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05Z07:00")
}

func taskShowCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "describe a task: state, progress, log, error",
		ArgsUsage: "ID",
		Action: e.action(1, 1, "ID", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			t, err := svc.ShowTask(ctx, a[0])
			if err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(t)
			}
			printTask(e.stdout, t)
			return nil
		}),
	}
}

func printTask(w io.Writer, t *api.Task) {
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	for _, kv := range [][2]string{
		{"id:", t.ID},
		{"request:", requestText(t.Request)},
		{"state:", t.State},
		{"repo:", dash(t.Repo)},
		{"schedule:", dash(t.Schedule)},
		{"by:", dash(t.By)},
		{"created:", timeText(t.Created)},
		{"started:", timeText(t.Started)},
		{"finished:", timeText(t.Finished)},
		{"progress:", progressText(t.Progress)},
	} {
		fmt.Fprintf(tw, "%s\t%s\n", kv[0], kv[1])
	}
	if t.Error != "" {
		fmt.Fprintf(tw, "error:\t%s\n", oneLine(t.Error))
	}
	_ = tw.Flush() // e.stdout errors surface nowhere else either
	if len(t.Log) > 0 {
		fmt.Fprintln(w, "log:")
		for _, l := range t.Log {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	if len(t.Result) > 0 {
		fmt.Fprintf(w, "result: %s\n", t.Result)
	}
}

func taskWaitCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "wait",
		Usage:     "wait for a task to finish, showing its progress; exit 1 unless it completed",
		ArgsUsage: "ID",
		Action: e.action(1, 1, "ID", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			var bar *progressBar
			var progress func(*api.Task)
			if !jsonOut(c) && isTerminal(os.Stdout) {
				progress = func(t *api.Task) {
					if bar == nil {
						bar = newProgressBar(e.stderr, t.Request.Op)
					}
					bar.set(t.Progress.Done, t.Progress.Total, t.Progress.Unit)
				}
			}
			t, err := svc.WaitTask(ctx, a[0], progress)
			if bar != nil {
				bar.finish()
			}
			if err != nil {
				return err
			}
			if jsonOut(c) {
				err = e.printJSON(t)
			} else {
				printTask(e.stdout, t)
			}
			if err == nil && t.State != api.TaskCompleted {
				err = fmt.Errorf("task %s %s", t.ID, t.State)
				if t.Error != "" {
					err = fmt.Errorf("task %s %s: %s", t.ID, t.State, t.Error)
				}
			}
			return err
		}),
	}
}

func taskCancelCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "cancel",
		Usage:     "cancel a queued or running task",
		ArgsUsage: "ID",
		Action: e.action(1, 1, "ID", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			t, err := svc.CancelTask(ctx, a[0])
			if err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(t)
			}
			fmt.Fprintf(e.stdout, "task %s %s\n", t.ID, t.State)
			return nil
		}),
	}
}

func scheduleCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "schedule",
		Usage: "run tasks on a cron schedule (pkgvc serve runs them)",
		Commands: []*cli.Command{
			scheduleCreateCmd(e), scheduleListCmd(e), scheduleDeleteCmd(e),
		},
	}
}

func scheduleCreateCmd(e *env) *cli.Command {
	const usage = `NAME --cron "0 2 * * *" -- OP [ARG...]`
	return &cli.Command{
		Name:      "create",
		Usage:     "run a task request (e.g. -- sync REMOTE REPO) at the times a cron expression gives",
		ArgsUsage: "NAME -- OP [ARG...]",
		Description: "OP is sync, gc, fsck or reflog-expire, with the arguments of the command, as in\n" +
			`pkgvc schedule create nightly --cron "0 2 * * *" -- sync pypi-up py --mirror` + "\n" +
			`pkgvc schedule create weekly --cron "0 4 * * 0" -- reflog-expire --older-than 180d`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "cron", Usage: "when to run: 5 fields (minute hour day month weekday) or @daily, @hourly, ..."},
		},
		Action: e.action(2, -1, usage, func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			if c.String("cron") == "" {
				return usagef("usage: pkgvc schedule create %s: --cron is required", usage)
			}
			s, err := svc.CreateSchedule(ctx, api.Schedule{
				Name: a[0], Cron: c.String("cron"),
				Request: api.TaskRequest{Op: a[1], Args: a[2:]},
			})
			if err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(s)
			}
			fmt.Fprintf(e.stdout, "created schedule %s (%s): %s; next run %s\n", s.Name, s.Cron, requestText(s.Request), timeText(s.Next))
			return nil
		}),
	}
}

func scheduleListCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list schedules",
		Action: e.action(0, 0, "", func(ctx context.Context, c *cli.Command, svc api.Service, _ []string) error {
			ss, err := svc.ListSchedules(ctx)
			if err != nil {
				return err
			}
			if jsonOut(c) {
				if ss == nil {
					ss = []api.Schedule{}
				}
				return e.printJSON(ss)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tCRON\tREQUEST\tNEXT\tLAST RUN\tLAST TASK")
			for _, s := range ss {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Cron, requestText(s.Request), timeText(s.Next), timeText(s.LastRun), dash(s.LastTask))
			}
			return tw.Flush()
		}),
	}
}

func scheduleDeleteCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "delete",
		Usage:     "delete a schedule (its tasks stay)",
		ArgsUsage: "NAME",
		Action: e.action(1, 1, "NAME", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			if err := svc.DeleteSchedule(ctx, a[0]); err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(map[string]string{"deleted": a[0]})
			}
			fmt.Fprintf(e.stdout, "deleted schedule %s\n", a[0])
			return nil
		}),
	}
}
