#!/usr/bin/env bash
# Registry-wide pull-through cache benchmark: pkgvc's namespace cache
# (`remote create hub --url UP` + `dist create hub --base-path hub --remote
# hub`) against Debian's docker-registry (distribution 2.8) configured as a
# pull-through cache (`proxy: remoteurl: UP`), both in front of the same
# upstream docker-registry on loopback, in the same run, pulled with crane.
# Prints, per cache and for a direct pull from the upstream (the floor):
#  - cold first pull of one image of LAYERS random layers, SIZE_MIB MiB;
#  - warm second pull of that image;
#  - first pull of a new small image once the cache holds N1, then N2 small
#    images (median of 3 new images each), and the warm `crane digest`
#    (manifest HEAD by tag, best of 5) at both sizes: the cost of a new
#    image should not grow with the number of images cached;
#  - the warm pull of the large image with the upstream stopped;
#  - peak RSS of `pkgvc serve` and of the docker-registry proxy over the run.
# Small images have one tiny random layer; a third have nested names
# (team/app/imgN). pkgvc re-checks a tag upstream once per --pull-through-ttl
# (default 5m); docker-registry's proxy asks the upstream on every tag read.
# A first pull through pkgvc includes content.PullWindow (200 ms), the wait
# that lets concurrent requests for an image share one upstream pull.
# Everything started is stopped by PID; the temp dir is removed.
# Run from the repository root: bash bench/ocicache.sh [SIZE_MIB] [LAYERS] [N1] [N2]
set -euo pipefail
SIZE=${1:-200}
LAYERS=${2:-5}
N1=${3:-10}
N2=${4:-100}
[ "$N1" -lt "$N2" ] || { echo "N1 ($N1) must be below N2 ($N2)"; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init ocicache "apt-get install -y docker-registry curl" docker-registry curl python3 go
findcrane
export DOCKER_CONFIG="$T/docker"; mkdir -p "$DOCKER_CONFIG"
cr() { timeout 600 "$CRANE" "$@" --insecure; }
timed() { local s; s=$(ms); "$@" >/dev/null 2>"$T/err" || { echo "FAIL: ${*:1:3}: $(tail -2 "$T/err")" >&2; exit 1; }; echo $(( $(ms) - s )); }
pull() { cr pull "$1" "$T/o.tar" && rm -f "$T/o.tar"; }
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
best() { printf '%s\n' "$@" | sort -n | head -1; }
start=$(ms)

go build -o "$T/pkgvc" ./cmd/pkgvc
P() { "$T/pkgvc" --store "$T/store" "$@"; }

# upstream docker-registry
up=$(freeport); UP=127.0.0.1:$up
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n' "$T/up" "$UP" >"$T/up.yml"
docker-registry serve "$T/up.yml" >"$T/up.log" 2>&1 & uppid=$!; PIDS+=($uppid)
waitport "$up"

# The large image: random (incompressible) layer tars.
per=$(( SIZE * 1024 * 1024 / LAYERS ))
fl=()
for i in $(seq "$LAYERS"); do
  mkdir -p "$T/l$i"; head -c "$per" /dev/urandom >"$T/l$i/data.bin"
  tar -C "$T/l$i" -cf "$T/l$i.tar" . && rm -rf "$T/l$i"
  fl+=(-f "$T/l$i.tar")
done
cr append --oci-empty-base "${fl[@]}" -t "$UP/bench/big:v1" >/dev/null 2>&1
rm -f "$T"/l*.tar

# The small images: N2 to fill the caches, and 3 new ones at each size.
small() { if [ $(( $1 % 3 )) -eq 0 ]; then echo "team/app/img$1"; else echo "small/img$1"; fi; }
NS=$(( N2 + 6 ))
mkdir -p "$T/s"
for i in $(seq "$NS"); do
  head -c 1024 /dev/urandom >"$T/s/r.bin"
  tar -C "$T/s" -cf "$T/s.tar" r.bin
  cr append -f "$T/s.tar" -t "$UP/$(small "$i"):1" >/dev/null 2>&1 || { echo "FAIL: seed $(small "$i")"; exit 1; }
done
rm -rf "$T/s" "$T/s.tar"
echo "upstream: bench/big:v1 ($LAYERS layers, $SIZE MiB) and $NS small images"

# docker-registry as a pull-through cache, under /usr/bin/time for its peak RSS
dp=$(freeport); DR=127.0.0.1:$dp
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\nproxy:\n  remoteurl: http://%s\n' "$T/dr" "$DR" "$UP" >"$T/dr.yml"
/usr/bin/time -f '%M' -o "$T/dr.rss" docker-registry serve "$T/dr.yml" >"$T/dr.log" 2>&1 & dtpid=$!; PIDS+=($dtpid)
waitport "$dp"
dpid=$(pgrep -P "$dtpid")

# pkgvc's namespace cache, under /usr/bin/time for its peak RSS
P remote create hub --kind container --url "http://$UP" >/dev/null
P dist create hub --base-path hub --remote hub >/dev/null
pp=$(freeport); PK=127.0.0.1:$pp
/usr/bin/time -f '%M' -o "$T/pk.rss" "$T/pkgvc" --store "$T/store" serve --listen "$PK" >"$T/serve.log" 2>&1 & ptpid=$!; PIDS+=($ptpid)
waitport "$pp"
ppid=$(pgrep -P "$ptpid")

# The three ways to one image: upstream, pkgvc, docker-registry.
ref() { case $1 in up) echo "$UP/$2";; pk) echo "$PK/hub/$2";; dr) echo "$DR/$2";; esac; }

declare -A R
R[up,cold]=$(timed pull "$(ref up bench/big:v1)")
R[up,warm]=$(timed pull "$(ref up bench/big:v1)")
for c in pk dr; do R[$c,cold]=$(timed pull "$(ref "$c" bench/big:v1)"); done
for c in pk dr; do R[$c,warm]=$(timed pull "$(ref "$c" bench/big:v1)"); done
want=$(cr digest "$(ref up bench/big:v1)")
for c in pk dr; do
  [ "$(cr digest "$(ref "$c" bench/big:v1)")" = "$want" ] || { echo "FAIL: $c digest of bench/big:v1 differs from upstream"; exit 1; }
done

# fill each cache to N small images, then time 3 new images and the warm digest
have=0; next=$(( N2 + 1 ))
measure() { # measure N: fills to N, times 3 new images and the warm digest
  local n=$1 c i t
  for c in pk dr; do
    for i in $(seq $(( have + 1 )) "$n"); do pull "$(ref "$c" "$(small "$i"):1")" >/dev/null 2>&1 || { echo "FAIL: fill $c $(small "$i")"; exit 1; }; done
  done
  have=$n
  for c in pk up dr; do
    t=()
    for i in $(seq "$next" $(( next + 2 ))); do t+=("$(timed pull "$(ref "$c" "$(small "$i"):1")")"); done
    R[$c,new$n]=$(median "${t[@]}")
    t=()
    for _ in 1 2 3 4 5; do t+=("$(timed cr digest "$(ref "$c" "$(small "$next"):1")")"); done
    R[$c,dig$n]=$(best "${t[@]}")
  done
  for i in $(seq "$next" $(( next + 2 ))); do
    [ "$(cr digest "$(ref pk "$(small "$i"):1")")" = "$(cr digest "$(ref up "$(small "$i"):1")")" ] || { echo "FAIL: pkgvc digest of $(small "$i") differs"; exit 1; }
  done
  next=$(( next + 3 ))
}
measure "$N1"
measure "$N2"
npk=$(P --json repo list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')

# upstream stopped: the large image again, warm
kill "$uppid"; wait "$uppid" 2>/dev/null || true
sleep 0.5
R[up,down]="-"
for c in pk dr; do
  s=$(ms)
  if pull "$(ref "$c" bench/big:v1)" >/dev/null 2>"$T/err.$c"; then R[$c,down]=$(( $(ms) - s )); else R[$c,down]="fails"; fi
done

kill -TERM "$ppid" "$dpid"; wait "$ptpid" "$dtpid" 2>/dev/null || true
row() { printf '%-44s %10s %10s %16s\n' "$@"; }
echo
row "wall ms (crane)" "upstream" "pkgvc" "docker-registry"
row "cold pull, $SIZE MiB in $LAYERS layers" "${R[up,cold]}" "${R[pk,cold]}" "${R[dr,cold]}"
row "warm pull, same image" "${R[up,warm]}" "${R[pk,warm]}" "${R[dr,warm]}"
for n in "$N1" "$N2"; do
  row "new small image, $n cached (median of 3)" "${R[up,new$n]}" "${R[pk,new$n]}" "${R[dr,new$n]}"
  row "warm digest, $n cached (best of 5)" "${R[up,dig$n]}" "${R[pk,dig$n]}" "${R[dr,dig$n]}"
done
row "warm pull, upstream stopped" "${R[up,down]}" "${R[pk,down]}" "${R[dr,down]}"
row "peak RSS MiB" "" "$(( $(tail -1 "$T/pk.rss") / 1024 ))" "$(( $(tail -1 "$T/dr.rss") / 1024 ))"
echo "pkgvc repositories: $npk (one per image pulled through it); digests equal to upstream"
[ "${R[dr,down]}" = fails ] && echo "docker-registry, upstream stopped: $(tail -1 "$T/err.dr")"
echo "total $(( ($(ms) - start) / 1000 )) s"
