package main

import "github.com/urfave/cli/v3"

func distCmd(e *env) *cli.Command {
	return &cli.Command{Name: "dist", Hidden: true}
}
