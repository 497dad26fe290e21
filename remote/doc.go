// Package remote keeps upstream definitions ("remotes") and syncs their
// content into repositories, as Pulp's remotes and sync tasks do.
//
// # Remotes
//
// A Remote is a configuration document in the store's metadata store (see
// package meta) under the key "remotes/NAME": the upstream's kind and URL, its download
// policy, include/exclude patterns, and what talking to it takes (Basic
// credentials, CA and client certificates, proxy, timeouts, concurrency,
// retries). Secrets stay out of the store: a remote records the path of a
// password file, read on every request.
//
// # Sync
//
// Manager.Sync asks the remote kind's Syncer for the upstream index (a list
// of Package: path, URL, sha256, size), filters it, plans it against the
// repository's latest version by path and digest+size, downloads what the
// store lacks (concurrently, retried, resumed, verified while streaming)
// and commits one new version with the result. A sync that changes
// nothing makes no version. A sync in which any file fails makes no
// version either, but keeps the blobs it verified, so the next run does
// not download them again.
//
// A sync holds a bounded part of the index and of the head: the index is
// read as a stream in path order (IndexStreamer; an index a Syncer can
// only return whole is sorted), merged with the head's ordered records
// as it comes, and the changes it plans go to an unnamed temporary file
// that the commit reads back as a stream (repo.CommitRequest.Changes).
// The downloads of the immediate policy are still listed in memory.
//
// With the on_demand policy a sync records packages without their bytes:
// each record carries repo.MetaRemote and repo.MetaURL, and
// Manager.FetchBlob fetches, verifies and stores the bytes when something
// first needs them.
//
// # Kinds
//
// Each upstream kind implements Syncer in a subpackage (remote/file reads
// a PULP_MANIFEST); remote/all.Registry builds the registry of all of them.
// The engine here is kind-agnostic.
package remote
