package remote

import (
	"encoding/json"
	"fmt"

	"github.com/pkgvc/pkgvc/repo"
)

// Patch changes some settings of a remote: a JSON merge patch (RFC 7396)
// over the Remote's JSON fields, so it travels through the API as is and
// covers every field a content kind adds. A null value resets a field to
// its zero value.
type Patch map[string]json.RawMessage

// Set records one field's new value.
func (p Patch) Set(field string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	p[field] = b
	return nil
}

// immutable are the fields a patch may not change.
var immutable = map[string]bool{"name": true, "kind": true, "created": true, "updated": true}

// Apply changes r as p says. The name, kind and timestamps are refused
// (repo.ErrInvalid); a field that is not a common one is one of the
// remote's Options, which the Manager refuses unless the remote's kind
// declares it.
func (p Patch) Apply(r *Remote) error {
	cur, err := json.Marshal(r)
	if err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(cur, &fields); err != nil {
		return err
	}
	for k, v := range p {
		if immutable[k] {
			return fmt.Errorf("%w remote %s: field %q cannot be changed", repo.ErrInvalid, r.Name, k)
		}
		if string(v) == "null" {
			delete(fields, k)
			continue
		}
		fields[k] = v
	}
	merged, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	var out Remote
	if err := json.Unmarshal(merged, &out); err != nil {
		return fmt.Errorf("%w remote %s: %v", repo.ErrInvalid, r.Name, err)
	}
	*r = out
	return nil
}
