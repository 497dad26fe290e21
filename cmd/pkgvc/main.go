// Command pkgvc manages versioned package repositories: commit packages,
// compare and promote versions, serve them.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/api/client"
	apiserver "github.com/pkgvc/pkgvc/api/server"
	"github.com/pkgvc/pkgvc/app"
	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/kinds/all/commands"
	"github.com/pkgvc/pkgvc/repo"
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
	// app is the local store and its services, when svc is theirs.
	app *app.App
	// dial opens the API client of --server.
	dial func(url, token string) (api.Service, error)
	// printed is set once a JSON document is out: --json prints one.
	printed bool
}

// usageError marks a malformed command line (exit code 2).
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

// failure is an error said in its own words that matches a sentinel (for
// the exit code and the --json error code) without naming it.
type failure struct {
	msg      string
	sentinel error
}

func (f *failure) Error() string { return f.msg }
func (f *failure) Unwrap() error { return f.sentinel }

func failf(sentinel error, format string, args ...any) error {
	return &failure{fmt.Sprintf(format, args...), sentinel}
}

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
		opts := []app.Option{app.WithStoreTasks()}
		if createsStore(c) {
			opts = append(opts, app.WithCreate())
		}
		e.app, err = app.Open(ctx, storeLocation(c), opts...)
		if errors.Is(err, repo.ErrNoStore) {
			err = fmt.Errorf("%w (pkgvc repo create NAME makes one)", err)
		}
		if err == nil {
			e.svc = e.app.Service()
		}
	}
	if err != nil {
		e.svc = nil // a typed nil would pass the check above
	}
	return e.svc, err
}

func (e *env) dialServer(c *cli.Command, url string) (api.Service, error) {
	if !strings.Contains(url, "://") {
		return nil, failf(repo.ErrInvalid, "--server %s has no scheme: give http://%s or https://%s", url, url, url)
	}
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
	svc, err := e.dial(url, strings.TrimSpace(token))
	if errors.Is(err, client.ErrNoToken) {
		return nil, failf(auth.ErrUnauthorized, "no API token for %s: give --token-file FILE or set $PKGVC_TOKEN (pkgvc token create makes one on the server's store)", url)
	}
	return svc, err
}

// createsStore reports whether c makes the store when there is none: the
// commands that write, which a fresh machine starts with. Every other
// command fails on a missing store, so that a mistyped --store or the
// wrong working directory shows rather than reading an empty store.
func createsStore(c *cli.Command) bool {
	switch strings.TrimPrefix(c.FullName(), "pkgvc ") {
	case "repo create", "commit", "token create", "remote create", "serve", "key generate", "key import":
		return true
	}
	return false
}

// publicURL is the server's URL as clients reach it: --public-url, else
// the --server URL, else a placeholder to read as such.
func publicURL(c *cli.Command) (string, error) {
	if u := c.String("public-url"); u != "" {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return "", usagef("--public-url %q: give http(s)://HOST[:PORT][/PREFIX]", u)
		}
		return strings.TrimSuffix(u, "/"), nil
	}
	if s := c.String("server"); s != "" {
		return strings.TrimSuffix(s, "/"), nil
	}
	return "http://<server>", nil
}

// storeLocation is the store the global flags name: a directory or a
// location such as file:///DIR.
func storeLocation(c *cli.Command) string {
	if dir := c.String("store"); dir != "" {
		return dir
	}
	return "pkgvc-data"
}

// local opens the local store for the commands that work on its files
// (serve, checkout), which a server cannot run for them.
func (e *env) local(ctx context.Context, c *cli.Command) (*app.App, error) {
	if c.String("server") != "" {
		return nil, usagef("pkgvc %s works on a local store (--store DIR); it cannot run through --server", c.Name)
	}
	if _, err := e.service(ctx, c); err != nil {
		return nil, err
	}
	if e.app == nil {
		return nil, fmt.Errorf("pkgvc %s needs a local store", c.Name)
	}
	return e.app, nil
}

// action is the action of a command that works on the Service: it checks
// the positional arguments, opens the Service, then runs body.
func (e *env) action(min, max int, usage string, body func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error) cli.ActionFunc {
	return e.checkedAction(min, max, usage, nil, body)
}

// checkedAction is action with check run on the arguments before the
// Service opens, so that a command refused for its arguments leaves no
// trace (such as a new store).
func (e *env) checkedAction(min, max int, usage string, check func(c *cli.Command, a []string) error, body func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error) cli.ActionFunc {
	return func(ctx context.Context, c *cli.Command) error {
		a, err := args(c, min, max, usage)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(c, a); err != nil {
				return err
			}
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
	e.printed = true
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

// kindCmds are the commands content kinds bring beside the core ones.
func kindCmds(e *env) []*cli.Command { return commands.Commands(kindEnv{e}) }

// kindEnv runs the kinds' commands as the core ones (commands.Env).
type kindEnv struct{ e *env }

func (k kindEnv) Action(min, max int, usage string, body func(context.Context, *cli.Command, api.Service, []string) error) cli.ActionFunc {
	return k.e.action(min, max, usage, body)
}

func (k kindEnv) PrintCommit(c *cli.Command, res *repo.CommitResult) error {
	return k.e.printCommit(c, res)
}

func (k kindEnv) Stdout() io.Writer { return k.e.stdout }

func newApp(e *env) *cli.Command {
	return &cli.Command{
		Name:    "pkgvc",
		Usage:   "versioned package repositories: commit, diff, promote, serve",
		Version: readVersion().String(),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "store", Usage: "the store: a directory, or file:///DIR", Sources: cli.EnvVars("PKGVC_STORE"), Value: "pkgvc-data", DefaultText: "$PKGVC_STORE, else ./pkgvc-data"},
			&cli.StringFlag{Name: "server", Usage: "work through the pkgvc server at `URL` instead of a store (wins over --store)", Sources: cli.EnvVars("PKGVC_SERVER")},
			&cli.StringFlag{Name: "token-file", Usage: "read the server's API token from `FILE` (default: $PKGVC_TOKEN holds the token)"},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON document"},
			&cli.StringFlag{Name: "public-url", Usage: "the `URL` clients reach the server at (scheme, host, port, path prefix), in the URLs serve, dist create and dist show print (default: the --server URL, else http://<server>)"},
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
			keyCmd(e),
			taskCmd(e),
			scheduleCmd(e),
			upgradeCmd(e),
			versionCmd(e),
		}, kindCmds(e)...),
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
	if e.app != nil {
		err = errors.Join(err, e.app.Close()) // its service and the store's watch
	} else if e.svc != nil {
		err = errors.Join(err, e.svc.Close())
	}
	if err == nil {
		return 0
	}
	msg := oneLine(err.Error())
	if strings.HasPrefix(msg, "pkgvc ") {
		fmt.Fprintln(e.stderr, msg)
	} else {
		fmt.Fprintf(e.stderr, "pkgvc: %s\n", msg)
	}
	if app.Bool("json") && !e.printed {
		_ = e.printJSON(errorDoc{Error: errorBody{Code: errorCode(err), Message: msg}}) // stderr has it anyway
	}
	if isUsage(err) {
		return 2
	}
	return 1
}

// errorDoc is what --json prints on stdout for a failure that printed no
// result (a failed sync prints its result, which says what failed).
type errorDoc struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// errorCode is the REST API's code for err (see api/wire.Codes), so
// that scripts match a failure the same way locally and through --server;
// a malformed command line is "invalid".
func errorCode(err error) string {
	if isUsage(err) {
		return "invalid"
	}
	return apiserver.ErrorCode(err)
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
