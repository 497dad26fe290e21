// Package client is api.Service over the REST API of a `pkgvc serve`
// (package api/server): the CLI's remote mode.
//
// Requests and responses use api/wire's types, as the server does, so client and server
// cannot disagree on a field. Errors wrap the library's sentinels
// (repo.ErrNotFound, auth.ErrForbidden, ...) by the code the server sends,
// so errors.Is works as with a local store. Files committed with Adds are
// uploaded in chunks that resume from the server's offset after a dropped
// connection; syncs, gc and fsck run as server tasks the client waits for.
package client
