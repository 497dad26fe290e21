// Package objects is pkgvc's content-addressed store: blobs (package
// files, up to many GiB) and small objects (tree nodes and commits,
// encoded by other packages, well under 1 MiB), each named by the SHA-256
// of its content, on top of a storage Backend.
//
// # Glossary
//
// ID: the SHA-256 digest of the content (never of the stored, possibly
// compressed, bytes), written as 64 lower-case hex digits.
//
// Backend: the storage contract (Put, Open, Stat, Delete, List) that
// objects/fs, objects/mem and later S3 implement; conformance is checked
// by objects/objectstest. Optional capabilities are separate interfaces
// found by type assertion, each with a fallback in Store:
//   - Stager: stage content on the final medium before its key is known;
//     fallback: a local temporary file (WithTempDir, else os.TempDir()),
//     Put on Flush.
//   - Syncer: make everything written durable (fs: syncfs(2)); fallback:
//     nothing, Put is durable by itself.
//   - Toucher: freshen a key's modification time; fallback: nothing.
//   - LocalPather: the local file holding a key, for hard-linking raw
//     blobs into checkouts; fallback: BlobPath reports false.
//   - Reaper: delete a key only if it is still old, atomically with
//     Touch; fallback: a stat, then a delete.
//   - Locker: the store-wide lock between writers' leases and the
//     collector's mark, across processes, and the medium's clock (fs:
//     flock on files in dir/locks); fallback: a lock within the process.
//
// Writers that build versions hold a Lease and Reference the stored blobs
// they name, so that a garbage collector (Collect, then deletes with
// DeleteBlob and DeleteObject) never deletes them, whatever its grace
// period: see "Writers and the garbage collector" below.
//
// # Layout
//
// Keys, with h the hex ID and hh its first two digits:
//
//	blobs/hh/h       raw blob: exactly the content
//	blobs/hh/h.zst   compressed blob
//	objects/hh/h     small object
//	damaged/blob-h   empty: blob h failed verification (VerifyBlob); not
//	                 named h alone, so that a search for h finds the blob
//
// objects/fs keeps the files of its lock (Locker) in dir/locks, outside
// of any key.
//
// A blob is stored in one of its two forms; readers try the raw key first.
// On a local directory (objects/fs) every key is a read-only (0444) file
// under the same relative path; dir/tmp holds temporary and staged files,
// garbage after a crash.
//
// # Formats
//
// Compressed blob: an 8-byte big-endian content size, then one zstd frame
// of the content (with its checksum). PutBlob decides per blob: it
// trial-compresses the first 64 KiB (WithSampleSize) with zstd's fastest
// level and stores compressed, at the default level, only if the trial
// saves at least 10 %. The size header is written as a placeholder and
// filled in at the end (Staged.WriteAt), so one pass suffices.
//
// Small object: one format byte, then the data: 0 = raw, 1 = one zstd
// frame (EncodeAll). The data is compressed when that saves at least
// 10 %.
//
// # Hashing and writing
//
// PutBlob reads its io.Reader once: the sample, then large chunks that
// flow through a three-stage pipeline (read, SHA-256, write or compress)
// into a Staged writer; content is never held in memory as a whole. Only
// when the stream ends is the ID, and so the key, known. If the blob
// already exists (either form) or was already put in the batch, the
// staged copy is discarded and the existing one touched, so that a
// garbage collector's grace period (DeleteBlob's ifOlderThan) protects it —
// unless the existing copy is damaged: a raw one of the wrong size, or one
// marked damaged that fails verification again. The staged copy then
// replaces it on Flush, and the mark goes. Only marked blobs are read on a
// dedup hit, so the fast path stays one stat (plus one for the mark).
// PutObject hashes its bytes first and stages only what is missing.
//
// # Batch durability protocol
//
// A Batch stages everything in place (fs: files in dir/tmp, not yet
// visible) and Flush publishes it:
//  1. Sync: all staged content is durable;
//  2. commit every staged item: a rename to its key, no fsync each;
//  3. Sync again: the renames are durable.
//
// So a commit of 100 000 objects costs two syncfs calls, not 100 000
// fsyncs, and a crash at any point leaves either nothing or only complete,
// correct objects visible (plus temporaries for gc to remove); a reader
// never sees a partial object. Backends without a Stager get one atomic
// Put per item instead. Nothing in a batch is visible before Flush;
// Abort removes the staged files.
//
// # Verification
//
// OpenBlob hashes while streaming and always withholds the final byte of
// the content until the source is exhausted and the digest (and, for a
// compressed blob, the size header) has been checked: on a mismatch Read
// returns an error wrapping ErrCorrupt and naming the ID, so a corrupt
// blob never yields its complete content. VerifyBlob reads a blob through
// that check. GetObject checks the SHA-256 of the decoded bytes. Undecodable
// zstd data, bad headers and truncation are ErrCorrupt too, never a
// panic. OpenBlobRange is not verified (a range cannot be); fsck and
// scrub catch corruption with VerifyBlob.
//
// # Writers and the garbage collector
//
// A collector marks what the refs (and pins) reach, then deletes the rest
// that is older than a cutoff. A writer that builds a version from blobs
// and objects (new ones, or stored ones it names by digest) must never
// have them deleted under it, whatever the grace period. Two rules make it
// so, between goroutines and between processes sharing a backend:
//
//  1. Writes hold a lease (Lease) from their first write or reference
//     until the ref that reaches what they wrote has moved. Leases are
//     shared; the collector's mark (Collect) is exclusive. So a mark never
//     runs while a writer is between its writes and its ref move: every
//     writer either finished before the mark (its ref is marked) or
//     starts after it.
//  2. A writer that starts after a mark can only meet blobs the sweep
//     that follows may still delete: stored ones it names by digest. It
//     freshens each (Reference) before naming it, and the sweep deletes
//     only what was last modified at or before the mark's epoch, checked
//     again atomically with the delete (Reaper). Collect makes sure that
//     the medium's clock has passed the epoch before the mark ends, so
//     everything written or freshened by a later writer is newer. A blob
//     the sweep took before a writer's Reference is reported missing
//     (ErrNotFound): the writer stores it again or fails, it never names
//     a deleted blob.
//  3. A writer may also name a whole stored version without writing or
//     freshening it (promote or rollback to an old version, a
//     distribution pinned by id). So the sweep lists its candidates, then
//     takes Collect again, walks the roots anew (rule 1 makes every such
//     name visible by then) and deletes only candidates still unreached,
//     before it lets writers go on.
//
// Leases come in two kinds, so that the collector is neither starved by a
// stream of writers nor makes short ones queue behind a long one. A short
// lease (Lease: a commit of stored blobs, an upload's store and pin) lasts
// as long as local work does; a long one (LongLease: a sync, a commit that
// reads files) as long as the network or the files take. The collector
// first holds new long leases back and waits for the running ones to end,
// while short ones come and go; then it holds new short leases back and
// waits for the running ones, which end soon.
//
// A lease is a property of the context: Lease returns a context that
// carries it, and a Lease on a context that carries one of this store's
// leases already returns at once. Holders pass that context down, so a
// nested write never waits on a collector that waits on its caller.
// An object written outside a lease and named later (a document, then
// its ref) is referenced (ReferenceObject) under a lease before the ref
// that names it moves.
package objects
