// Command pkgvc manages versioned package repositories: commit packages,
// compare and promote versions, serve them.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/repo/kinds/all"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is what every command shares: output streams and the store, opened
// on first use from the global flags.
type env struct {
	stdout, stderr io.Writer
	st             *repo.Store
}

// usageError marks a malformed command line (exit code 2).
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// store opens the store named by --store, $PKGVC_STORE or ./pkgvc-data.
func (e *env) store(ctx context.Context, c *cli.Command) (*repo.Store, error) {
	if e.st != nil {
		return e.st, nil
	}
	dir := c.String("store")
	if dir == "" {
		dir = "pkgvc-data"
	}
	st, err := repo.OpenDir(ctx, dir, all.Kinds())
	if err != nil {
		return nil, err
	}
	e.st = st
	return st, nil
}

// storeAction is the action of a command that works on the store: it
// checks the positional arguments, opens the store, then runs body.
func (e *env) storeAction(min, max int, usage string, body func(ctx context.Context, c *cli.Command, st *repo.Store, a []string) error) cli.ActionFunc {
	return func(ctx context.Context, c *cli.Command) error {
		a, err := args(c, min, max, usage)
		if err != nil {
			return err
		}
		st, err := e.store(ctx, c)
		if err != nil {
			return err
		}
		return body(ctx, c, st, a)
	}
}

// jsonOut reports whether --json was given.
func jsonOut(c *cli.Command) bool { return c.Bool("json") }

// printJSON writes one JSON document.
func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// args checks the positional argument count.
func args(c *cli.Command, min, max int, names string) ([]string, error) {
	a := c.Args().Slice()
	if len(a) < min || (max >= 0 && len(a) > max) {
		return nil, usagef("usage: pkgvc %s %s", strings.TrimPrefix(c.FullName(), "pkgvc "), names)
	}
	return a, nil
}

func newApp(e *env) *cli.Command {
	return &cli.Command{
		Name:  "pkgvc",
		Usage: "versioned package repositories: commit, diff, promote, serve",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "store", Usage: "store directory", Sources: cli.EnvVars("PKGVC_STORE"), Value: "pkgvc-data", DefaultText: "$PKGVC_STORE, else ./pkgvc-data"},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON document"},
		},
		Writer:          e.stdout,
		ErrWriter:       e.stderr,
		HideHelpCommand: true,
		ExitErrHandler:  func(context.Context, *cli.Command, error) {}, // run maps errors to codes
		Commands: []*cli.Command{
			repoCmd(e),
			commitCmd(e),
			logCmd(e),
			lsCmd(e),
			catCmd(e),
			reflogCmd(e),
			diffCmd(e),
			promoteCmd(e),
			rollbackCmd(e),
			gcCmd(e),
			fsckCmd(e),
			distCmd(e),
			checkoutCmd(e),
			serveCmd(e),
			remoteCmd(e),
			syncCmd(e),
			tokenCmd(e),
		},
		Action: func(_ context.Context, c *cli.Command) error {
			if c.Args().Len() > 0 {
				return usagef("unknown command %q (see pkgvc --help)", c.Args().First())
			}
			return cli.ShowRootCommandHelp(c)
		},
	}
}

// run executes one command line and returns the exit code: 0 success,
// 1 refused or failed, 2 usage error.
func run(ctx context.Context, argv []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
	app := newApp(e)
	markUsageErrors(app)
	err := app.Run(ctx, argv)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "pkgvc: %s\n", oneLine(err.Error()))
	if isUsage(err) {
		return 2
	}
	return 1
}

func isUsage(err error) bool {
	var u *usageError
	return errors.As(err, &u)
}

// markUsageErrors makes every command report flag errors as usage errors.
func markUsageErrors(c *cli.Command) {
	c.OnUsageError = func(_ context.Context, _ *cli.Command, err error, _ bool) error {
		return &usageError{err.Error()}
	}
	if len(c.Commands) > 0 && c.Action == nil {
		c.Action = func(_ context.Context, c *cli.Command) error {
			if c.Args().Len() > 0 {
				return usagef("unknown command %q (see pkgvc %s --help)", c.Args().First(), c.Name)
			}
			if err := cli.ShowSubcommandHelp(c); err != nil {
				return err
			}
			return usagef("pkgvc %s needs a subcommand", c.Name)
		}
	}
	for _, sub := range c.Commands {
		markUsageErrors(sub)
	}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
