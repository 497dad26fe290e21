package main

import "github.com/urfave/cli/v3"

func serveCmd(e *env) *cli.Command {
	return &cli.Command{Name: "serve", Hidden: true}
}
