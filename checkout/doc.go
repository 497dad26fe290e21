// Package checkout materializes the version a distribution serves as plain
// files in a directory, for any web server to serve, switching versions
// atomically (see Dist).
package checkout
