// Package fs is a refs.Backend in a local directory that several
// processes (a long-running server and CLI commands, say) may use at
// once. Each process sees the others' changes at its next call; of
// concurrent transactions on a ref exactly one wins; a process killed at
// any instant leaves every transaction either applied or not, and every
// reflog entry present once.
//
// # Layout
//
//	dir/log            write-ahead log, one line per transaction since the last checkpoint
//	dir/reflog/<hash>  one ref's reflog entries up to the last checkpoint
//	dir/lock           empty; writers hold flock(LOCK_EX) on it
//	dir/snapshot       the refs as of some log offset, to start fast
//
// A log line is the transaction as JSON, a TAB, the CRC-32 (IEEE) of the
// JSON in 8 lower-case hex digits, and a newline:
//
//	{"seq":7,"time":"2025-01-02T03:04:05.123456789Z","who":"ci","action":"promote","updates":[{"name":"heads/main","old":"<hex>","new":"<hex>"}]}	1c291ca3
//
// seq counts transactions from 1. Updates lists only the refs the
// transaction changed; an empty old is "created", an empty new "deleted".
// A line counts only if it is complete and its CRC matches.
//
// A log made by a checkpoint starts with a checkpoint record, which holds
// every ref after the transaction with its seq (the log's base):
//
//	{"seq":1000,"checkpoint":true,"time":"…","who":"","action":"","updates":null,"refs":{"name":"<hex>",...}}	89ab01cd
//
// so the log holds the refs and the reflog entries since; a log without
// one (as logs were before checkpoints) starts at seq 1.
//
// A reflog file is named by the SHA-256 of the ref's name in hex and
// holds its entries, oldest first, framed like log lines:
//
//	{"seq":7,"name":"heads/main","time":"…","who":"ci","action":"promote","old":"<hex>","new":"<hex>"}	5e0f1a2b
//
// The snapshot is JSON {"offset":N,"seq":S,"base":B,"refs":{...}}: the
// refs after the line with seq S, which ends at byte N of the log whose
// base is B.
//
// # Writers
//
// Apply takes the in-process write lock and flock on dir/lock, catches up
// with the log, checks every Old, appends its line with one write, fsyncs
// the log and unlocks. Invalid bytes at the end of the log (a partial
// line or a bad CRC, left by a writer that crashed) are truncated first;
// an invalid line followed by valid lines is ErrCorrupt.
//
// Every 1000 transactions the writer, still under the lock, checkpoints:
// it appends each ref's entries of the log to the ref's reflog file (first
// cutting the file back to its lines up to the log's base, which drops
// what a crashed checkpoint left) and fsyncs them, then writes a new log
// holding only a checkpoint record to a temporary file, fsyncs it, renames
// it over dir/log and fsyncs dir. A crash before the rename leaves the old
// log in place, its entries perhaps in the reflog files too: the log is
// what counts past its base, so they are not seen twice, and the next
// checkpoint writes them again. The log thus stays about as large as the
// refs plus 1000 transactions, whatever the history.
//
// Between checkpoints, or when they are off, the writer writes a snapshot
// every 1000 transactions: a temporary file, fsynced, renamed over
// dir/snapshot. A checkpoint deletes the snapshot, which no longer fits.
//
// Expire takes the write lock, checkpoints, then rewrites each reflog file
// that loses entries (a temporary file renamed over it) and deletes each
// that loses all.
//
// # Readers
//
// Readers take no lock. Each Backend caches the refs and the log offset
// and seq it has applied, and keeps that log file open (so that no new log
// can get its inode number); every call stats the log and applies new
// complete lines, ignoring a trailing incomplete one (a writer may be in
// the middle of it). If the log shrank below the cached offset or is a
// different file (a checkpoint replaced it), the Backend reloads from
// scratch: the snapshot, if it is of this log, then the log after it. The
// refs are set, not replayed, from a checkpoint record, so a reader
// crossing any number of checkpoints sees each transaction's effect once.
//
// Log opens the log, then reads the ref's reflog file, whose lines up to
// the log's base are complete (a checkpoint fills the files before it
// renames), then the log's lines. If the log was replaced meanwhile (a
// checkpoint or Expire ran) it reads both again.
package fs
