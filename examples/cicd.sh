#!/usr/bin/env bash
# The dev -> test -> prod flow on the default local store (./pkgvc-data, or
# $PKGVC_STORE): commit packages, compare versions, promote, patch, roll back.
# Run from the repository root: bash examples/cicd.sh (again and again: each
# run leaves dev, test and prod ready for the next). $PKGVC_BIN names a built
# pkgvc to run instead of `go run ./cmd/pkgvc`.
set -euo pipefail
if [ -n "${PKGVC_BIN:-}" ]; then pkgvc() { "$PKGVC_BIN" "$@"; }; else pkgvc() { go run ./cmd/pkgvc "$@"; }; fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

for r in dev test prod; do pkgvc repo show "$r" >/dev/null 2>&1 || pkgvc repo create "$r"; done

mkdir -p "$work/dist/libs"
echo "app 1.0 $(date +%s%N)" >"$work/dist/app-1.0.tar.gz"
echo "lib 2.1" >"$work/dist/libs/lib-2.1.tar.gz"
pkgvc commit dev --add "$work/dist" -m "build $(date -u +%FT%TZ)"
pkgvc promote dev test                       # QE tests what dev built
echo "app 1.0.1 $(date +%s%N)" >"$work/app-1.0.1.tar.gz"
pkgvc commit dev --add "$work/app-1.0.1.tar.gz" --remove app-1.0.tar.gz -m "patch"
pkgvc diff test dev                          # what the next promotion moves
pkgvc promote dev:test test:prod             # atomic: prod gets what test had
pkgvc log prod
pkgvc ls prod
pkgvc rollback test 'test~1'                 # back out the patch on test
pkgvc reflog test
# test now has a version dev lacks (the rollback), so dev no longer
# fast-forwards it: promote refuses and says what differs.
pkgvc promote dev test || true
# The fix is built on dev; test takes it, knowingly discarding the rollback
# version (the reflog keeps it).
echo "app 1.0.2 $(date +%s%N)" >"$work/app-1.0.2.tar.gz"
pkgvc commit dev --add "$work/app-1.0.2.tar.gz" --remove app-1.0.1.tar.gz -m "fix"
pkgvc promote --force dev test
pkgvc fsck
