// Package errcheck holds a test that checks the module's own code: errors
// are matched with errors.Is and errors.As, never compared with == or !=
// (other than with nil). An error wrapping another does not equal it, and
// comparing two errors whose dynamic type is not comparable (a slice, such
// as an error list) panics.
package errcheck
