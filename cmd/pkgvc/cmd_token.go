package main

import "github.com/urfave/cli/v3"

func tokenCmd(e *env) *cli.Command {
	return &cli.Command{Name: "token", Hidden: true}
}
