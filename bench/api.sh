#!/usr/bin/env bash
# Prints the REST API's read latency (p50, p99 under wrk -t1 -c8) for
# GET /api/v1/revisions/dev/log?limit=100, GET /api/v1/diff?from=dev~99&to=dev,
# a page of 1000 packages in the middle of the version, and the reflog,
# on a repository of VERSIONS versions of N packages, with a Bearer token,
# and the peak RSS of serve over the run.
# Run from the repository root: bash bench/api.sh [N] [VERSIONS] [SECONDS]
set -euo pipefail
N=${1:-100000}
VERSIONS=${2:-100}
D=${3:-5}
for c in wrk curl python3; do
  command -v "$c" >/dev/null || { echo "needs $c (apt-get install -y wrk curl)"; exit 1; }
done
T=$(mktemp -d -t api-bench.XXXXXX)
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
go build -o "$T/pkgvc" ./cmd/pkgvc
P() { "$T/pkgvc" --store "$T/store" "$@"; }
freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# bench/scale leaves dev with a few versions of N records; small commits
# bring it to VERSIONS.
go run ./bench/scale -n "$N" -store "$T/store" -keep >/dev/null
have=$(P --json log dev | python3 -c 'import json,sys;print(len(json.load(sys.stdin)))')
for i in $(seq "$have" $((VERSIONS - 1))); do
  echo "$i" >"$T/v.txt"
  P commit dev --add "$T/v.txt=v/$i.txt" -m "v$i" >/dev/null
done
# a cursor (base64url of a path) halfway through the version
mid=$(P --json ls dev | python3 -c 'import base64,json,sys; d=json.load(sys.stdin); print(base64.urlsafe_b64encode(d[len(d)//2]["path"].encode()).decode().rstrip("="))')
TOK=$(P --json token create --name bench --scope '*:*:read' | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])')

port=$(freeport)
/usr/bin/time -f '%M' -o "$T/serve.rss" "$T/pkgvc" --store "$T/store" serve --listen "127.0.0.1:$port" --access-log /dev/null >"$T/serve.log" 2>&1 & PID=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
S="http://127.0.0.1:$port/api/v1"
for path in "revisions/dev/log?limit=100" "diff?from=dev~$((VERSIONS - 1))&to=dev" "revisions/dev/packages?limit=1000&cursor=$mid" "repositories/dev/reflog?limit=100"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK" "$S/$path")
  [ "$code" = 200 ] || { echo "GET $path: $code"; exit 1; }
  wrk -t1 -c8 -d"${D}s" --latency -H "Authorization: Bearer $TOK" "$S/$path" >"$T/wrk.txt"
  p50=$(awk '$1=="50%"{print $2}' "$T/wrk.txt")
  p99=$(awk '$1=="99%"{print $2}' "$T/wrk.txt")
  rps=$(awk '/Requests\/sec/{print $2}' "$T/wrk.txt")
  echo "GET /api/v1/${path%%&cursor=*} ($N packages, $VERSIONS versions): p50 $p50 p99 $p99 ($rps req/s)"
done
kill -TERM "$(pgrep -P "$PID")" 2>/dev/null; wait "$PID" 2>/dev/null || true; PID=
echo "peak RSS of serve: $(( $(tail -1 "$T/serve.rss") / 1024 )) MiB"
