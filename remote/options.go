package remote

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/pkgvc/pkgvc/options"
)

// OptionType, OptionSpec and Options are the options package's, under
// the names the remotes have always used.
type (
	OptionType = options.Type
	OptionSpec = options.Spec
	Options    = options.Values
)

// The option types.
const (
	StringOption = options.String
	ListOption   = options.List
	IntOption    = options.Int
	BoolOption   = options.Bool
)

// OptionDeclarer is implemented by Syncers whose remotes have settings
// of their own: the settings it declares are the only ones beyond the
// common fields that a remote of its kind may hold.
type OptionDeclarer interface {
	RemoteOptions() []OptionSpec
}

// EncodeOptions returns the options v (a kind's struct of options, with
// JSON tags) holds.
func EncodeOptions(v any) (Options, error) { return options.Encode(v) }

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
	opts := maps.Clone(r.Options).Compact()
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
		// encoding/json fills a common field from a key of any case
		// ("URL"): such a key is that field, not an option.
		if commonFields[strings.ToLower(k)] {
			continue
		}
		if c.Options == nil {
			c.Options = Options{}
		}
		c.Options[k] = v
	}
	c.Options = c.Options.Compact()
	*r = Remote(c)
	return nil
}

// checkOptions refuses options the kind does not declare, and values of
// the wrong JSON type.
func checkOptions(r *Remote, declared []OptionSpec) error {
	return options.Check(r.Options, declared, r.Kind+" remotes")
}

// RemoteOptions returns the options the remotes of kind have (none for
// an unknown kind).
func (r *Registry) RemoteOptions(kind string) []OptionSpec {
	if d, ok := r.syncers[kind].(OptionDeclarer); ok {
		return d.RemoteOptions()
	}
	return nil
}

// DeclaredOption is a setting one or more kinds declare.
type DeclaredOption = options.Declared

// DeclaredOptions returns the settings the registered kinds declare, in
// the order of registration and declaration (options.Collect).
func (r *Registry) DeclaredOptions() []DeclaredOption {
	return options.Collect(r.order, r.RemoteOptions)
}
