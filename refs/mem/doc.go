// Package mem is an in-memory refs.Backend: a mutex, a map of refs and a
// slice of reflog entries. It is meant for tests and for callers that do
// not need refs to outlive the process.
package mem
