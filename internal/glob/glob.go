// Package glob matches package paths against shell-style patterns, the way
// `--only`, `--include` and `--exclude` flags read them.
package glob

import (
	"fmt"
	"path"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Set is a list of patterns; a path matches the set if it matches any.
//
// A pattern matches a path when it matches it as a whole ("**" crosses
// directories, "*" does not), when it has no '/' and matches the base name
// ("*.whl"), or when it names a directory the path is under ("sub/").
type Set []string

// Validate reports the first malformed pattern.
func (s Set) Validate() error {
	for _, p := range s {
		if !doublestar.ValidatePattern(strings.TrimSuffix(p, "/")) {
			return fmt.Errorf("invalid pattern %q", p)
		}
	}
	return nil
}

// Match reports whether p matches any pattern of the set.
func (s Set) Match(p string) bool {
	for _, pat := range s {
		pat = strings.TrimSuffix(pat, "/")
		if ok, _ := doublestar.Match(pat, p); ok {
			return true
		}
		if !strings.Contains(pat, "/") {
			if ok, _ := doublestar.Match(pat, path.Base(p)); ok {
				return true
			}
		}
		if strings.HasPrefix(p, pat+"/") {
			return true
		}
	}
	return false
}
