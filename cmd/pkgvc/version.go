package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v3"
)

// version is set at link time (-ldflags "-X main.version=v1.2.3"); else
// the module version and VCS revision Go recorded in the binary are used.
var version string

// buildVersion describes this binary: its version, commit and Go.
type buildVersion struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
}

func readVersion() buildVersion {
	v := buildVersion{Version: version, Go: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" {
			v.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	return v
}

func (v buildVersion) String() string {
	s := v.Version
	if v.Commit != "" {
		s += " (commit " + v.Commit[:min(12, len(v.Commit))]
		if v.Modified {
			s += ", modified"
		}
		s += ")"
	}
	return s + " " + v.Go
}

func versionCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print pkgvc's version (also pkgvc --version)",
		Action: func(_ context.Context, c *cli.Command) error {
			if _, err := args(c, 0, 0, ""); err != nil {
				return err
			}
			v := readVersion()
			if jsonOut(c) {
				return e.printJSON(v)
			}
			fmt.Fprintf(e.stdout, "pkgvc version %s\n", v)
			return nil
		},
	}
}
