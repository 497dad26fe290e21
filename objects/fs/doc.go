// Package fs is an objects.Backend on a local directory.
//
// Key "blobs/ab/abcdef…" is the file dir/blobs/ab/abcdef…. Files are
// created read-only (0444) so that a checkout hard-linking them cannot
// corrupt the store. Temporary and staged files live in dir/tmp, which is
// never listed; anything left there by a crash is garbage.
//
// Put is durable on return (temporary file, fsync, rename, fsync of the
// directory). Staged content is committed by a rename without fsync;
// durability comes from Sync, a syncfs(2) of the directory's file system.
// Several processes may write the same key at once: the last rename wins,
// and for content-addressed keys every writer's content is identical.
package fs
