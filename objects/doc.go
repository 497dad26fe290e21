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
package objects
