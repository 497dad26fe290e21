// Package lifetime parses lifetimes such as 90d, 12h or 30m: Go durations
// plus a whole number of days, as token lifetimes and reflog expiry take
// them.
package lifetime

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxDays bounds a lifetime given in days: a hundred years.
const MaxDays = 100 * 365

// ErrInvalid matches a string that is not a positive lifetime.
var ErrInvalid = errors.New("give a lifetime such as 30d, 12h or 90m")

// Parse reads s as a positive lifetime: N days ("90d", at most MaxDays) or
// a Go duration ("12h", "90m").
func Parse(s string) (time.Duration, error) {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days > MaxDays {
			return 0, fmt.Errorf("%q: %w", s, ErrInvalid)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q: %w", s, ErrInvalid)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: the lifetime must be positive", s)
	}
	return d, nil
}
