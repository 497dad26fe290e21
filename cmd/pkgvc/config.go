package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/urfave/cli/v3"
)

// A configuration file (--config FILE, or $PKGVC_CONFIG) is TOML that sets
// flags by name: global flags at the top level, a command's own flags in
// a table named after the command's path, such as
//
//	store = "/srv/pkgvc"
//	[serve]
//	listen = "0.0.0.0:8080"
//	tls-cert = "/etc/pkgvc/cert.pem"
//	[remote.create]
//	download-concurrency = 4
//
// A flag on the command line wins, then its environment variable, then
// the file, then the flag's default. A list sets a flag that may be
// repeated; paths are relative to the working directory, as on the
// command line. Keys that name no flag are refused, so typos show. No
// file is read unless one is named.

const (
	configFlag = "config"
	envPrefix  = "PKGVC_"
)

// useConfig adds --config to app and, walking the command tree once,
// makes every command apply its part of the file before it runs, and
// gives the flags of the global and serve commands a $PKGVC_<FLAG>
// variable where they have none.
func useConfig(app *cli.Command) {
	app.Flags = append(app.Flags, &cli.StringFlag{
		Name:    configFlag,
		Usage:   "read flag values from the TOML `FILE`: global flags at the top level, a command's flags in a table named after it ([serve], [remote.create]); the command line and $PKGVC_* variables win over it",
		Sources: cli.EnvVars(envPrefix + "CONFIG"),
	})
	cfg := &config{root: app}
	walkCommands(app, nil, func(cmd *cli.Command, path []string) {
		if len(path) == 0 || slices.Equal(path, []string{"serve"}) {
			addEnvVars(cmd.Flags)
		}
		before := cmd.Before
		cmd.Before = func(ctx context.Context, c *cli.Command) (context.Context, error) {
			if len(path) == 0 {
				if err := cfg.load(c.String(configFlag)); err != nil {
					return ctx, err
				}
			}
			if err := cfg.apply(c, path); err != nil {
				return ctx, err
			}
			if before != nil {
				return before(ctx, c)
			}
			return ctx, nil
		}
	})
}

// walkCommands calls fn for cmd and every command below it, with the
// path of names from the root (empty for the root).
func walkCommands(cmd *cli.Command, path []string, fn func(*cli.Command, []string)) {
	fn(cmd, path)
	for _, sub := range cmd.Commands {
		walkCommands(sub, append(slices.Clip(path), sub.Name), fn)
	}
}

// addEnvVars gives each flag without an environment variable the
// variable PKGVC_<NAME> (upper case, '-' as '_').
func addEnvVars(flags []cli.Flag) {
	for _, f := range flags {
		v := reflect.ValueOf(f)
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
			continue
		}
		field := v.Elem().FieldByName("Sources")
		if !field.IsValid() {
			continue
		}
		src, ok := field.Addr().Interface().(*cli.ValueSourceChain)
		if !ok || len(src.EnvKeys()) > 0 {
			continue
		}
		name := envPrefix + strings.ToUpper(strings.ReplaceAll(f.Names()[0], "-", "_"))
		src.Chain = append(src.Chain, cli.EnvVar(name))
	}
}

// config is the configuration file of one run.
type config struct {
	root *cli.Command
	file string
	data map[string]any
}

// maxConfigBytes bounds a configuration file: a few flags, never data.
const maxConfigBytes = 1 << 20

// load reads and checks file; an empty name loads nothing.
func (cfg *config) load(file string) error {
	if file == "" {
		return nil
	}
	b, err := readConfig(file)
	if err != nil {
		return err
	}
	var data map[string]any
	if err := toml.Unmarshal(b, &data); err != nil {
		return usagef("config %s: %s", file, err)
	}
	var bad []string
	cfg.checkTable(cfg.root, data, "", &bad)
	if len(bad) > 0 {
		slices.Sort(bad)
		return usagef("config %s: %s", file, strings.Join(bad, "; "))
	}
	cfg.file, cfg.data = file, data
	return nil
}

// readConfig reads file, which must be a regular file of at most
// maxConfigBytes: /dev/zero or a FIFO would be read without end.
func readConfig(file string) ([]byte, error) {
	// Stat before opening: opening a FIFO blocks until a writer comes.
	if fi, err := os.Stat(file); err != nil {
		return nil, usagef("config: %s", err)
	} else if !fi.Mode().IsRegular() {
		return nil, usagef("config %s: not a regular file", file)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, usagef("config: %s", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, usagef("config: %s", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, usagef("config %s: not a regular file", file)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, usagef("config: %s", err)
	}
	if len(b) > maxConfigBytes {
		return nil, usagef("config %s: larger than %d bytes", file, maxConfigBytes)
	}
	return b, nil
}

// checkTable checks the keys of table t for command cmd: each must name
// a flag of cmd with a scalar (or, for a repeatable flag, a list), or a
// subcommand with a table.
func (cfg *config) checkTable(cmd *cli.Command, t map[string]any, prefix string, bad *[]string) {
	for k, v := range t {
		key := prefix + k
		sub, isTable := v.(map[string]any)
		if f := ownFlag(cmd, k); f != nil {
			if isTable {
				*bad = append(*bad, fmt.Sprintf("%s is a flag, not a table", key))
			} else if _, err := flagValues(f, v); err != nil {
				*bad = append(*bad, fmt.Sprintf("%s: %s", key, err))
			}
			continue
		}
		if c := subcommand(cmd, k); c != nil {
			if !isTable {
				*bad = append(*bad, fmt.Sprintf("%s is a command: set its flags in a [%s] table", key, key))
			} else {
				cfg.checkTable(c, sub, key+".", bad)
			}
			continue
		}
		msg := "unknown key " + key
		switch {
		case prefix != "" && ownFlag(cfg.root, k) != nil:
			msg += " (global flags go at the top level)"
		case prefix == "":
			msg += " (neither a global flag nor a command)"
		default:
			msg += fmt.Sprintf(" (see pkgvc %s --help)", strings.ReplaceAll(strings.TrimSuffix(prefix, "."), ".", " "))
		}
		*bad = append(*bad, msg)
	}
}

// ownFlag returns the flag of cmd (not inherited) whose name is name.
func ownFlag(cmd *cli.Command, name string) cli.Flag {
	if name == "help" || name == configFlag {
		return nil
	}
	for _, f := range cmd.Flags {
		if f.Names()[0] == name {
			return f
		}
	}
	return nil
}

func subcommand(cmd *cli.Command, name string) *cli.Command {
	for _, c := range cmd.Commands {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// flagValues turns a TOML value into the strings to set flag f with.
func flagValues(f cli.Flag, v any) ([]string, error) {
	if list, ok := v.([]any); ok {
		if !repeatable(f) {
			return nil, fmt.Errorf("--%s takes one value, not a list", f.Names()[0])
		}
		out := make([]string, 0, len(list))
		for _, e := range list {
			s, err := scalar(e)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := scalar(v)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

// repeatable reports whether f collects repeated values: a slice or map
// flag, or a generic flag whose value is a slice or map.
func repeatable(f cli.Flag) bool {
	if mv, ok := f.(cli.DocGenerationMultiValueFlag); ok && mv.IsMultiValueFlag() {
		return true
	}
	v := reflect.ValueOf(f)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return false
	}
	v = v.Elem().FieldByName("Value")
	for v.IsValid() && (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer) && !v.IsNil() {
		v = v.Elem()
	}
	return v.IsValid() && (v.Kind() == reflect.Slice || v.Kind() == reflect.Map)
}

func scalar(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	}
	return "", fmt.Errorf("give a string, number or boolean, not %T", v)
}

// apply sets the flags of c that the table at path sets, unless the
// command line or an environment variable set them.
func (cfg *config) apply(c *cli.Command, path []string) error {
	t := cfg.data
	for _, name := range path {
		sub, ok := t[name].(map[string]any)
		if !ok {
			return nil
		}
		t = sub
	}
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		f := ownFlag(c, k)
		if f == nil || f.IsSet() {
			continue
		}
		vals, err := flagValues(f, t[k])
		if err != nil {
			return usagef("config %s: %s: %s", cfg.file, dotted(path, k), err)
		}
		for _, s := range vals {
			if err := c.Set(k, s); err != nil {
				return usagef("config %s: %s: %s", cfg.file, dotted(path, k), err)
			}
		}
	}
	return nil
}

func dotted(path []string, key string) string {
	return strings.Join(append(slices.Clip(path), key), ".")
}
