// Package refstest is the conformance suite every refs.Backend runs: call
// Run from the backend's tests with a constructor for fresh, empty
// backends.
package refstest
