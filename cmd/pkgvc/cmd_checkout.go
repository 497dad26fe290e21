package main

import "github.com/urfave/cli/v3"

func checkoutCmd(e *env) *cli.Command {
	return &cli.Command{Name: "checkout", Hidden: true}
}
