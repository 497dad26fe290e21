// Package kindcli is what pkgvc's command line gives the commands a
// content kind brings beside the core ones (python's yank): the kind
// builds them on api.Service and the command line's conventions, and
// kinds/all/commands lists them.
package kindcli

import (
	"context"
	"io"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/repo"
)

// Body runs a command with its positional arguments and the Service the
// command line opened (the local store, or --server's API).
type Body func(ctx context.Context, c *cli.Command, svc api.Service, args []string) error

// Env is how a kind's commands run inside the command line.
type Env struct {
	// Action returns a command's action: it checks that it has min to
	// max (-1: any) positional arguments, named by usage, opens the
	// Service and runs body.
	Action func(min, max int, usage string, body Body) cli.ActionFunc
	// PrintCommit prints a commit's result as the core commands do (a
	// line, or the JSON document under --json).
	PrintCommit func(c *cli.Command, res *repo.CommitResult) error
	// Stdout is where commands print.
	Stdout io.Writer
}

// JSON reports whether the command line asks for JSON output (--json).
func JSON(c *cli.Command) bool { return c.Bool("json") }
