// Package content is the HTTP content server: it serves each
// distribution's packages and publications under its base path (with
// pull-through of on-demand content, directory listings and the home
// page), accepts the uploads of kinds whose publisher is an Uploader
// (twine's), exposes its metrics, and mounts the routes
// of publishers that have their own (the OCI registry).
package content
