package format

import (
	"fmt"
	"strings"
)

// Relation is one package a dependency field names (Debian policy 7.1):
// name[:arch] [(op version)] [[arch...]] [<profile...>]...
type Relation struct {
	Name string
	// ArchQual is the architecture qualifier after a colon ("any",
	// "native", an architecture), "" without one.
	ArchQual string
	// Op is <<, <=, =, >= or >> ("" for any version); the obsolete
	// < and > are read as <= and >=, as dpkg does.
	Op      string
	Version string
	// Arches is the architecture restriction list as written ("amd64",
	// "!i386"); Profiles the build profile formulas, one per <...>.
	Arches   []string
	Profiles [][]string
}

// Alternatives are relations joined by "|": the first satisfiable one
// satisfies the group.
type Alternatives []Relation

// Relations is a dependency field: groups joined by ",", all needed.
type Relations []Alternatives

// ParseRelations parses a dependency field (Depends, Pre-Depends,
// Recommends, Provides, ...). Empty groups between commas (a trailing
// comma) are skipped, as apt does; an empty alternative is an error.
func ParseRelations(s string) (Relations, error) {
	var out Relations
	for _, group := range strings.Split(s, ",") {
		if strings.TrimSpace(group) == "" {
			continue
		}
		var alts Alternatives
		for _, alt := range strings.Split(group, "|") {
			r, err := parseRelation(alt)
			if err != nil {
				return nil, fmt.Errorf("relation %q: %w", strings.TrimSpace(alt), err)
			}
			alts = append(alts, r)
		}
		out = append(out, alts)
	}
	return out, nil
}

// parseRelation parses one relation, whitespace (newlines included)
// allowed between its parts.
func parseRelation(s string) (Relation, error) {
	var r Relation
	p := &scanner{s: s}
	p.space()
	name := p.until(" \t\n(:[<")
	if !ValidPackageName(name) {
		return r, fmt.Errorf("invalid package name %q", name)
	}
	r.Name = name
	if p.accept(':') {
		r.ArchQual = p.until(" \t\n([<")
		if !validArch(r.ArchQual) {
			return r, fmt.Errorf("invalid architecture qualifier %q", r.ArchQual)
		}
	}
	p.space()
	if p.accept('(') {
		p.space()
		op := p.while("<>=")
		switch op {
		case "<<", "<=", "=", ">=", ">>":
		case "<":
			op = "<="
		case ">":
			op = ">="
		default:
			return r, fmt.Errorf("invalid version relation %q", op)
		}
		p.space()
		ver := p.until(" \t\n)")
		if _, err := ParseVersion(ver); err != nil {
			return r, err
		}
		p.space()
		if !p.accept(')') {
			return r, fmt.Errorf("no ) after the version")
		}
		r.Op, r.Version = op, ver
		p.space()
	}
	if p.accept('[') {
		list := p.until("]")
		if !p.accept(']') {
			return r, fmt.Errorf("no ] after the architecture list")
		}
		r.Arches = strings.Fields(list)
		if len(r.Arches) == 0 {
			return r, fmt.Errorf("empty architecture list")
		}
		for _, a := range r.Arches {
			if !validArch(strings.TrimPrefix(a, "!")) {
				return r, fmt.Errorf("invalid architecture %q", a)
			}
		}
		p.space()
	}
	for p.accept('<') {
		terms := strings.Fields(p.until(">"))
		if !p.accept('>') || len(terms) == 0 {
			return r, fmt.Errorf("bad build profile formula")
		}
		r.Profiles = append(r.Profiles, terms)
		p.space()
	}
	if !p.done() {
		return r, fmt.Errorf("unexpected %q", p.s[p.i:])
	}
	return r, nil
}

// SatisfiedBy says whether version v meets r's version relation (any
// version does when r has none); a version that does not parse meets
// none.
func (r Relation) SatisfiedBy(v string) bool {
	if r.Op == "" {
		return true
	}
	if _, err := ParseVersion(v); err != nil {
		return false
	}
	c := CompareVersions(v, r.Version)
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

// String writes r as a dependency field spells it.
func (r Relation) String() string {
	s := r.Name
	if r.ArchQual != "" {
		s += ":" + r.ArchQual
	}
	if r.Op != "" {
		s += " (" + r.Op + " " + r.Version + ")"
	}
	if len(r.Arches) > 0 {
		s += " [" + strings.Join(r.Arches, " ") + "]"
	}
	for _, p := range r.Profiles {
		s += " <" + strings.Join(p, " ") + ">"
	}
	return s
}

// String writes the alternatives joined by " | ".
func (a Alternatives) String() string {
	parts := make([]string, len(a))
	for i, r := range a {
		parts[i] = r.String()
	}
	return strings.Join(parts, " | ")
}

// String writes the field joined by ", ".
func (rs Relations) String() string {
	parts := make([]string, len(rs))
	for i, a := range rs {
		parts[i] = a.String()
	}
	return strings.Join(parts, ", ")
}

// ValidPackageName says whether n is a package name as policy 5.6.1
// defines it: at least two characters of lower case letters, digits and
// + - ., starting with a letter or digit.
func ValidPackageName(n string) bool {
	if len(n) < 2 || !isLowerAlnum(n[0]) {
		return false
	}
	for _, c := range []byte(n) {
		if !isLowerAlnum(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// ValidArchitecture says whether a is an architecture name a binary
// package may have: lower case letters, digits and "-" ("all", "amd64",
// "kfreebsd-i386"), not "any" or "source".
func ValidArchitecture(a string) bool {
	return validArch(a) && a != "any" && a != "source"
}

func validArch(a string) bool {
	if a == "" || !isLowerAlnum(a[0]) {
		return false
	}
	for _, c := range []byte(a) {
		if !isLowerAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

func isLowerAlnum(c byte) bool { return isDigit(c) || (c >= 'a' && c <= 'z') }

// scanner reads a relation left to right.
type scanner struct {
	s string
	i int
}

func (p *scanner) done() bool { return p.i >= len(p.s) }

func (p *scanner) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\n\r", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *scanner) accept(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// until returns the text up to the first byte of stop.
func (p *scanner) until(stop string) string {
	j := p.i
	for j < len(p.s) && strings.IndexByte(stop, p.s[j]) < 0 {
		j++
	}
	out := p.s[p.i:j]
	p.i = j
	return out
}

// while returns the run of bytes of set.
func (p *scanner) while(set string) string {
	j := p.i
	for j < len(p.s) && strings.IndexByte(set, p.s[j]) >= 0 {
		j++
	}
	out := p.s[p.i:j]
	p.i = j
	return out
}
