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

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/api/local"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is what every command shares: output streams and the Service,
// opened on first use from the global flags.
type env struct {
	stdout, stderr io.Writer
	svc            api.Service
	// dial opens the API client of --server.
	dial func(url, token string) (api.Service, error)
}

// usageError marks a malformed command line (exit code 2).
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// service opens what the global flags name: the server of --server
// ($PKGVC_SERVER), else the store of --store ($PKGVC_STORE, else
// ./pkgvc-data).
func (e *env) service(ctx context.Context, c *cli.Command) (api.Service, error) {
	if e.svc != nil {
		return e.svc, nil
	}
	var err error
	if url := c.String("server"); url != "" {
		e.svc, err = e.dialServer(c, url)
	} else {
		// Tasks live in the store: those queued here run in a `pkgvc serve`.
		e.svc, err = local.Open(ctx, storeDir(c), local.WithStoreTasks())
	}
	if err != nil {
		e.svc = nil // a typed nil would pass the check above
	}
	return e.svc, err
}

func (e *env) dialServer(c *cli.Command, url string) (api.Service, error) {
	token := os.Getenv("PKGVC_TOKEN")
	if f := c.String("token-file"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("token file: %w", err)
		}
		token = string(b)
	}
	if e.dial == nil {
		return nil, errors.New("--server: this pkgvc cannot talk to a server (built without the API client)")
	}
	return e.dial(url, strings.TrimSpace(token))
}

// storeDir is the store directory the global flags name.
func storeDir(c *cli.Command) string {
	if dir := c.String("store"); dir != "" {
		return dir
	}
	return "pkgvc-data"
}

// local opens the local store for the commands that work on its files
// (serve, checkout), which a server cannot run for them.
func (e *env) local(ctx context.Context, c *cli.Command) (*local.Service, error) {
	if c.String("server") != "" {
		return nil, usagef("pkgvc %s works on a local store (--store DIR); it cannot run through --server", c.Name)
	}
	svc, err := e.service(ctx, c)
	if err != nil {
		return nil, err
	}
	l, ok := svc.(*local.Service)
	if !ok {
		return nil, fmt.Errorf("pkgvc %s needs a local store", c.Name)
	}
	return l, nil
}

// action is the action of a command that works on the Service: it checks
// the positional arguments, opens the Service, then runs body.
func (e *env) action(min, max int, usage string, body func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error) cli.ActionFunc {
	return func(ctx context.Context, c *cli.Command) error {
		a, err := args(c, min, max, usage)
		if err != nil {
			return err
		}
		svc, err := e.service(ctx, c)
		if err != nil {
			return err
		}
		return body(ctx, c, svc, a)
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
			&cli.StringFlag{Name: "server", Usage: "work through the pkgvc server at `URL` instead of a store (wins over --store)", Sources: cli.EnvVars("PKGVC_SERVER")},
			&cli.StringFlag{Name: "token-file", Usage: "read the server's API token from `FILE` (default: $PKGVC_TOKEN holds the token)"},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON document"},
		},
		Writer:          e.stdout,
		ErrWriter:       e.stderr,
		HideHelpCommand: true,
		ExitErrHandler:  func(context.Context, *cli.Command, error) {}, // run maps errors to codes
		Commands: append([]*cli.Command{
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
			taskCmd(e),
			scheduleCmd(e),
		}, kindCmds(e)...), // cmd_python.go
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
	return (&env{stdout: stdout, stderr: stderr, dial: dialServer}).run(ctx, argv)
}

func (e *env) run(ctx context.Context, argv []string) int {
	app := newApp(e)
	markUsageErrors(app)
	useConfig(app) // --config FILE (config.go)
	err := app.Run(ctx, argv)
	if e.svc != nil {
		err = errors.Join(err, e.svc.Close())
	}
	if err == nil {
		return 0
	}
	fmt.Fprintf(e.stderr, "pkgvc: %s\n", oneLine(err.Error()))
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
