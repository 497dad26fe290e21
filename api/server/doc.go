// Package server exposes an api.Service over HTTP as the pkgvc REST API,
// under /api/v1/.
//
// # Resources
//
// repositories, revisions (log, packages, package bytes), diff, promote,
// distributions, remotes (with a sync action), tasks, schedules, tokens and
// uploads. Bodies are JSON; every error is one JSON object, Error, whose
// code a client maps back to the library's sentinel errors. Every list
// answers a Page: items, and the cursor of the next page (also sent as a
// Link header), taken with ?cursor=; ?limit= bounds the page.
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
// blob. Bytes are streamed to a file, never held in memory.
//
// # Specification
//
// The OpenAPI 3.0 document, built from the handlers' Go types, is served
// at /api/v1/openapi.json.
package server
