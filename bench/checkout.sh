#!/usr/bin/env bash
# Checkout benchmark: `pkgvc checkout` of a distribution of N files (default
# 100 000), then an incremental checkout after a 10-file change. Prints both
# wall times (process start included) and their ratio; the goal is >= 100.
# The same two checkouts through `pkgvc serve` on loopback (--server, a
# token with only the distribution's read scope) are timed beside them.
# Run from the repository root: bash bench/checkout.sh [N]
set -euo pipefail
N=${1:-100000}
T=$(mktemp -d); PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
go build -o "$T/pkgvc" ./cmd/pkgvc
P() { "$T/pkgvc" --store "$T/store" "$@"; }
ms() { date +%s%N | cut -b1-13; }

# N files of 200-700 random bytes in 1000 directories, half of them text
# (stored compressed, so checkout decompresses them), half binary (stored
# raw, hard-linked).
python3 - "$T/in" "$N" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(1)
for i in range(n):
    d = os.path.join(root, "d%03d" % (i % 1000))
    os.makedirs(d, exist_ok=True)
    if i % 2:
        data = os.urandom(200 + rnd.randrange(500))
        name = "f%06d.bin" % i
    else:
        data = (("package %d " % i) * 60).encode()
        name = "f%06d.txt" % i
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
PY
P repo create r >/dev/null
s=$(ms); P commit r --add "$T/in" -m "$N files" >/dev/null; c=$(( $(ms) - s ))
P dist create d --base-path d --repo r >/dev/null
echo "commit of $N files: $c ms"

sync
s=$(ms); P checkout d "$T/www/d" >"$T/first.out"; first=$(( $(ms) - s ))
test "$(find -L "$T/www/d" -type f | wc -l)" -eq $(( N + 1 )) || { echo "FAIL: checkout holds other files"; exit 1; }

# The same through a server.
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"$T/pkgvc" --store "$T/store" serve --listen "127.0.0.1:$port" --access-log /dev/null >"$T/serve.log" 2>&1 & PID=$!
P --json token create --name bench --scope 'dist:d:read' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' >"$T/tok"
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
R() { "$T/pkgvc" --server "http://127.0.0.1:$port" --token-file "$T/tok" "$@"; }
s=$(ms); R checkout d "$T/remote/d" >/dev/null; rfirst=$(( $(ms) - s ))

# Change 10 files (5 text, 5 binary) in one commit.
adds=()
for i in 0 1 2 3 4 5 6 7 8 9; do
  k=$(( i * (N / 10) + i % 2 ))
  d=$(printf "d%03d" $(( k % 1000 )))
  if (( k % 2 )); then f=$(printf "f%06d.bin" "$k"); else f=$(printf "f%06d.txt" "$k"); fi
  head -c 300 /dev/urandom >"$T/new$i"
  adds+=(--add "$T/new$i=$d/$f")
done
P commit r "${adds[@]}" -m "10 changed" >/dev/null
sync
s=$(ms); P --json checkout d "$T/www/d" >"$T/second.json"; second=$(( $(ms) - s ))
s=$(ms); R checkout d "$T/remote/d" >/dev/null; rsecond=$(( $(ms) - s ))
diff -r "$T/www/d/" "$T/remote/d/" >/dev/null || { echo "FAIL: the checkout through the server differs"; exit 1; }
written=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['written'])" "$T/second.json")
cmp -s "$T/new3" "$T/www/d/$(printf "d%03d/f%06d.bin" $(( (3 * (N / 10) + 1) % 1000 )) $(( 3 * (N / 10) + 1 )))" || { echo "FAIL: incremental checkout missed a change"; exit 1; }

echo "first checkout of $N files:              $first ms ($(tail -1 "$T/first.out" | sed 's/.*: //'))"
echo "incremental checkout after 10 changes:   $second ms ($written files written)"
python3 -c "print('ratio first/incremental: %.0fx (goal >= 100x)' % ($first / max($second, 1)))"
echo "through the server (--server): first $rfirst ms, incremental $rsecond ms (files identical)"
