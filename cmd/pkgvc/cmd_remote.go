package main

import "github.com/urfave/cli/v3"

func remoteCmd(e *env) *cli.Command {
	return &cli.Command{Name: "remote", Hidden: true}
}
