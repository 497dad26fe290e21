// Package commands lists the commands content kinds bring to pkgvc's
// command line beside the core ones: adding one is a line here.
package commands

import (
	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/kinds/kindcli"
	"github.com/pkgvc/pkgvc/kinds/python/pycli"
)

// Commands returns the kinds' commands, run through e.
func Commands(e kindcli.Env) []*cli.Command {
	return pycli.Commands(e)
}
