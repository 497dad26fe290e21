// Package server exposes an api.Service over HTTP as the pkgvc REST API,
// under /api/v1/.
//
// # Resources
//
// repositories, revisions (log, packages, package bytes), diff, promote,
// distributions, remotes (with a sync action), tasks, schedules, tokens,
// uploads and the reflog's expiry. Bodies are JSON; every error is one JSON object, Error, whose
// code a client maps back to the library's sentinel errors. Every list
// answers a Page: items, and the cursor of the next page (also sent as a
// Link header), taken with ?cursor=; ?limit= bounds the page. A revision's
// packages are read from the cursor's path on, so a page costs what it
// holds, not the version; ?prefix= keeps the paths that start with it.
//
// # Authentication
//
// Every request needs a token, as "Authorization: Bearer TOKEN" or as the
// password of HTTP Basic. Each operation checks the token's scopes on the
// resources it touches; changes are recorded in the reflog under the
// token's name. Failed authentications are rate-limited per client address.
//
// # Uploads
//
// Package files reach the store in chunks: POST /uploads opens an upload,
// PUT /uploads/{id} with Content-Range appends at the offset the server
// reports (GET or HEAD /uploads/{id}), so a client resumes after a dropped
// connection; POST /uploads/{id}/finish checks the sha256 and stores the
// blob. Bytes are streamed to a file, never held in memory. An upload may
// not pass the server's size limit (413), and a token may keep only so
// many open (429).
//
// A commit names blobs by sha256: each must be held by the repository's
// head already, or have been uploaded by the same token (by name) within
// the upload TTL. Sessions and that list live in the store (package
// uploads), so they survive a restart and every server of the store shares
// them. A token with *:*:admin may name any blob.
//
// # Server files
//
// A remote's password_file, ca_cert, client_cert and client_key name files
// on the server, which a sync reads and sends upstream: setting or
// changing them needs *:*:admin.
//
// # Specification
//
// The OpenAPI 3.0 document, built from the handlers' Go types, is served
// at /api/v1/openapi.json.
package server
