package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/pkgvc/pkgvc/meta"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
)

// Ref prefixes of store format 1.
const (
	// v1DocPrefix named every configuration document and task; the rest
	// of the ref name is the document's key in the metadata store.
	v1DocPrefix = "config/"
	// v1PinPrefix named the version a distribution is pinned to; it
	// becomes the pin PinPrefix + the ref name.
	v1PinPrefix = "dists/"
)

// UpgradeStep is one more conversion Upgrade makes, on the store opened
// with its documents already moved, before it records the new format.
// A step must be safe to run again: an upgrade that stopped half way is
// run again from the start.
type UpgradeStep func(ctx context.Context, st *Store) error

// UpgradeReport tells what Upgrade did.
type UpgradeReport struct {
	Dir  string `json:"dir"`
	From int    `json:"from"`
	To   int    `json:"to"`
	// Documents counts the documents moved into the metadata store, by
	// the first segment of their key (repos, dists, remotes, tasks, ...).
	Documents map[string]int `json:"documents"`
	// Pins counts distributions' pinned versions moved into pins.
	Pins int `json:"pins"`
	// RefsDeleted counts the refs the moved documents and pins had.
	RefsDeleted int `json:"refs_deleted"`
	// VersionKinds counts the versions written without a recorded kind
	// whose kind (their repository's) is now recorded.
	VersionKinds int `json:"version_kinds"`
	// Steps counts the further steps run.
	Steps int `json:"steps"`
}

// Upgrade converts st, whose format marker is marker, to FormatVersion,
// then runs steps, then records the format; st must have been opened
// accepting an older format, and where names it in errors and the report.
// From format 1 it moves every configuration
// document and task from the objects named by refs under "config/" into
// the metadata store, and distributions' pin refs into pins, and deletes
// those refs in one transaction; then it records each version's kind
// (format 1 commits name none) from its repository. Each stage is atomic and repeatable: an
// upgrade that stopped (crash, error) leaves format 1 recorded, and run
// again it finishes. A store already in FormatVersion is left alone.
func Upgrade(ctx context.Context, st *Store, marker FormatMarker, where string, steps []UpgradeStep) (*UpgradeReport, error) {
	format, err := marker.ReadFormat(ctx)
	if err != nil {
		return nil, err
	}
	rep := &UpgradeReport{Dir: where, From: format, To: FormatVersion, Documents: map[string]int{}}
	if err := CheckFormat(where, format, true); err != nil {
		return nil, err
	}
	if format == FormatVersion {
		return rep, nil
	}
	if err := st.moveDocuments(ctx, rep); err != nil {
		return nil, fmt.Errorf("upgrade %s: %w", where, err)
	}
	// Versions of format 1 name no kind; their repository's is theirs.
	if rep.VersionKinds, err = st.RecordVersionKinds(ctx); err != nil {
		return nil, fmt.Errorf("upgrade %s: record the kinds of versions: %w", where, err)
	}
	for i, step := range steps {
		if err := step(ctx, st); err != nil {
			return nil, fmt.Errorf("upgrade %s: step %d: %w", where, i+1, err)
		}
		rep.Steps++
	}
	if err := marker.WriteFormat(ctx, FormatVersion); err != nil {
		return nil, fmt.Errorf("upgrade %s: record format %d: %w", where, FormatVersion, err)
	}
	return rep, nil
}

// moveDocuments moves format 1's documents and pins into the metadata
// store (one batch, overwriting what an interrupted run wrote), then
// deletes their refs (one transaction).
func (s *Store) moveDocuments(ctx context.Context, rep *UpgradeReport) error {
	type ref struct {
		name string
		id   objects.ID
	}
	var docs, pins []ref
	if err := s.refs.List(ctx, "", func(name string, id objects.ID) error {
		switch {
		case strings.HasPrefix(name, v1DocPrefix):
			docs = append(docs, ref{name, id})
		case strings.HasPrefix(name, v1PinPrefix):
			pins = append(pins, ref{name, id})
		}
		return nil
	}); err != nil {
		return err
	}
	values := map[string][]byte{}
	for _, d := range docs {
		key := strings.TrimPrefix(d.name, v1DocPrefix)
		if err := meta.ValidKey(key); err != nil {
			return fmt.Errorf("ref %s: %w", d.name, err)
		}
		value, err := s.v1Document(ctx, key, d.id)
		if err != nil {
			return fmt.Errorf("ref %s: %w", d.name, err)
		}
		values[key] = value
		rep.Documents[strings.SplitN(key, "/", 2)[0]]++
	}
	for _, p := range pins {
		key := PinPrefix + p.name
		if err := meta.ValidKey(key); err != nil {
			return fmt.Errorf("ref %s: %w", p.name, err)
		}
		data, err := json.Marshal(Pin{Versions: []objects.ID{p.id}})
		if err != nil {
			return err
		}
		values[key] = data
		rep.Pins++
	}
	if len(values) > 0 {
		keys := make([]string, 0, len(values))
		for k := range values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		ops := make([]meta.Op, len(keys))
		for i, k := range keys {
			_, rev, err := s.meta.Get(ctx, k)
			if err != nil && !errors.Is(err, meta.ErrNotFound) {
				return err
			}
			ops[i] = meta.Op{Key: k, Old: rev, Value: values[k]}
		}
		if _, err := s.meta.Apply(ctx, ops...); err != nil {
			return fmt.Errorf("store documents: %w", err)
		}
	}
	var ups []refs.Update
	for _, r := range append(docs, pins...) {
		ups = append(ups, refs.Update{Name: r.name, Old: r.id})
	}
	if len(ups) == 0 {
		return nil
	}
	if err := s.ApplyRefs(ctx, fmt.Sprintf("upgrade to store format %d", FormatVersion), ups...); err != nil {
		return fmt.Errorf("delete the moved documents' refs: %w", err)
	}
	rep.RefsDeleted = len(ups)
	return nil
}

// v1Document returns the JSON value of key's format-1 document id.
func (s *Store) v1Document(ctx context.Context, key string, id objects.ID) ([]byte, error) {
	data, err := s.objects.GetObject(ctx, id)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(key, repoPrefix) {
		cfg, err := decodeConfig(data)
		if err != nil {
			return nil, err
		}
		return json.Marshal(cfg)
	}
	var raw json.RawMessage
	if err := decodeTagged(data, tagDoc, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}
