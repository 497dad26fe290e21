#!/usr/bin/env bash
# Prints pkgvc's benchmark table: library figures at N records (default 1 M),
# the same operations end to end through the CLI on that store, and ingest of
# 1 GiB of incompressible files against sha256sum and openssl on the same
# files. Run from the repository root: bash bench/run.sh [N]
set -euo pipefail
N=${1:-1000000}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
go build -o "$T/pkgvc" ./cmd/pkgvc
go build -o "$T/scale" ./bench/scale
ms() { date +%s%3N; }
rss() { /usr/bin/time -f %M -o "$T/rss" "$@" >/dev/null; cat "$T/rss"; }

echo "## library, $N records (peak RSS of the whole run below)"
/usr/bin/time -f "# peak RSS %M KiB, wall %e s" -o "$T/scale.rss" "$T/scale" -n "$N" -store "$T/store" -keep
cat "$T/scale.rss"

echo; echo "## CLI end to end on that store (process start included, best of 3)"
P() { "$T/pkgvc" --store "$T/store" "$@"; }
best() { local b=999999 s e; for i in 1 2 3; do s=$(ms); "$@" "$i" >/dev/null; e=$(ms); [ $((e-s)) -lt $b ] && b=$((e-s)); done; echo "$b"; }
one() { echo "cli $1 $RANDOM" >"$T/one.txt"; P commit dev --add "$T/one.txt=cli/one-$1-$RANDOM.txt" -m one; }
diffc() { P diff dev~1 dev; }
# promote: reset prod one version back (untimed), then time the fast-forward
bestprom() { local b=999999 s e; for i in 1 2 3; do P promote 'dev~1' prod --force >/dev/null; s=$(ms); P promote dev prod >/dev/null; e=$(ms); [ $((e-s)) -lt $b ] && b=$((e-s)); done; echo "$b"; }
printf "%-44s %8s ms\n" "commit 1 file (pkgvc commit --add)" "$(best one)"
printf "%-44s %8s ms\n" "diff dev~1 dev" "$(best diffc)"
printf "%-44s %8s ms\n" "promote dev prod (fast-forward)" "$(bestprom)"
printf "%-44s %8s ms\n" "log -n 1 dev" "$(best sh -c "\"$T/pkgvc\" --store \"$T/store\" log -n 1 dev; :")"

echo; echo "## ingest of 1 GiB of incompressible files (16 x 64 MiB), same files, same run"
rm -rf "$T/store"; mkdir -p "$T/in"
for i in $(seq 1 16); do head -c 67108864 /dev/urandom >"$T/in/f$i.bin"; done
cat "$T"/in/*.bin >/dev/null
s=$(ms); sha256sum "$T"/in/*.bin >/dev/null; hs=$(( $(ms) - s ))
s=$(ms); openssl dgst -sha256 "$T"/in/*.bin >/dev/null; ho=$(( $(ms) - s ))
P repo create r >/dev/null
s=$(ms); r=$(rss "$T/pkgvc" --store "$T/store" commit r --add "$T/in" -m ingest); c=$(( $(ms) - s ))
printf "%-20s %8s MiB/s\n" sha256sum $(( 1024*1000/hs )) openssl $(( 1024*1000/ho )) "pkgvc commit" $(( 1024*1000/c ))
python3 -c "print('pkgvc / sha256sum = %.2f, pkgvc / openssl = %.2f, peak RSS %d KiB' % ($hs/$c, $ho/$c, $r))"
