// Package fs is a refs.Backend in a local directory that several
// processes (a long-running server and CLI commands, say) may use at
// once. Each process sees the others' changes at its next call; of
// concurrent transactions on a ref exactly one wins; a process killed at
// any instant leaves every transaction either applied or not.
//
// # Layout
//
//	dir/log       append-only write-ahead log, one line per transaction
//	dir/lock      empty; writers hold flock(LOCK_EX) on it
//	dir/snapshot  the refs as of some log offset, to start fast
//
// A log line is the transaction as JSON, a TAB, the CRC-32 (IEEE) of the
// JSON in 8 lower-case hex digits, and a newline:
//
//	{"seq":7,"time":"2025-01-02T03:04:05.123456789Z","who":"ci","action":"promote","updates":[{"name":"heads/main","old":"<hex>","new":"<hex>"}]}	1c291ca3
//
// seq counts transactions from 1. Updates lists only the refs the
// transaction changed; an empty old is "created", an empty new "deleted".
// The log is thus also the reflog. A line counts only if it is complete
// and its CRC matches.
//
// The snapshot is JSON {"offset":N,"seq":S,"refs":{"name":"<hex>",...}}:
// the refs after the line with seq S, which ends at byte N of the log.
//
// # Writers
//
// Apply takes the in-process write lock and flock on dir/lock, catches up
// with the log, checks every Old, appends its line with one write, fsyncs
// the log and unlocks. Invalid bytes at the end of the log (a partial
// line or a bad CRC, left by a writer that crashed) are truncated first;
// an invalid line followed by valid lines is ErrCorrupt. Every 1000
// transactions the writer, still under the lock, writes the snapshot to a
// temporary file, fsyncs it, renames it over dir/snapshot and fsyncs dir.
// The log is never rewritten otherwise.
//
// # Readers
//
// Readers take no lock. Each Backend caches the refs and the log offset
// and seq it has applied; every call stats the log and applies new
// complete lines, ignoring a trailing incomplete one (a writer may be in
// the middle of it). If the log shrank below the cached offset or is a
// different file, the Backend reloads from scratch: the snapshot, if it
// fits the log, then the log after it. Log scans the whole log.
package fs
