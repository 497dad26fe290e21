package main

import "github.com/urfave/cli/v3"

func syncCmd(e *env) *cli.Command {
	return &cli.Command{Name: "sync", Hidden: true}
}
