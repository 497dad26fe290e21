package upstream

import (
	"fmt"
	"strings"
)

// relation is one alternative of a dependency: a package name, with an
// optional version relation.
type relation struct {
	Name    string
	Op      string // "", "<<", "<=", "=", ">=", ">>"
	Version string
}

// parseRelations parses a Depends-style field: groups separated by
// commas, alternatives by "|". Architecture qualifiers (":any"),
// restrictions ("[amd64]") and build profiles ("<!nocheck>") are dropped.
func parseRelations(s string) ([][]relation, error) {
	var out [][]relation
	for _, grp := range strings.Split(s, ",") {
		if strings.TrimSpace(grp) == "" {
			continue
		}
		var alts []relation
		for _, a := range strings.Split(grp, "|") {
			r, err := parseRelation(a)
			if err != nil {
				return nil, err
			}
			alts = append(alts, r)
		}
		out = append(out, alts)
	}
	return out, nil
}

func parseRelation(s string) (relation, error) {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "[<"); i >= 0 && !strings.Contains(s[:i], "(") {
		s = strings.TrimSpace(s[:i]) // restrictions and profiles, when no version relation comes first
	}
	var r relation
	name, rest, hasVer := strings.Cut(s, "(")
	name = strings.TrimSpace(name)
	if n, _, ok := strings.Cut(name, ":"); ok {
		name = n
	}
	if !validName(name) {
		return r, fmt.Errorf("dependency %q: bad package name", s)
	}
	r.Name = name
	if !hasVer {
		return r, nil
	}
	inner, _, ok := strings.Cut(rest, ")")
	if !ok {
		return r, fmt.Errorf("dependency %q: unclosed version relation", s)
	}
	inner = strings.TrimSpace(inner)
	for _, op := range []string{"<<", "<=", ">=", ">>", "=", "<", ">"} {
		if v, ok := strings.CutPrefix(inner, op); ok {
			r.Op, r.Version = op, strings.TrimSpace(v)
			break
		}
	}
	switch r.Op { // the obsolete forms mean what dpkg reads them as
	case "<":
		r.Op = "<="
	case ">":
		r.Op = ">="
	case "":
		return r, fmt.Errorf("dependency %q: bad version relation", s)
	}
	if _, err := parseVersion(r.Version); err != nil {
		return r, fmt.Errorf("dependency %q: %w", s, err)
	}
	return r, nil
}

// satisfiedBy reports whether version v meets r's version relation.
func (r relation) satisfiedBy(v string) bool {
	if r.Op == "" {
		return true
	}
	c := compareVersions(v, r.Version)
	switch r.Op {
	case "<<":
		return c < 0
	case "<=":
		return c <= 0
	case "=":
		return c == 0
	case ">=":
		return c >= 0
	case ">>":
		return c > 0
	}
	return false
}

// validName reports whether s is a valid Debian package name.
func validName(s string) bool {
	if len(s) < 2 || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
