// Package commands lists the commands content kinds bring to pkgvc's
// command line beside the core ones: adding one is a line here.
package commands

import (
	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/kinds/python/pycli"
)

// Env is how the kinds' commands run inside the command line: the union
// of what each kind's command package asks of it.
type Env interface {
	pycli.Env
}

// Commands returns the kinds' commands, run through e.
func Commands(e Env) []*cli.Command {
	return pycli.Commands(e)
}
