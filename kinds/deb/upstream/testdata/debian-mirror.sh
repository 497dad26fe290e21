#!/usr/bin/env bash
# Runs the opt-in test that syncs from the Debian archive this machine's apt
# uses: the first "deb" source of /etc/apt/sources.list(.d) gives the mirror
# URL and suite, passed to the test in PKGVC_TEST_DEBIAN_MIRROR and
# PKGVC_TEST_DEBIAN_SUITE. Run from anywhere inside the checkout.
set -eu
first_source() {
  local f
  # one-line style: deb [options] URL SUITE COMPONENT...
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && sed -E 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && $2 ~ /^https?:/ { print $2, $3 }'
  done
  # deb822 style: Types / URIs / Suites paragraphs
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && awk 'BEGIN { RS = ""; FS = "\n" }
      { t = u = s = ""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^Types:/) t = $i; if ($i ~ /^URIs:/) u = $i; if ($i ~ /^Suites:/) s = $i }
        if (t ~ /[ \t]deb([ \t]|$)/ && u ~ /https?:/) { split(u, U, /[ \t]+/); split(s, S, /[ \t]+/); print U[2], S[2] } }' "$f"
  done
  return 0
}
read -r url suite < <(first_source | head -1) || true
[ -n "${url:-}" ] && [ -n "${suite:-}" ] || { echo "no deb source with an http(s) URL in /etc/apt/sources.list(.d)" >&2; exit 1; }
export PKGVC_TEST_DEBIAN_MIRROR="$url" PKGVC_TEST_DEBIAN_SUITE="$suite"
cd "$(dirname "$0")/.."
exec go test -tags debianmirror -count=1 -run 'TestDebianMirror' -v . "$@"
