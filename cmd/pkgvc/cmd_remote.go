package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/api"
	remoteall "github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/remote"
)

func remoteCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "remote",
		Usage: "create, list, show, update and delete upstream remotes (see pkgvc sync)",
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
		&cli.StringFlag{Name: "proxy", Usage: "proxy URL, without credentials (default: $HTTPS_PROXY, $HTTP_PROXY, $NO_PROXY)"},
		&cli.StringFlag{Name: "proxy-username", Usage: "user name for the proxy"},
		&cli.StringFlag{Name: "proxy-password-file", Usage: "file holding the proxy's password (the store keeps the path, not the password)"},
		&cli.BoolFlag{Name: "tls-insecure", Usage: "do not verify the upstream's TLS certificate"},
		&cli.DurationFlag{Name: "connect-timeout", Usage: "limit for connecting plus the TLS handshake"},
		&cli.DurationFlag{Name: "read-timeout", Usage: "limit for waiting for response headers and for any pause in a download"},
		&cli.IntFlag{Name: "download-concurrency", Usage: "files downloaded at once"},
		&cli.IntFlag{Name: "retries", Usage: "retries of a failed request (connection error, 408, 429, 5xx, dropped download), with exponential backoff"},
	}
	for _, o := range kindOptions() {
		fl = append(fl, flagOf(o))
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
		fl = append([]cli.Flag{&cli.StringFlag{Name: "kind", Value: remoteall.Default, Usage: "upstream kind: " + orList(remoteall.Syncers().Kinds())}}, fl...)
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

// remoteField is the Remote JSON field a setting flag sets: a kind's
// option's field, else the flag's name with '_' for '-'.
func remoteField(flag string) string {
	for _, o := range kindOptions() {
		if o.Flag == flag {
			return o.Field
		}
	}
	return strings.ReplaceAll(flag, "-", "_")
}

// kindOptions are the settings the upstream kinds declare: one flag
// each, whose help says what it means for each kind declaring it.
func kindOptions() []remote.DeclaredOption { return remoteall.Syncers().DeclaredOptions() }

// flag is the command-line flag of o.
func flagOf(o remote.DeclaredOption) cli.Flag {
	usage := strings.Join(o.Usages, "; ")
	switch o.Type {
	case remote.ListOption:
		return &cli.GenericFlag{Name: o.Flag, Value: &globList{}, Usage: usage}
	case remote.IntOption:
		return &cli.IntFlag{Name: o.Flag, Usage: usage}
	case remote.BoolOption:
		return &cli.BoolFlag{Name: o.Flag, Usage: usage}
	default:
		return &cli.StringFlag{Name: o.Flag, Usage: usage}
	}
}

// flagValue is the value of a setting flag c sets, as its JSON field
// takes it. An empty list flag gives nil, which clears the field.
func flagValue(c *cli.Command, f cli.Flag) (any, error) {
	name := f.Names()[0]
	switch f.(type) {
	case *cli.StringFlag:
		return c.String(name), nil
	case *cli.GenericFlag:
		var list []string
		for _, g := range *c.Generic(name).(*globList) {
			if g != "" {
				list = append(list, g)
			}
		}
		return list, nil
	case *cli.BoolFlag:
		return c.Bool(name), nil
	case *cli.DurationFlag:
		return remote.Duration(c.Duration(name)), nil
	case *cli.IntFlag:
		return int(c.Int(name)), nil
	}
	return nil, fmt.Errorf("flag --%s: unhandled type %T", name, f)
}

// fileFlags name local files: the remote keeps their absolute paths.
var fileFlags = map[string]bool{"password-file": true, "ca-cert": true, "client-cert": true, "client-key": true, "proxy-password-file": true}

// remotePatch reads the setting flags given on the command line: update
// sends it, create applies it to the defaults.
func remotePatch(c *cli.Command) (remote.Patch, error) {
	p := remote.Patch{}
	for _, f := range remoteFlags(false) {
		name := f.Names()[0]
		if !c.IsSet(name) {
			continue
		}
		v, err := flagValue(c, f)
		if err != nil {
			return nil, err
		}
		switch {
		case fileFlags[name] && v != "":
			if v, err = filepath.Abs(v.(string)); err != nil {
				return nil, err
			}
		case name == "download-concurrency" && v.(int) < 1:
			return nil, usagef("--download-concurrency must be 1 or more")
		}
		if err := p.Set(remoteField(name), v); err != nil {
			return nil, err
		}
	}
	return p, nil
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
			p, err := remotePatch(c)
			if err != nil {
				return err
			}
			r := remote.Remote{
				Name: a[0], Kind: c.String("kind"), Retries: remote.DefaultRetries,
				ConnectTimeout: remote.Duration(remote.DefaultConnectTimeout),
				ReadTimeout:    remote.Duration(remote.DefaultReadTimeout),
			}
			if err := p.Apply(&r); err != nil {
				return err
			}
			svc, err := e.service(ctx, c)
			if err != nil {
				return err
			}
			res, err := svc.CreateRemote(ctx, r)
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
		Action: e.action(0, 0, "", func(ctx context.Context, c *cli.Command, svc api.Service, _ []string) error {
			rs, err := svc.ListRemotes(ctx)
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
		Action: e.action(1, 1, "NAME", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			r, err := svc.ShowRemote(ctx, a[0])
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
		{"proxy username:", or(r.ProxyUsername, "-")},
		{"proxy password file:", or(r.ProxyPasswordFile, "-")},
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
	// The settings of the remote's kind.
	for _, o := range remoteall.Syncers().RemoteOptions(r.Kind) {
		fmt.Fprintf(tw, "%s:\t%s\n", strings.ReplaceAll(o.Field, "_", " "), optionText(r.Options[o.Field], o))
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
			p, err := remotePatch(c)
			if err != nil {
				return err
			}
			if len(p) == 0 {
				return usagef("pkgvc remote update %s: give at least one setting to change (see --help)", a[0])
			}
			svc, err := e.service(ctx, c)
			if err != nil {
				return err
			}
			r, err := svc.UpdateRemote(ctx, a[0], p)
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
		Usage:     "delete a remote (records synced on demand from it can no longer be fetched); refused while distributions pull through it, unless --force",
		ArgsUsage: "NAME",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Usage: "delete it even while distributions pull through it: they stop pulling through"},
		},
		Action: e.action(1, 1, "NAME [--force]", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			detached, err := svc.DeleteRemote(ctx, a[0], c.Bool("force"))
			if err != nil {
				return err
			}
			if jsonOut(c) {
				out := map[string]any{"deleted": a[0]}
				if len(detached) > 0 {
					out["detached"] = detached
				}
				return e.printJSON(out)
			}
			fmt.Fprintf(e.stdout, "deleted remote %s\n", a[0])
			if len(detached) > 0 {
				fmt.Fprintf(e.stdout, "distribution(s) %s no longer pull through it\n", strings.Join(detached, ", "))
			}
			return nil
		}),
	}
}

// optionText is how remote show prints a kind's setting: a list space
// separated, as the common lists are.
func optionText(raw json.RawMessage, o remote.OptionSpec) string {
	if len(raw) == 0 {
		if o.Unset == "" {
			return "-"
		}
		return o.Unset
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	switch v := v.(type) {
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = fmt.Sprint(x)
		}
		return strings.Join(parts, " ")
	case string:
		return v
	}
	return string(raw)
}
