#!/usr/bin/env bash
# Sync memory benchmark: `pkgvc sync` of PROJECTS x FILES python files
# (default 20 000 x 10 = 200 000) with the on_demand policy, so no package
# bytes move and what is measured is the engine: reading the index,
# planning against the head, committing. The upstream is
# bench/simpleindex.go, which makes PEP 691 JSON pages on the fly (sha256, size
# and requires-python given, so no HEAD or metadata request is made).
# Prints wall time and peak RSS (goal <= 256 MiB at any size) of the first
# sync, of a no-change sync, and of a sync after one file in 10 changed.
# Run from the repository root: bash bench/syncmem.sh [PROJECTS] [FILES]
set -euo pipefail
NP=${1:-20000}
NF=${2:-10}
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install -y time)"; exit 1; }
T=$(mktemp -d -t syncmem.XXXXXX); PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$T"' EXIT
go build -o "$T/pkgvc" ./cmd/pkgvc
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
echo 0 >"$T/gen"
go build -o "$T/simpleindex" bench/simpleindex.go
"$T/simpleindex" "127.0.0.1:$port" "$NP" "$NF" "$T/gen" & PID=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/simple/" && break; sleep 0.1; done
P() { "$T/pkgvc" --store "$T/store" "$@"; }
P repo create py --kind python >/dev/null
P remote create up --kind python --policy on_demand --download-concurrency 8 --url "http://127.0.0.1:$port/simple/" >/dev/null
run() { /usr/bin/time -f "%e %M" -o "$T/time" "$T/pkgvc" --store "$T/store" --json sync up py >"$T/out"; read -r s k <"$T/time"; echo "$s s, peak RSS $((k / 1024)) MiB ($(python3 -c 'import json,sys;r=json.load(open(sys.argv[1]));print("added %d, updated %d, unchanged %d" % (r["added"], r["updated"], r["unchanged"]))' "$T/out"))"; }
echo "first sync of $NP x $NF on_demand files: $(run)"
echo "no-change sync:                        $(run)"
echo 1 >"$T/gen"
echo "sync with 1 in 10 files changed:       $(run)"
