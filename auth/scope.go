package auth

import (
	"fmt"
	"path"
	"strings"
)

// Kinds of resources a scope names.
const (
	KindRepo   = "repo"
	KindDist   = "dist"
	KindRemote = "remote"
	KindAny    = "*"
)

// Level is an access level; each implies the ones below it.
type Level int

// Access levels.
const (
	Read Level = iota + 1
	Write
	Admin
)

var levelNames = [...]string{Read: "read", Write: "write", Admin: "admin"}

// String returns the level's name.
func (l Level) String() string {
	if l < Read || l > Admin {
		return fmt.Sprintf("level(%d)", int(l))
	}
	return levelNames[l]
}

// ParseLevel parses read, write or admin.
func ParseLevel(s string) (Level, error) {
	for l := Read; l <= Admin; l++ {
		if levelNames[l] == s {
			return l, nil
		}
	}
	return 0, fmt.Errorf("%w: level %q: use read, write or admin", ErrInvalidScope, s)
}

// Scope grants Level on the resources of Kind whose names match Glob.
type Scope struct {
	Kind  string
	Glob  string
	Level Level
}

// ParseScope parses KIND:GLOB:LEVEL.
func ParseScope(s string) (Scope, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return Scope{}, fmt.Errorf("%w %q: use KIND:GLOB:LEVEL, as in dist:*:read", ErrInvalidScope, s)
	}
	sc := Scope{Kind: parts[0], Glob: parts[1]}
	switch sc.Kind {
	case KindRepo, KindDist, KindRemote, KindAny:
	default:
		return Scope{}, fmt.Errorf("%w %q: kind %q: use repo, dist, remote or *", ErrInvalidScope, s, sc.Kind)
	}
	if sc.Glob == "" {
		return Scope{}, fmt.Errorf("%w %q: empty name pattern (use * for every name)", ErrInvalidScope, s)
	}
	if _, err := path.Match(sc.Glob, ""); err != nil {
		return Scope{}, fmt.Errorf("%w %q: name pattern %q: %w", ErrInvalidScope, s, sc.Glob, err)
	}
	l, err := ParseLevel(parts[2])
	if err != nil {
		return Scope{}, fmt.Errorf("%w %q: level %q: use read, write or admin", ErrInvalidScope, s, parts[2])
	}
	sc.Level = l
	return sc, nil
}

// String formats s as KIND:GLOB:LEVEL.
func (s Scope) String() string { return s.Kind + ":" + s.Glob + ":" + s.Level.String() }

// MarshalText formats s as KIND:GLOB:LEVEL.
func (s Scope) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses KIND:GLOB:LEVEL.
func (s *Scope) UnmarshalText(b []byte) error {
	v, err := ParseScope(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Allows reports whether s grants level on the resource kind/name.
func (s Scope) Allows(kind, name string, level Level) bool {
	if s.Level < level || (s.Kind != KindAny && s.Kind != kind) {
		return false
	}
	if s.Glob == "*" {
		return true
	}
	ok, err := path.Match(s.Glob, name)
	return err == nil && ok
}
