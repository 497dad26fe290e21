// Package objectstest is the conformance suite every objects.Backend
// runs: its tests call Run with a constructor for fresh, empty backends.
// Optional capabilities (Stager, Syncer, Toucher, LocalPather) are tested
// when the backend has them.
package objectstest
