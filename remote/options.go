package remote

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// OptionType is how a kind's remote option is written: its JSON type and
// its command-line flag's.
type OptionType int

const (
	// StringOption is a JSON string, a flag given once.
	StringOption OptionType = iota + 1
	// ListOption is a JSON array of strings, a flag given once per item.
	ListOption
	// IntOption is a JSON integer.
	IntOption
	// BoolOption is a JSON boolean, a flag without value.
	BoolOption
)

// OptionSpec declares a setting that the remotes of one kind have beyond the
// common ones (an upstream repository name, project filters). The core
// carries its value without reading it; the kind's Syncer decodes and
// checks it.
type OptionSpec struct {
	// Field is its JSON field, at the top level of the remote's JSON
	// ("upstream_name").
	Field string
	// Flag is its command-line flag ("upstream-name").
	Flag string
	Type OptionType
	// Usage is its help text; a word between backquotes names the flag's
	// value, as in the command line's help.
	Usage string
	// Unset is what a description of the remote shows when it is not set
	// ("(all)"); empty shows "-".
	Unset string
}

// OptionDeclarer is implemented by Syncers whose remotes have settings
// of their own: the settings it declares are the only ones beyond the
// common fields that a remote of its kind may hold.
type OptionDeclarer interface {
	RemoteOptions() []OptionSpec
}

// Options holds a remote's kind-specific settings, each a JSON value by
// field name. Zero values (null, "", 0, false, [], {}) are never kept:
// an unset option and a zero one are the same.
type Options map[string]json.RawMessage

// Decode fills v, a pointer to the kind's struct of options, from o; a
// field v does not have is an error.
func (o Options) Decode(v any) error {
	raw, err := json.Marshal(o)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// EncodeOptions returns the options v (a kind's struct of options, with
// JSON tags) holds.
func EncodeOptions(v any) (Options, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var o Options
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, err
	}
	return o.compact(), nil
}

// compact drops zero values; nil when nothing is left.
func (o Options) compact() Options {
	for k, v := range o {
		if isZeroJSON(v) {
			delete(o, k)
		}
	}
	if len(o) == 0 {
		return nil
	}
	return o
}

func isZeroJSON(raw json.RawMessage) bool {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return false
	}
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case float64:
		return v == 0
	case bool:
		return !v
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

// remoteJSON is Remote without its JSON methods.
type remoteJSON Remote

// commonFields are the JSON fields of every remote; any other field of a
// remote's JSON is one of its Options.
var commonFields = func() map[string]bool {
	t := reflect.TypeFor[remoteJSON]()
	out := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}()

// MarshalJSON writes the common fields and, at the same level, the
// options (sorted, before the timestamps), as the remote's JSON has
// always been.
func (r Remote) MarshalJSON() ([]byte, error) {
	raw, err := json.Marshal(remoteJSON(r))
	if err != nil {
		return nil, err
	}
	opts := maps.Clone(r.Options).compact()
	if len(opts) == 0 {
		return raw, nil
	}
	var extra bytes.Buffer
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		if commonFields[k] {
			return nil, fmt.Errorf("remote %s: option %q has the name of a common field", r.Name, k)
		}
		name, _ := json.Marshal(k)
		extra.WriteByte(',')
		extra.Write(name)
		extra.WriteByte(':')
		if err := json.Compact(&extra, opts[k]); err != nil {
			return nil, fmt.Errorf("remote %s: option %s: %w", r.Name, k, err)
		}
	}
	// `,"created":` cannot occur inside a JSON string (its quote would
	// be escaped), so this is where the created field begins.
	i := bytes.LastIndex(raw, []byte(`,"created":`))
	if i < 0 {
		i = len(raw) - 1 // before the closing brace
	}
	out := make([]byte, 0, len(raw)+extra.Len())
	out = append(out, raw[:i]...)
	out = append(out, extra.Bytes()...)
	return append(out, raw[i:]...), nil
}

// UnmarshalJSON reads the common fields, and every other field into
// Options.
func (r *Remote) UnmarshalJSON(b []byte) error {
	var c remoteJSON
	if err := json.Unmarshal(b, &c); err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	c.Options = nil
	for k, v := range fields {
		if commonFields[k] {
			continue
		}
		if c.Options == nil {
			c.Options = Options{}
		}
		c.Options[k] = v
	}
	c.Options = c.Options.compact()
	*r = Remote(c)
	return nil
}

// checkOptions refuses options the kind does not declare, and values of
// the wrong JSON type.
func checkOptions(r *Remote, declared []OptionSpec) error {
	byField := make(map[string]OptionSpec, len(declared))
	for _, o := range declared {
		byField[o.Field] = o
	}
	for _, k := range slices.Sorted(maps.Keys(r.Options)) {
		o, ok := byField[k]
		if !ok {
			return fmt.Errorf("%q is not a setting of %s remotes", k, r.Kind)
		}
		var err error
		switch o.Type {
		case StringOption:
			err = json.Unmarshal(r.Options[k], new(string))
		case ListOption:
			err = json.Unmarshal(r.Options[k], new([]string))
		case IntOption:
			err = json.Unmarshal(r.Options[k], new(int))
		case BoolOption:
			err = json.Unmarshal(r.Options[k], new(bool))
		}
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

// RemoteOptions returns the options the remotes of kind have (none for
// an unknown kind).
func (r *Registry) RemoteOptions(kind string) []OptionSpec {
	if d, ok := r.syncers[kind].(OptionDeclarer); ok {
		return d.RemoteOptions()
	}
	return nil
}

// With returns a copy of o with field set to v (removed if v is zero).
func (o Options) With(field string, v any) (Options, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	c := maps.Clone(o)
	if c == nil {
		c = Options{}
	}
	c[field] = raw
	return c.compact(), nil
}

// DeclaredOption is a setting one or more kinds declare.
type DeclaredOption struct {
	OptionSpec
	Kinds  []string
	Usages []string // one per kind, each "kind: usage"
}

// DeclaredOptions returns the settings the registered kinds declare, in
// the order of registration and declaration; a setting several kinds
// declare (platforms) comes once. It panics if two kinds declare one
// field differently (type or flag).
func (r *Registry) DeclaredOptions() []DeclaredOption {
	var out []DeclaredOption
	at := map[string]int{}
	for _, kind := range r.order {
		for _, spec := range r.RemoteOptions(kind) {
			i, ok := at[spec.Field]
			if !ok {
				i = len(out)
				at[spec.Field] = i
				out = append(out, DeclaredOption{OptionSpec: spec})
			} else if o := out[i]; o.Type != spec.Type || o.Flag != spec.Flag {
				panic(fmt.Sprintf("remote: kinds %s and %s declare setting %q differently", o.Kinds[0], kind, spec.Field))
			}
			out[i].Kinds = append(out[i].Kinds, kind)
			out[i].Usages = append(out[i].Usages, kind+": "+spec.Usage)
		}
	}
	return out
}
