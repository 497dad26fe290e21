// Package pypi is the "python" upstream kind: a Python package index's
// Simple Repository API (PyPI, devpi, another pkgvc, a static tree of
// PEP 503 pages), as in Pulp's python plugin.
//
// # Index
//
// The remote's URL is the index's root ("https://pypi.org/simple/"). With
// no Options.Projects, every project the root page lists is synced;
// otherwise the projects named, each with an optional PEP 440 specifier
// set ("django>=4.2,<5"). Pages are asked for as PEP 691 JSON and read as
// PEP 503 HTML when the index answers with HTML (see
// internal/format/simplepage).
//
// # Filters
//
// For each project, in order: files that are neither wheels nor sdists
// (.tar.gz, .zip), or whose name is not the project's, are skipped;
// versions outside the specifier set are dropped; pre- and dev-releases
// are dropped unless Options.Prerelease is set or the project's specifier
// names one; yanked files are dropped unless the specifier pins their
// version with "=="; wheels whose platform tag matches none of
// Options.Platforms are dropped (sdists and "any" wheels stay); then only
// the Options.Latest newest versions are kept.
//
// # Trust
//
// Every file must carry a sha256 (the "#sha256=" fragment or "hashes"):
// pkgvc verifies every byte it stores, so a file without one makes the
// sync fail. A file's URL must be http(s) on the index's host or on a
// host in Options.AllowHosts (PyPI's files are on files.pythonhosted.org);
// any other link fails the sync, naming the file. Pages over
// simplepage.MaxPageSize and indexes of more than MaxProjects projects
// are refused.
//
// # Paths and metadata
//
// A file goes to "packages/NAME/FILENAME", NAME the PEP 503 normalized
// project name. Its record metadata is taken from the index, as the
// python content kind (repo/kinds/python) names it: name, version,
// filename, packagetype, requires_python, yanked, yanked_reason,
// upload_time and metadata_sha256 when the index gives them. Records
// committed by digest are not inspected, so this is what the publication
// serves, with the on_demand policy as with immediate.
package upstream
