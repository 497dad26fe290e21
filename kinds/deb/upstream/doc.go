// Package upstream is the "deb" upstream kind: it syncs apt repositories.
//
// A remote names the archive's URL, a suite, and optionally components,
// architectures and packages. A sync reads dists/<suite>/InRelease (else
// Release and Release.gpg) and verifies its OpenPGP signature with the
// remote's keyring, then each Packages index it reads (.xz, .gz, .bz2 or
// plain, the best the Release lists) against the Release's SHA256 and
// size before parsing it. Each selected .deb is recorded at its pool
// path (deb.PoolPath), with the stanza's control fields as metadata, and
// fetched (or recorded on demand) with the stanza's SHA256 and size.
// --with-deps adds the dependency closure of the selection within the
// suite, as aptly's -filter-with-deps does.
package upstream
