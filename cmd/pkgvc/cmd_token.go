package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pkgvc/pkgvc/internal/lifetime"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/auth"
)

func tokenCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:     "token",
		Usage:    "create, list and revoke API tokens with scopes (KIND:GLOB:LEVEL)",
		Commands: []*cli.Command{tokenCreateCmd(e), tokenListCmd(e), tokenRevokeCmd(e)},
	}
}

// tokenOut is the --json shape of a token; the secret only at creation.
type tokenOut struct {
	Name    string     `json:"name"`
	Token   string     `json:"token,omitempty"`
	Scopes  []string   `json:"scopes"`
	Created *time.Time `json:"created,omitempty"`
	Expires *time.Time `json:"expires,omitempty"`
}

func newTokenOut(t *auth.Token, secret string) tokenOut {
	o := tokenOut{Name: t.Name, Token: secret, Scopes: scopeStrings(t.Scopes)}
	if secret == "" {
		o.Created = &t.Created
	}
	if !t.Expires.IsZero() {
		o.Expires = &t.Expires
	}
	return o
}

func scopeStrings(ss []auth.Scope) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.String()
	}
	return out
}

func tokenCreateCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "create",
		Usage: "create a token and print it (only this once)",
		Flags: []cli.Flag{
			&cli.GenericFlag{Name: "scope", Value: &globList{}, Usage: "grant `KIND:GLOB:LEVEL` (repeatable): KIND repo, dist, remote or *; GLOB matches names; LEVEL read, write or admin"},
			&cli.StringFlag{Name: "expires", Usage: "lifetime such as 30d or 12h (default: never expires)"},
			&cli.StringFlag{Name: "name", Usage: "token name (default: generated)"},
		},
		Action: e.checkedAction(0, 0, "--scope KIND:GLOB:LEVEL... [--expires 30d] [--name NAME]", func(c *cli.Command, _ []string) error {
			_, err := tokenOptions(c)
			return err
		}, func(ctx context.Context, c *cli.Command, svc api.Service, _ []string) error {
			o, err := tokenOptions(c)
			if err != nil {
				return err
			}
			tok, secret, err := svc.CreateToken(ctx, o)
			if err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(newTokenOut(tok, secret))
			}
			fmt.Fprintln(e.stdout, secret)
			fmt.Fprintf(e.stderr, "created token %s (%s); it is shown only this once\n", tok.Name, strings.Join(scopeStrings(tok.Scopes), " "))
			return nil
		}),
	}
}

// tokenOptions reads the flags of token create.
func tokenOptions(c *cli.Command) (auth.CreateOptions, error) {
	o := auth.CreateOptions{Name: c.String("name")}
	raw := *c.Generic("scope").(*globList)
	if len(raw) == 0 {
		return o, usagef("token create needs at least one --scope KIND:GLOB:LEVEL, as in --scope 'dist:*:read'")
	}
	for _, s := range raw {
		sc, err := auth.ParseScope(s)
		if err != nil {
			return o, &usageError{err.Error()}
		}
		o.Scopes = append(o.Scopes, sc)
	}
	if x := c.String("expires"); x != "" {
		d, err := parseLifetime("--expires", x)
		if err != nil {
			return o, err
		}
		o.TTL = d
	}
	return o, nil
}

// parseLifetime parses the positive duration given to flag, also in days
// ("30d").
func parseLifetime(flag, s string) (time.Duration, error) {
	d, err := lifetime.Parse(s)
	if err != nil {
		return 0, usagef("%s %v", flag, err)
	}
	return d, nil
}

func tokenListCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list tokens (never their secrets)",
		Action: e.action(0, 0, "", func(ctx context.Context, c *cli.Command, svc api.Service, _ []string) error {
			toks, err := svc.ListTokens(ctx)
			if err != nil {
				return err
			}
			if jsonOut(c) {
				out := make([]tokenOut, len(toks))
				for i := range toks {
					out[i] = newTokenOut(&toks[i], "")
				}
				return e.printJSON(out)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSCOPES\tCREATED\tEXPIRES")
			for _, t := range toks {
				exp := "never"
				if !t.Expires.IsZero() {
					exp = t.Expires.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, strings.Join(scopeStrings(t.Scopes), " "), t.Created.Format(time.RFC3339), exp)
			}
			return tw.Flush()
		}),
	}
}

func tokenRevokeCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "revoke",
		Usage: "revoke a token: servers refuse it within seconds",
		Action: e.action(1, 1, "NAME", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			if err := svc.RevokeToken(ctx, a[0]); err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(map[string]any{"name": a[0], "revoked": true})
			}
			fmt.Fprintf(e.stdout, "revoked token %s\n", a[0])
			return nil
		}),
	}
}
