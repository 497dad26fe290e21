// Package meta is the metadata store: small documents — configuration of
// repositories, distributions, remotes, tokens and schedules, tasks, upload
// pins — under '/'-separated keys, each with a revision for
// compare-and-swap, as lakeFS's kv.Store with SetIf.
//
// Refs (which versions repositories name) stay in package refs, whose log
// is also the reflog; what changes often and needs no history (task
// progress, leases, pins) goes here, so it never grows that log.
//
// Backends: meta/mem (tests, in-process) and meta/fs (a store directory);
// each runs the conformance suite in meta/metatest.
package meta
