package repo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pkgvc/pkgvc/objects"
)

// Small non-tree objects are a tag byte, an encoding version byte, then the
// JSON of a struct (Go encodes struct fields in a fixed order, so the bytes
// are canonical).
const (
	tagCommit = 'C'
	tagConfig = 'R'
	version1  = 1
)

// Commit is the stored form of a version.
type Commit struct {
	Tree    objects.ID   `json:"tree"`
	Parents []objects.ID `json:"parents"`
	Version int          `json:"version"`
	Time    time.Time    `json:"time"`
	Author  string       `json:"author"`
	Message string       `json:"message"`
	// Kind is the content kind of the repository the version was made
	// in. Versions made before kinds were recorded have none (their
	// bytes, and so their ids, stay as they were); the metadata store
	// records theirs (see RecordVersionKinds).
	Kind string `json:"kind,omitempty"`
}

// Config is the stored configuration of a repository.
type Config struct {
	Name    string    `json:"name"`
	Kind    string    `json:"kind"`
	Retain  int       `json:"retain,omitempty"`
	Created time.Time `json:"created"`
	// Shallow lists this repository's retention boundaries: history walks
	// stop there, and what lies beyond becomes collectable.
	Shallow []objects.ID `json:"shallow,omitempty"`
	// PrunedAt is when retention last pruned; older reflog entries no longer
	// keep versions alive.
	PrunedAt time.Time `json:"pruned_at,omitzero"`
	// Incarnation tells this repository from another made later under its
	// name (a writer that read this one must not land in that one).
	Incarnation string `json:"incarnation,omitempty"`
	// Upstream, for a repository a namespace cache made, names what it
	// caches: syncs and pulls of it read that upstream name.
	Upstream *Upstream `json:"upstream,omitempty"`
}

// Upstream is what a repository caches of a remote standing for a whole
// namespace of upstream projects (a registry): the one it holds, the
// remote and the namespace distribution that made it.
type Upstream struct {
	Name   string `json:"name"`
	Remote string `json:"remote"`
	Dist   string `json:"dist,omitempty"`
}

// sameRepo reports whether a and b are configurations of one repository,
// not of two made one after the other under one name.
func sameRepo(a, b *Config) bool {
	return a.Incarnation == b.Incarnation && a.Created.Equal(b.Created)
}

func encodeTagged(tag byte, v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte(tag)
	buf.WriteByte(version1)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodeTagged(data []byte, tag byte, v any) error {
	if len(data) < 2 || data[0] != tag {
		return fmt.Errorf("%w: not a %c object", ErrCorrupt, tag)
	}
	if data[1] != version1 {
		return fmt.Errorf("%w: object encoding %d is newer than this pkgvc supports", ErrFormat, data[1])
	}
	dec := json.NewDecoder(bytes.NewReader(data[2:]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return nil
}

func encodeCommit(c *Commit) ([]byte, error) {
	c.Time = c.Time.UTC().Truncate(time.Microsecond)
	return encodeTagged(tagCommit, c)
}

func decodeCommit(data []byte) (*Commit, error) {
	var c Commit
	if err := decodeTagged(data, tagCommit, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

func isCommit(data []byte) bool { return len(data) > 1 && data[0] == tagCommit }

func encodeConfig(c *Config) ([]byte, error) {
	c.Created = c.Created.UTC().Truncate(time.Microsecond)
	c.PrunedAt = c.PrunedAt.UTC().Truncate(time.Microsecond)
	return encodeTagged(tagConfig, c)
}

func decodeConfig(data []byte) (*Config, error) {
	var c Config
	if err := decodeTagged(data, tagConfig, &c); err != nil {
		return nil, err
	}
	return &c, nil
}
