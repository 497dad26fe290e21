// Package options is how a content kind declares the settings it adds to
// the core's objects (a remote's project filters, a distribution's apt
// suite): the core stores and carries their values without reading them,
// the command line makes a flag of each declaration, and the kind decodes
// and checks them into its own typed struct.
package options

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// Type is how an option is written: its JSON type and its command-line
// flag's.
type Type int

const (
	// String is a JSON string, a flag given once.
	String Type = iota + 1
	// List is a JSON array of strings, a flag given once per item.
	List
	// Int is a JSON integer.
	Int
	// Bool is a JSON boolean, a flag without value.
	Bool
)

// Spec declares one option.
type Spec struct {
	// Field is its JSON field ("upstream_name").
	Field string
	// Flag is its command-line flag ("upstream-name").
	Flag string
	Type Type
	// Usage is its help text; a word between backquotes names the flag's
	// value, as in the command line's help.
	Usage string
	// Unset is what a description shows when it is not set ("(all)");
	// empty shows "-".
	Unset string
}

// Values holds options, each a JSON value by field name. Zero values
// (null, "", 0, false, [], {}) are never kept: an unset option and a zero
// one are the same.
type Values map[string]json.RawMessage

// Decode fills v, a pointer to the kind's struct of options, from o; a
// field v does not have is an error.
func (o Values) Decode(v any) error {
	raw, err := json.Marshal(o)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// Encode returns the options v (a kind's struct of options, with JSON
// tags) holds.
func Encode(v any) (Values, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var o Values
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, err
	}
	return o.Compact(), nil
}

// With returns a copy of o with field set to v (removed if v is zero).
func (o Values) With(field string, v any) (Values, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	c := maps.Clone(o)
	if c == nil {
		c = Values{}
	}
	c[field] = raw
	return c.Compact(), nil
}

// Merge returns a copy of o with the fields of p set (p's zero values
// remove theirs).
func (o Values) Merge(p Values) Values {
	c := maps.Clone(o)
	if c == nil {
		c = Values{}
	}
	maps.Copy(c, p)
	return c.Compact()
}

// Compact drops zero values from o and returns it; nil when nothing is
// left.
func (o Values) Compact() Values {
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

// Check refuses values that declared does not name ("%q is not a setting
// of <what>") and values of the wrong JSON type.
func Check(o Values, declared []Spec, what string) error {
	byField := make(map[string]Spec, len(declared))
	for _, s := range declared {
		byField[s.Field] = s
	}
	for _, k := range slices.Sorted(maps.Keys(o)) {
		s, ok := byField[k]
		if !ok {
			return fmt.Errorf("%q is not a setting of %s", k, what)
		}
		var err error
		switch s.Type {
		case String:
			err = json.Unmarshal(o[k], new(string))
		case List:
			err = json.Unmarshal(o[k], new([]string))
		case Int:
			err = json.Unmarshal(o[k], new(int))
		case Bool:
			err = json.Unmarshal(o[k], new(bool))
		}
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

// Declared is an option one or more kinds declare.
type Declared struct {
	Spec
	Kinds  []string
	Usages []string // one per kind, each "kind: usage"
}

// Collect merges what kinds declare, in the order of kinds and of each
// kind's declarations: an option several kinds declare (platforms) comes
// once, its usage naming each. It panics if two kinds declare one field
// differently (type or flag), which would make one flag mean two things.
func Collect(kinds []string, declared func(kind string) []Spec) []Declared {
	var out []Declared
	at := map[string]int{}
	for _, kind := range kinds {
		for _, spec := range declared(kind) {
			i, ok := at[spec.Field]
			if !ok {
				i = len(out)
				at[spec.Field] = i
				out = append(out, Declared{Spec: spec})
			} else if o := out[i]; o.Type != spec.Type || o.Flag != spec.Flag {
				panic(fmt.Sprintf("options: kinds %s and %s declare %q differently", o.Kinds[0], kind, spec.Field))
			}
			out[i].Kinds = append(out[i].Kinds, kind)
			out[i].Usages = append(out[i].Usages, kind+": "+spec.Usage)
		}
	}
	return out
}
