#!/usr/bin/env bash
# Sync benchmark: `pkgvc sync` of N small files (default 10 000 x 1 KiB)
# from a local python3 http.server upstream with a PULP_MANIFEST. Prints
# wall time and peak RSS of the first sync, of a no-change sync, and the
# time plain curl (8 at once, like --download-concurrency 8) takes to GET
# the same files, which is what the upstream allows.
# Run from the repository root: bash bench/sync.sh [N]
set -euo pipefail
N=${1:-10000}
T=$(mktemp -d); PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$T"' EXIT
go build -o "$T/pkgvc" ./cmd/pkgvc
python3 - "$T/up" "$N" <<'PY'
import hashlib, os, sys
root, n = sys.argv[1], int(sys.argv[2])
lines = []
for i in range(n):
    p = "d%03d/f%06d.bin" % (i % 100, i)
    d = os.urandom(1024)
    os.makedirs(os.path.join(root, os.path.dirname(p)), exist_ok=True)
    with open(os.path.join(root, p), "wb") as f:
        f.write(d)
    lines.append("%s,%s,%d" % (p, hashlib.sha256(d).hexdigest(), len(d)))
with open(os.path.join(root, "PULP_MANIFEST"), "w") as f:
    f.write("\n".join(lines) + "\n")
PY
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
(cd "$T/up" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) & PID=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
P() { "$T/pkgvc" --store "$T/store" "$@"; }
P repo create mirror >/dev/null
P remote create up --url "http://127.0.0.1:$port/PULP_MANIFEST" --download-concurrency 8 >/dev/null
run() { /usr/bin/time -f "%e %M" -o "$T/time" "$T/pkgvc" --store "$T/store" "$@" >/dev/null; read -r s k <"$T/time"; echo "$s s, peak RSS $((k / 1024)) MiB"; }
echo "sync of $N files x 1 KiB:   $(run sync up mirror)"
echo "no-change sync:             $(run sync up mirror)"
s=$(date +%s%3N)
cut -d, -f1 "$T/up/PULP_MANIFEST" | sed "s|^|url = http://127.0.0.1:$port/|" | split -n r/8 - "$T/curl."
C=(); for f in "$T"/curl.*; do curl -s -K "$f" >/dev/null & C+=($!); done; wait "${C[@]}"
echo "curl, 8 at once, same files: $(( ($(date +%s%3N) - s) ))ms"
