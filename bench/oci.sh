#!/usr/bin/env bash
# Container registry benchmark: one image of LAYERS random layers totalling
# SIZE_MIB MiB (default 10 layers, 500 MiB), pushed and pulled with crane,
# against `pkgvc serve` and against Debian's docker-registry (distribution
# 2.8) on the same machine in the same run. Prints the wall time of each
# push and pull, the time and peak RSS of `pkgvc sync` of the image from
# docker-registry, and the peak RSS of `pkgvc serve` over the whole run
# (goal <= 128 MiB).
# Everything started is stopped by PID; the temp dir is removed.
# Run from the repository root: bash bench/oci.sh [SIZE_MIB] [LAYERS]
set -euo pipefail
SIZE=${1:-500}
LAYERS=${2:-10}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init oci "apt-get install -y docker-registry curl" docker-registry curl python3 go
findcrane
export DOCKER_CONFIG="$T/docker"; mkdir -p "$DOCKER_CONFIG"
cr() { "$CRANE" "$@" --insecure; }
timed() { local s; s=$(ms); "$@" >/dev/null 2>"$T/err" || { echo "FAIL: ${*:1:3}: $(tail -2 "$T/err")"; exit 1; }; echo $(( $(ms) - s )); }
mibs() { python3 -c "import sys; print('%.0f' % ($SIZE * 1000 / max(int(sys.argv[1]), 1)))" "$1"; }

go build -o "$T/pkgvc" ./cmd/pkgvc
P() { "$T/pkgvc" --store "$T/store" "$@"; }

# The image: random (incompressible) layer tars, gzipped once into an
# image tarball that both registries receive unchanged.
per=$(( SIZE * 1024 * 1024 / LAYERS ))
fl=()
for i in $(seq "$LAYERS"); do
  mkdir -p "$T/l$i"; head -c "$per" /dev/urandom >"$T/l$i/data.bin"
  tar -C "$T/l$i" -cf "$T/l$i.tar" . && rm -rf "$T/l$i"
  fl+=(-f "$T/l$i.tar")
done
"$CRANE" append --oci-empty-base "${fl[@]}" -t bench/img:v1 -o "$T/img.tar" >/dev/null 2>&1
rm -f "$T"/l*.tar
echo "image: $LAYERS layers, $(( $(stat -c %s "$T/img.tar") / 1048576 )) MiB"

# docker-registry
up=$(freeport)
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:%s\n' "$T/up" "$up" >"$T/up.yml"
docker-registry serve "$T/up.yml" >"$T/up.log" 2>&1 & PIDS+=($!)
waitport "$up"

# pkgvc serve, under /usr/bin/time for its peak RSS
P repo create img --kind container >/dev/null
P repo create mirror --kind container >/dev/null
P dist create img --base-path bench/img --repo img >/dev/null
tok=$(P --json token create --name bench --scope '*:*:admin' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
port=$(freeport)
/usr/bin/time -f '%M' -o "$T/serve.rss" "$T/pkgvc" --store "$T/store" serve --listen "127.0.0.1:$port" >"$T/serve.log" 2>&1 & tpid=$!
waitport "$port"
spid=$(pgrep -P "$tpid")
echo "$tok" | cr auth login "127.0.0.1:$port" -u bench --password-stdin >/dev/null 2>&1

pu_up=$(timed cr push "$T/img.tar" "127.0.0.1:$up/bench/img:v1")
pu_pk=$(timed cr push "$T/img.tar" "127.0.0.1:$port/bench/img:v1")
pl_up=$(timed cr pull "127.0.0.1:$up/bench/img:v1" "$T/o1.tar"); rm -f "$T/o1.tar"
pl_pk=$(timed cr pull "127.0.0.1:$port/bench/img:v1" "$T/o2.tar"); rm -f "$T/o2.tar"
[ "$(cr digest "127.0.0.1:$up/bench/img:v1")" = "$(cr digest "127.0.0.1:$port/bench/img:v1")" ] || { echo "FAIL: digests differ"; exit 1; }

# sync of the same image from docker-registry (a second store: the first
# is held by serve)
"$T/pkgvc" --store "$T/store2" repo create mirror --kind container >/dev/null
"$T/pkgvc" --store "$T/store2" remote create up --kind container --url "http://127.0.0.1:$up" --upstream-name bench/img >/dev/null
s=$(ms); /usr/bin/time -f '%M' -o "$T/sync.rss" "$T/pkgvc" --store "$T/store2" sync up mirror >/dev/null; sy=$(( $(ms) - s ))
s=$(ms); "$T/pkgvc" --store "$T/store2" sync up mirror >/dev/null; sy2=$(( $(ms) - s ))

kill -TERM "$spid"; wait "$tpid" 2>/dev/null || true
printf '%-28s %8s %8s\n' "" "ms" "MiB/s"
printf '%-28s %8s %8s\n' "push to docker-registry" "$pu_up" "$(mibs "$pu_up")"
printf '%-28s %8s %8s\n' "push to pkgvc" "$pu_pk" "$(mibs "$pu_pk")"
printf '%-28s %8s %8s\n' "pull from docker-registry" "$pl_up" "$(mibs "$pl_up")"
printf '%-28s %8s %8s\n' "pull from pkgvc" "$pl_pk" "$(mibs "$pl_pk")"
printf '%-28s %8s %8s\n' "pkgvc sync (first)" "$sy" "$(mibs "$sy")"
printf '%-28s %8s\n' "pkgvc sync (no change)" "$sy2"
echo "peak RSS: pkgvc serve $(( $(tail -1 "$T/serve.rss") / 1024 )) MiB (goal <= 128), pkgvc sync $(( $(tail -1 "$T/sync.rss") / 1024 )) MiB"
echo "push ratio pkgvc/docker-registry: $(python3 -c "print('%.2f' % ($pu_pk / max($pu_up, 1)))"), pull ratio: $(python3 -c "print('%.2f' % ($pl_pk / max($pl_up, 1)))")"
