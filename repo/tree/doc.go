// Package tree stores the package records of one repository version as a
// hash-array-mapped trie (HAMT) of content-addressed nodes.
//
// # Shape
//
// Every record is placed by the SHA-256 of its path: at depth d the trie
// branches on the d-th hex digit (nibble) of that digest, so a node has at most
// 16 children. A subtree holding at most [MaxLeaf] records is a leaf that lists
// them sorted by path; a larger one is an inner node. The shape therefore depends
// only on the set of records, never on the order of the commits that built it:
// equal sets have equal root ids, and two versions share every subtree they
// have in common.
//
// A commit that changes k of n records rewrites only the k paths from the root
// to their leaves, O(k·log16(n/MaxLeaf)) objects, and a diff descends only into
// children whose ids differ, so its cost follows the difference, not the size.
//
// # Encoding (version 1)
//
// Leaf:  'L' 0x01 uvarint(n) then n records sorted by path, each
// uvarint(len path) path, 32-byte sha256, uvarint(size), uvarint(m), and m
// metadata pairs sorted by key, each uvarint(len) key uvarint(len) value.
//
// Inner: 'N' 0x01 uvarint(total records) uint16 big-endian child bitmap, then for
// each set bit from low to high: 32-byte child id and uvarint(child records).
//
// Encode is strict (sorted, unique, valid), Decode validates the same rules, so
// every object has exactly one encoding and its id is the SHA-256 of it.
package tree
