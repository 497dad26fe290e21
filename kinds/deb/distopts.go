package deb

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pkgvc/pkgvc/internal/lifetime"
	"github.com/pkgvc/pkgvc/options"
)

// DistSettings are a deb distribution's own settings (dist.OptionDeclarer):
// what its apt repository is called and holds.
type DistSettings struct {
	Suite         string   `json:"suite,omitempty"`
	Codename      string   `json:"codename,omitempty"`
	Components    []string `json:"components,omitempty"`
	Architectures []string `json:"architectures,omitempty"`
	SignKey       string   `json:"sign_key,omitempty"`
	ValidFor      string   `json:"valid_for,omitempty"`
	Origin        string   `json:"origin,omitempty"`
	Label         string   `json:"label,omitempty"`
}

// Defaults of settings a distribution leaves unset.
const (
	DefaultSuite  = "stable"
	DefaultOrigin = "pkgvc"
)

// DefaultArchitectures are published when a distribution names none.
var DefaultArchitectures = []string{"amd64", "all"}

// DistOptions declares the settings of deb distributions.
func (Kind) DistOptions() []options.Spec {
	return []options.Spec{
		{Field: "suite", Flag: "suite", Type: options.String, Usage: "apt suite: the publication is under dists/`SUITE`/", Unset: DefaultSuite},
		{Field: "codename", Flag: "codename", Type: options.String, Usage: "the Release file's Codename", Unset: "(the suite)"},
		{Field: "components", Flag: "component", Type: options.List, Usage: "a `component` published (repeat the flag); a package is published under the component of its pool path", Unset: DefaultComponent},
		{Field: "architectures", Flag: "arch", Type: options.List, Usage: "an `architecture` published (repeat: --arch amd64 --arch all); Architecture: all packages are listed under every one", Unset: strings.Join(DefaultArchitectures, " ")},
		{Field: "sign_key", Flag: "sign-key", Type: options.String, Usage: "sign InRelease and Release.gpg with this `key` of pkgvc key (without: an unsigned repository)", Unset: "(unsigned)"},
		{Field: "valid_for", Flag: "valid-for", Type: options.String, Usage: "the Release's Valid-Until is its Date (the time of the version served) plus this `long` (7d, 12h); apt refuses the repository once it passes without a newer version", Unset: "(no Valid-Until)"},
		{Field: "origin", Flag: "origin", Type: options.String, Usage: "the Release file's Origin", Unset: DefaultOrigin},
		{Field: "label", Flag: "label", Type: options.String, Usage: "the Release file's Label", Unset: "(the origin)"},
	}
}

// CheckDistOptions checks the settings of a deb distribution.
func (Kind) CheckDistOptions(o options.Values) error {
	_, err := DecodeDistSettings(o)
	return err
}

// DecodeDistSettings reads and checks o, defaults filled in.
func DecodeDistSettings(o options.Values) (DistSettings, error) {
	var s DistSettings
	if err := o.Decode(&s); err != nil {
		return s, err
	}
	if s.Suite == "" {
		s.Suite = DefaultSuite
	}
	if s.Codename == "" {
		s.Codename = s.Suite
	}
	if s.Origin == "" {
		s.Origin = DefaultOrigin
	}
	if s.Label == "" {
		s.Label = s.Origin
	}
	if len(s.Components) == 0 {
		s.Components = []string{DefaultComponent}
	}
	if len(s.Architectures) == 0 {
		s.Architectures = slices.Clone(DefaultArchitectures)
	}
	for _, f := range []struct{ name, v string }{{"suite", s.Suite}, {"codename", s.Codename}} {
		if err := checkWord(f.name, f.v, true); err != nil {
			return s, err
		}
	}
	for _, f := range []struct{ name, v string }{{"origin", s.Origin}, {"label", s.Label}} {
		if strings.ContainsAny(f.v, "\n\r") || strings.TrimSpace(f.v) != f.v {
			return s, fmt.Errorf("%s %q: one line without leading or trailing blanks", f.name, f.v)
		}
	}
	for _, c := range s.Components {
		if err := checkWord("component", c, false); err != nil {
			return s, err
		}
	}
	for _, a := range s.Architectures {
		if err := checkWord("architecture", a, false); err != nil {
			return s, err
		}
	}
	s.Components = uniq(s.Components)
	s.Architectures = uniq(s.Architectures)
	if _, err := s.ValidDuration(); err != nil {
		return s, err
	}
	return s, nil
}

// ValidDuration is how long after its Date a Release is valid; 0 for no
// Valid-Until.
func (s DistSettings) ValidDuration() (time.Duration, error) {
	if s.ValidFor == "" {
		return 0, nil
	}
	d, err := lifetime.Parse(s.ValidFor)
	if err != nil {
		return 0, fmt.Errorf("valid_for %w", err)
	}
	if d <= 0 {
		return 0, fmt.Errorf("valid_for %q: give a positive duration (7d, 12h)", s.ValidFor)
	}
	return d, nil
}

// checkWord refuses a name that cannot be a path segment of an apt
// repository (slash allowed in a suite: "stable/updates").
func checkWord(what, v string, slash bool) error {
	if !validWord(v, slash) {
		return fmt.Errorf("%s %q: use letters, digits and - . _ + ~", what, v)
	}
	return nil
}

// ValidSuite reports whether s can name a suite (or codename): letters,
// digits and - . _ + ~ in segments joined by slashes, none of them
// empty, "." or "..".
func ValidSuite(s string) bool { return validWord(s, true) }

func validWord(v string, slash bool) bool {
	for _, r := range v {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_', r == '+', r == '~':
		case r == '/' && slash:
		default:
			return false
		}
	}
	for _, seg := range strings.Split(v, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

func uniq(s []string) []string {
	var out []string
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
