// Package commands lists the commands content kinds bring to pkgvc's
// command line beside the core ones: adding one is a line here.
package commands

import (
	"context"
	"io"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/kinds/python/pycli"
	"github.com/pkgvc/pkgvc/repo"
)

// Env is how the kinds' commands run inside the command line: what each
// kind's command package asks of it (pycli.Env).
type Env interface {
	// Action returns a command's action: it checks that it has min to
	// max (-1: any) positional arguments, named by usage, opens the
	// Service the command line chose and runs body.
	Action(min, max int, usage string, body func(ctx context.Context, c *cli.Command, svc api.Service, args []string) error) cli.ActionFunc
	// PrintCommit prints a commit's result as the core commands do.
	PrintCommit(c *cli.Command, res *repo.CommitResult) error
	// Stdout is where commands print.
	Stdout() io.Writer
}

// Commands returns the kinds' commands, run through e.
func Commands(e Env) []*cli.Command {
	return pycli.Commands(e)
}
