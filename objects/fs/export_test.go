package fs

import "time"

// SetParkedStale sets how old a parked file must be to be put back, and
// returns the undo.
func SetParkedStale(d time.Duration) func() {
	old := parkedStale
	parkedStale = d
	return func() { parkedStale = old }
}
