// Package publish generates publications: the metadata a content kind
// needs beside its packages (the PEP 503 index of a python repository,
// PULP_MANIFEST of a file one), one Publisher per kind in publish/<kind>,
// cached per version. Distributions are in package dist, the HTTP content
// server in package content, checkout into a directory in package
// checkout.
package publish
