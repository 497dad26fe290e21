// Package names checks the names of the things a store holds
// (repositories, distributions, remotes, tokens, ...), for repo and the
// packages beside it.
package names

import (
	"fmt"
	"regexp"

	"github.com/pkgvc/pkgvc/internal/errkind"
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// Validate checks a name: lower-case letters, digits, '.', '_' and '-',
// starting with a letter or digit, at most 128 bytes. Its error wraps
// errkind.Invalid (repo.ErrInvalid).
func Validate(name string) error { return Check(name, errkind.Invalid) }

// Check checks a name by the rules of Validate; its error wraps kind, for a
// package with its own invalid-input error (keys.ErrInvalid).
func Check(name string, kind error) error {
	if len(name) > 128 || !nameRE.MatchString(name) {
		return fmt.Errorf("%w name %q: use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit", kind, name)
	}
	return nil
}
