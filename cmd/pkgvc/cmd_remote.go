package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/remote"
	remoteall "github.com/pkgvc/pkgvc/remote/all"
	"github.com/pkgvc/pkgvc/repo"
)

// remotes opens the store and returns its remote manager.
func (e *env) remotes(ctx context.Context, c *cli.Command) (*remote.Manager, error) {
	st, err := e.store(ctx, c)
	if err != nil {
		return nil, err
	}
	return remote.New(st, remoteall.Registry()), nil
}

// remoteAction is the action of a command that works on remotes: it
// checks the positional arguments, opens the remote manager, then runs body.
func (e *env) remoteAction(min, max int, usage string, body func(ctx context.Context, c *cli.Command, m *remote.Manager, a []string) error) cli.ActionFunc {
	return e.storeAction(min, max, usage, func(ctx context.Context, c *cli.Command, _ *repo.Store, a []string) error {
		m, err := e.remotes(ctx, c)
		if err != nil {
			return err
		}
		return body(ctx, c, m, a)
	})
}

func remoteCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "remote",
		Usage: "create, list, show, update and delete upstream remotes (see `pkgvc sync`)",
		Commands: []*cli.Command{
			remoteCreateCmd(e), remoteListCmd(e), remoteShowCmd(e), remoteUpdateCmd(e), remoteDeleteCmd(e),
		},
	}
}

// remoteFlags are the settings create and update share. In update only
// the flags given change anything.
func remoteFlags(create bool) []cli.Flag {
	fl := []cli.Flag{
		&cli.StringFlag{Name: "url", Usage: "upstream URL (file kind: the PULP_MANIFEST's URL)"},
		&cli.StringFlag{Name: "policy", Usage: "when to download: immediate, or on_demand (record now, fetch when first served)"},
		&cli.GenericFlag{Name: "include", Value: &globList{}, Usage: "sync only paths matching `GLOB` (repeatable; '**' crosses directories)"},
		&cli.GenericFlag{Name: "exclude", Value: &globList{}, Usage: "never sync paths matching `GLOB` (repeatable)"},
		&cli.StringFlag{Name: "username", Usage: "HTTP Basic user name"},
		&cli.StringFlag{Name: "password-file", Usage: "file holding the HTTP Basic password (the store keeps the path, not the password)"},
		&cli.StringFlag{Name: "ca-cert", Usage: "PEM file of CA certificates to trust instead of the system's"},
		&cli.StringFlag{Name: "client-cert", Usage: "PEM file of a TLS client certificate (with --client-key)"},
		&cli.StringFlag{Name: "client-key", Usage: "PEM file of the TLS client certificate's key"},
		&cli.StringFlag{Name: "proxy", Usage: "proxy URL (default: $HTTPS_PROXY, $HTTP_PROXY, $NO_PROXY)"},
		&cli.BoolFlag{Name: "tls-insecure", Usage: "do not verify the upstream's TLS certificate"},
		&cli.DurationFlag{Name: "connect-timeout", Usage: "limit for connecting plus the TLS handshake"},
		&cli.DurationFlag{Name: "read-timeout", Usage: "limit for waiting for response headers and for any pause in a download"},
		&cli.IntFlag{Name: "download-concurrency", Usage: "files downloaded at once"},
		&cli.IntFlag{Name: "retries", Usage: "retries of a failed request (connection error, 408, 429, 5xx, dropped download), with exponential backoff"},
		&cli.GenericFlag{Name: "project", Value: &globList{}, Usage: "python: sync only `PROJECT`, a name with an optional PEP 440 specifier set such as 'django>=4.2,<5' (repeatable; default: every project)"},
		&cli.GenericFlag{Name: "platform", Value: &globList{}, Usage: "python: keep only wheels whose platform tag matches `TAG` (a pattern such as manylinux*_x86_64; repeatable), plus sdists and 'any' wheels"},
		&cli.IntFlag{Name: "latest", Usage: "python: keep only the `N` latest versions of each project (0: all)"},
		&cli.BoolFlag{Name: "prerelease", Usage: "python: keep pre- and dev-releases (otherwise only those a --project specifier names)"},
		&cli.GenericFlag{Name: "allow-host", Value: &globList{}, Usage: "python: also download files from `HOST` (e.g. files.pythonhosted.org; repeatable)"},
	}
	if create {
		defaults := map[string]string{
			"policy": string(remote.Immediate), "connect-timeout": remote.DefaultConnectTimeout.String(),
			"read-timeout": remote.DefaultReadTimeout.String(), "download-concurrency": fmt.Sprint(remote.DefaultConcurrency),
			"retries": fmt.Sprint(remote.DefaultRetries),
		}
		for _, f := range fl {
			switch f := f.(type) {
			case *cli.StringFlag:
				f.DefaultText = defaults[f.Name]
			case *cli.DurationFlag:
				f.DefaultText = defaults[f.Name]
			case *cli.IntFlag:
				f.DefaultText = defaults[f.Name]
			}
		}
		fl = append([]cli.Flag{&cli.StringFlag{Name: "kind", Value: "file", Usage: "upstream kind"}}, fl...)
	} else {
		for _, f := range fl {
			switch f := f.(type) {
			case *cli.StringFlag:
				f.Usage += " ('' clears)"
			case *cli.GenericFlag:
				f.Usage += "; replaces the list, '' clears it"
			}
		}
	}
	return fl
}

// globList collects a repeatable pattern flag as given: unlike a string
// slice flag it does not split at commas, which "{a,b}" patterns hold.
type globList []string

func (g *globList) Set(v string) error { *g = append(*g, v); return nil }
func (g *globList) String() string     { return strings.Join(*g, " ") }
func (g *globList) Get() any           { return g }

// applyRemoteFlags copies the flags given on the command line into r.
func applyRemoteFlags(c *cli.Command, r *remote.Remote) error {
	str := func(name string, dst *string) {
		if c.IsSet(name) {
			*dst = c.String(name)
		}
	}
	file := func(name string, dst *string) error {
		if !c.IsSet(name) {
			return nil
		}
		*dst = c.String(name)
		if *dst == "" {
			return nil
		}
		abs, err := filepath.Abs(*dst)
		if err != nil {
			return err
		}
		*dst = abs
		return nil
	}
	list := func(name string, dst *[]string) {
		if !c.IsSet(name) {
			return
		}
		*dst = nil
		if g, ok := c.Generic(name).(*globList); ok {
			for _, v := range *g {
				if v != "" {
					*dst = append(*dst, v)
				}
			}
		}
	}
	str("url", &r.URL)
	if c.IsSet("policy") {
		r.Policy = remote.Policy(c.String("policy"))
	}
	list("include", &r.Include)
	list("exclude", &r.Exclude)
	str("username", &r.Username)
	str("proxy", &r.Proxy)
	for name, dst := range map[string]*string{
		"password-file": &r.PasswordFile, "ca-cert": &r.CACert, "client-cert": &r.ClientCert, "client-key": &r.ClientKey,
	} {
		if err := file(name, dst); err != nil {
			return err
		}
	}
	if c.IsSet("tls-insecure") {
		r.TLSInsecure = c.Bool("tls-insecure")
	}
	if c.IsSet("connect-timeout") {
		r.ConnectTimeout = remote.Duration(c.Duration("connect-timeout"))
	}
	if c.IsSet("read-timeout") {
		r.ReadTimeout = remote.Duration(c.Duration("read-timeout"))
	}
	if c.IsSet("download-concurrency") {
		if r.DownloadConcurrency = int(c.Int("download-concurrency")); r.DownloadConcurrency < 1 {
			return usagef("--download-concurrency must be 1 or more")
		}
	}
	if c.IsSet("retries") {
		r.Retries = int(c.Int("retries"))
	}
	list("project", &r.Projects)
	list("platform", &r.Platforms)
	list("allow-host", &r.AllowHosts)
	if c.IsSet("latest") {
		r.Latest = int(c.Int("latest"))
	}
	if c.IsSet("prerelease") {
		r.Prerelease = c.Bool("prerelease")
	}
	return nil
}

func remoteCreateCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "define an upstream to sync from",
		ArgsUsage: "NAME --kind file --url URL",
		Flags:     remoteFlags(true),
		Action: func(ctx context.Context, c *cli.Command) error {
			a, err := args(c, 1, 1, "NAME --kind file --url URL [--policy immediate|on_demand] [--include GLOB]... [--exclude GLOB]...")
			if err != nil {
				return err
			}
			if !c.IsSet("url") {
				return usagef("pkgvc remote create %s: --url is required", a[0])
			}
			r := remote.Remote{
				Name: a[0], Kind: c.String("kind"), Retries: remote.DefaultRetries,
				ConnectTimeout: remote.Duration(remote.DefaultConnectTimeout),
				ReadTimeout:    remote.Duration(remote.DefaultReadTimeout),
			}
			if err := applyRemoteFlags(c, &r); err != nil {
				return err
			}
			m, err := e.remotes(ctx, c)
			if err != nil {
				return err
			}
			res, err := m.Create(ctx, r)
			if err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(res)
			}
			fmt.Fprintf(e.stdout, "created remote %s (kind %s, policy %s): %s\n", res.Name, res.Kind, res.Policy, res.URL)
			return nil
		},
	}
}

func remoteListCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list remotes",
		Action: e.remoteAction(0, 0, "", func(ctx context.Context, c *cli.Command, m *remote.Manager, _ []string) error {
			rs, err := m.List(ctx)
			if err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(rs)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tKIND\tPOLICY\tURL")
			for _, r := range rs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, r.Kind, r.Policy, r.URL)
			}
			return tw.Flush()
		}),
	}
}

func remoteShowCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "describe a remote",
		ArgsUsage: "NAME",
		Action: e.remoteAction(1, 1, "NAME", func(ctx context.Context, c *cli.Command, m *remote.Manager, a []string) error {
			r, err := m.Show(ctx, a[0])
			if err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(r)
			}
			e.printRemote(r)
			return nil
		}),
	}
}

func (e *env) printRemote(r *remote.Remote) {
	or := func(s, none string) string {
		if s == "" {
			return none
		}
		return s
	}
	timeout := func(d remote.Duration, def time.Duration) string {
		if d == 0 {
			return def.String() + " (default)"
		}
		return d.String()
	}
	tls := "verify"
	if r.TLSInsecure {
		tls = "INSECURE (certificates not verified)"
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 1, ' ', 0)
	for _, kv := range [][2]string{
		{"name:", r.Name},
		{"kind:", r.Kind},
		{"url:", r.URL},
		{"policy:", string(r.Policy)},
		{"include:", or(strings.Join(r.Include, " "), "(all)")},
		{"exclude:", or(strings.Join(r.Exclude, " "), "-")},
		{"username:", or(r.Username, "-")},
		{"password file:", or(r.PasswordFile, "-")},
		{"ca cert:", or(r.CACert, "(system)")},
		{"client cert:", or(r.ClientCert, "-")},
		{"client key:", or(r.ClientKey, "-")},
		{"proxy:", or(r.Proxy, "(environment)")},
		{"tls:", tls},
		{"connect timeout:", timeout(r.ConnectTimeout, remote.DefaultConnectTimeout)},
		{"read timeout:", timeout(r.ReadTimeout, remote.DefaultReadTimeout)},
		{"concurrency:", fmt.Sprint(r.DownloadConcurrency)},
		{"retries:", fmt.Sprint(r.Retries)},
		{"created:", r.Created.Format("2006-01-02 15:04:05Z07:00")},
		{"updated:", r.Updated.Format("2006-01-02 15:04:05Z07:00")},
	} {
		fmt.Fprintf(tw, "%s\t%s\n", kv[0], kv[1])
	}
	_ = tw.Flush() // e.stdout errors surface nowhere else either
}

func remoteUpdateCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "update",
		Usage:     "change a remote's settings (only the flags given)",
		ArgsUsage: "NAME [FLAGS]",
		Flags:     remoteFlags(false),
		Action: func(ctx context.Context, c *cli.Command) error {
			a, err := args(c, 1, 1, "NAME [--url URL] [--policy P] [--include GLOB]... [...]")
			if err != nil {
				return err
			}
			changed := false
			for _, f := range remoteFlags(false) {
				changed = changed || c.IsSet(f.Names()[0])
			}
			if !changed {
				return usagef("pkgvc remote update %s: give at least one setting to change (see --help)", a[0])
			}
			m, err := e.remotes(ctx, c)
			if err != nil {
				return err
			}
			r, err := m.Update(ctx, a[0], func(r *remote.Remote) error { return applyRemoteFlags(c, r) })
			if err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(r)
			}
			fmt.Fprintf(e.stdout, "updated remote %s\n", r.Name)
			return nil
		},
	}
}

func remoteDeleteCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "delete",
		Usage:     "delete a remote (records synced on demand from it can no longer be fetched)",
		ArgsUsage: "NAME",
		Action: e.remoteAction(1, 1, "NAME", func(ctx context.Context, c *cli.Command, m *remote.Manager, a []string) error {
			if err := m.Delete(ctx, a[0]); err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(map[string]string{"deleted": a[0]})
			}
			fmt.Fprintf(e.stdout, "deleted remote %s\n", a[0])
			return nil
		}),
	}
}
