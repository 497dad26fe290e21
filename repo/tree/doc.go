// Package tree stores the package records of one repository version as an
// ordered, history-independent Merkle tree of content-addressed nodes (a
// prolly tree).
//
// # Shape (version 2)
//
// Records are sorted by path. Level 0 cuts them into leaves: a record ends
// its leaf when a 64-bit hash of its path and the level (FNV-1a, then
// splitmix64's finalizer) has its top [chunkBits] bits zero, so a leaf holds
// 32 records on average, about 4 KiB; a run of [MaxItems] records with no
// such boundary is cut after the last of them. Each level above cuts the
// list of nodes below it the same way, keyed by each node's last path and
// hashed with its own level, until one node, the root, is left; a root
// with one child is never written, that child is the root.
//
// Where a node ends depends only on the paths, never on the order of the
// commits that built the set: equal sets have equal root ids, and two
// versions share every node they have in common. A change of k of n
// records rewrites the nodes holding them and their ancestors, plus the
// next node where a boundary came or went, O(k·log n) objects; a diff
// opens only children whose ids differ, aligning the two trees by key
// range, so its cost follows the difference. Being ordered, the tree
// answers a lookup, a range or prefix read and a directory listing in
// O(log n) reads plus the records returned, and [Apply] refuses a record
// that would be a file over a directory, or lie under a file, with
// [ErrPathConflict], looking up only the paths it changes.
//
// # Encoding (version 2)
//
// Leaf:  'R' 0x02 uvarint(n) then n records sorted by path, encoded as in
// version 1 (below).
//
// Inner: 'I' 0x02 uvarint(level >= 1) uvarint(n >= 1) then n children
// sorted by path, each 32-byte child id, uvarint(records under it),
// uvarint(len) first path, uvarint(len) last path.
//
// The empty tree is the leaf with no records. A node holds at most
// [MaxItems] items and no item but its last is a boundary; children's key
// ranges do not overlap, and a range of one path holds one record. A
// child read through its parent must be of the level below with the
// first path, last path and record count its parent gives.
//
// # Version 1 (read only)
//
// Version 1 is a hash-array-mapped trie: every record is placed by the
// SHA-256 of its path, and at depth d the trie branches on the d-th hex
// digit of that digest, 16 children at most; a subtree of at most
// [MaxLeaf] records is a leaf that lists them sorted by path. Trees
// written in version 1 are read (lookups, walks, diffs) as they are;
// ranges, listings and walks sort their records first, and the first
// [Apply] to one writes the version-2 tree of the result.
//
// Leaf:  'L' 0x01 uvarint(n) then n records sorted by path, each
// uvarint(len path) path, 32-byte sha256, uvarint(size), uvarint(m), and m
// metadata pairs sorted by key, each uvarint(len) key uvarint(len) value.
//
// Inner: 'N' 0x01 uvarint(total records) uint16 big-endian child bitmap, then for
// each set bit from low to high: 32-byte child id and uvarint(child records).
//
// Encoders are strict (sorted, unique, valid), decoders validate the same
// rules, so every object has exactly one encoding and its id is the SHA-256
// of it.
package tree
