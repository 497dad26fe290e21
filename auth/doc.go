// Package auth keeps API tokens and the scopes they grant.
//
// # Tokens
//
// A token is "pkgvc_" followed by 32 random bytes in unpadded base64url. It
// is shown once, when created; the store keeps only its SHA-256.
//
// # Scopes
//
// A scope is KIND:GLOB:LEVEL. KIND is repo, dist, remote or * (every
// kind); GLOB is a path.Match pattern matched against the resource name
// (* matches every name); LEVEL is read, write or admin, each implying the
// ones before it. *:*:admin grants everything.
//
// # Storage
//
// Each token is a document in the store's metadata store (package meta)
// under two keys: tokens/<name> and token-hashes/<hex SHA-256>, the index
// Authenticate looks a token up by. Create and Revoke change both in one
// compare-and-swap batch.
package auth
