#!/usr/bin/env bash
# The dev -> test -> prod flow on the default local store (./pkgvc-data, or
# $PKGVC_STORE): commit packages, compare versions, promote, patch, roll back.
# Run from the repository root: bash examples/cicd.sh
set -euo pipefail
pkgvc() { go run ./cmd/pkgvc "$@"; }
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
pkgvc rollback test 'test~1' || true         # back out the patch on test
pkgvc reflog test
pkgvc fsck
