#!/usr/bin/env bash
# Python sync/serve benchmark. Generates a static PEP 503 index of PROJECTS
# projects x FILES_PER_PROJECT minimal valid wheels (HTML pages with
# #sha256= links, no sizes, so the remote asks nginx with HEAD), serves it
# with nginx on a free loopback port and prints:
#   - the first `pkgvc sync` (default immediate policy): wall time, files/s,
#     peak RSS (goal <= 256 MiB)
#   - a no-change sync: wall time (goal <= 2 s) and whether a version was made
#   - /simple/<project>/ req/s, `pkgvc serve` vs nginx on `pkgvc checkout` of
#     the same distribution, wrk -t1 -c16 -d5s rotating over 200 project
#     pages, best of 2 each (goal ratio >= 0.8)
# Everything started is stopped by PID; the temp dir is removed.
# Run from the repository root: bash bench/python.sh [PROJECTS] [FILES_PER_PROJECT]
set -euo pipefail
NP=${1:-5000}
NF=${2:-10}
D=${D:-5}
ROUNDS=${ROUNDS:-2}
for c in wrk nginx curl python3 go; do
  command -v "$c" >/dev/null || { echo "needs $c (apt-get install -y wrk nginx curl)"; exit 1; }
done
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install -y time)"; exit 1; }
T=$(mktemp -d -t python-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT
chmod 755 "$T"
go build -o "$T/pkgvc" ./cmd/pkgvc
P() { "$T/pkgvc" --store "$T/store" "$@"; }
freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
waitport() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; return 1; }
ngx() { # ngx DIR PORT SERVER-DIRECTIVES: starts nginx (worker_processes auto, as serve.sh)
  mkdir -p "$1"
  cat >"$1/nginx.conf" <<NGX
daemon off; user root; worker_processes auto; error_log $1/err.log; pid $1/nginx.pid;
events { worker_connections 1024; }
http { access_log off; sendfile on; keepalive_requests 1000000;
  types { text/html html; } default_type application/octet-stream;
  client_body_temp_path $1; proxy_temp_path $1; fastcgi_temp_path $1; uwsgi_temp_path $1; scgi_temp_path $1;
  server { listen 127.0.0.1:$2; $3 } }
NGX
  nginx -c "$1/nginx.conf" -p "$1" & PIDS+=($!)
  waitport "$2" || { echo "nginx did not start: $(tail -2 "$1/err.log")"; exit 1; }
}

# --- (1) the upstream index ------------------------------------------------
g0=$(date +%s%3N)
python3 - "$T/up" "$NP" "$NF" <<'PY'
import base64, hashlib, io, os, sys, zipfile
root, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(os.path.join(root, "packages"))
b64 = lambda b: base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
links = []
for i in range(n):
    name = "p%d" % i
    rows = []
    for j in range(k):
        ver = "1.%d" % j
        di = "%s-%s.dist-info" % (name, ver)
        files = {
            "%s/__init__.py" % name: ("VERSION = %r\n" % ver).encode(),
            di + "/METADATA": ("Metadata-Version: 2.1\nName: %s\nVersion: %s\nRequires-Python: >=3.7\n\n" % (name, ver)).encode(),
            di + "/WHEEL": b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        }
        rec = ["%s,sha256=%s,%d" % (p, b64(c), len(c)) for p, c in files.items()] + [di + "/RECORD,,"]
        files[di + "/RECORD"] = ("\n".join(rec) + "\n").encode()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            for p, c in files.items():
                z.writestr(zipfile.ZipInfo(p, (2020, 1, 1, 0, 0, 0)), c)
        data = buf.getvalue()
        fn = "%s-%s-py3-none-any.whl" % (name, ver)
        with open(os.path.join(root, "packages", fn), "wb") as f:
            f.write(data)
        rows.append('<a href="../../packages/%s#sha256=%s" data-requires-python="&gt;=3.7">%s</a><br/>'
                    % (fn, hashlib.sha256(data).hexdigest(), fn))
    os.makedirs(os.path.join(root, "simple", name))
    with open(os.path.join(root, "simple", name, "index.html"), "w") as f:
        f.write("<!DOCTYPE html>\n<html><body>\n%s\n</body></html>\n" % "\n".join(rows))
    links.append('<a href="%s/">%s</a><br/>' % (name, name))
with open(os.path.join(root, "simple", "index.html"), "w") as f:
    f.write("<!DOCTYPE html>\n<html><body>\n%s\n</body></html>\n" % "\n".join(links))
PY
gen_ms=$(( $(date +%s%3N) - g0 ))
N=$((NP * NF))
up=$(freeport)
ngx "$T/ngx-up" "$up" "root $T/up;"
curl -sfI "http://127.0.0.1:$up/packages/p0-1.0-py3-none-any.whl" | grep -qi '^content-length' || { echo "upstream HEAD gives no Content-Length"; exit 1; }

# --- (2) first sync, (3) no-change sync -----------------------------------
P repo create py --kind python >/dev/null
P remote create up --kind python --url "http://127.0.0.1:$up/simple/" >/dev/null
nver() { P --json log py | python3 -c 'import json,sys;print(len(json.load(sys.stdin)))'; }
run() { # run LABEL: timed sync; sets S (seconds) and K (peak RSS KiB)
  if ! /usr/bin/time -f "%e %M" -o "$T/time" "$T/pkgvc" --store "$T/store" sync up py >"$T/sync-$1.out" 2>&1; then
    echo "sync ($1) failed: $(tail -5 "$T/sync-$1.out")"; exit 1
  fi
  read -r S K < <(tail -1 "$T/time")
}
run first; s1=$S; k1=$K
v1=$(nver)
stored=$(P --json ls py | python3 -c 'import json,sys;d=json.load(sys.stdin);d=d if isinstance(d,list) else d.get("entries",d.get("files",[]));print(sum(1 for e in d if ".whl" in json.dumps(e)))' 2>/dev/null || echo "?")
run again; s2=$S; k2=$K
v2=$(nver)

# --- (4) /simple/<project>/ : pkgvc serve vs nginx on a checkout ------------
P dist create d --base-path d --repo py >/dev/null
P checkout d "$T/co" >"$T/checkout.out" 2>&1 || { echo "checkout failed: $(tail -3 "$T/checkout.out")"; exit 1; }
pp=$(freeport)
"$T/pkgvc" --store "$T/store" serve --listen "127.0.0.1:$pp" >"$T/serve.log" 2>&1 & PIDS+=($!)
waitport "$pp" || { echo "pkgvc serve did not start: $(tail -2 "$T/serve.log")"; exit 1; }
np=$(freeport)
ngx "$T/ngx-co" "$np" "location /content/d/ { alias $T/co/; index index.html; }"
W=$(( NP < 200 ? NP : 200 ))
for port in "$pp" "$np"; do # checks both answer 200 with the project's links; warms pkgvc
  for i in $(seq 0 $((W - 1))); do
    curl -sf "http://127.0.0.1:$port/content/d/simple/p$i/" >"$T/page" || { echo "port $port: GET /content/d/simple/p$i/ failed"; exit 1; }
  done
  c=$(grep -o "p$((W - 1))-1\.[0-9]*-py3-none-any\.whl#sha256=" "$T/page" | sort -u | wc -l)
  [ "$c" -eq "$NF" ] || { echo "port $port: /simple/p$((W - 1))/ lists $c of $NF files"; exit 1; }
done
cat >"$T/rot.lua" <<LUA
local i = 0
request = function() i = (i + 1) % $W; return wrk.format("GET", "/content/d/simple/p" .. i .. "/") end
LUA
rps() {
  wrk -t1 -c16 -d"${D}s" -s "$T/rot.lua" "http://127.0.0.1:$1" >"$T/wrk.out" 2>&1
  grep -q 'Non-2xx' "$T/wrk.out" && { echo 0; return; }
  awk '/Requests\/sec/{print int($2)}' "$T/wrk.out"
}
a=0; b=0
for _ in $(seq "$ROUNDS"); do
  v=$(rps "$pp"); [ "$v" -gt "$a" ] && a=$v
  v=$(rps "$np"); [ "$v" -gt "$b" ] && b=$v
done

f2() { python3 -c "print('%.${3:-2}f' % ($1/max($2,1e-9)))"; }
ok() { python3 -c "print('ok' if $1 else 'MISSED')"; }
echo "## python: $NP projects x $NF wheels = $N files ($(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); index generated in ${gen_ms} ms)"
printf "%-44s %16s %8s\n" "" value goal
printf "%-44s %16s %8s\n" "first sync: wall (s)" "$s1" ""
printf "%-44s %16s %8s\n" "first sync: files/s" "$(f2 "$N" "$s1" 0)" ""
printf "%-44s %16s %8s\n" "first sync: peak RSS (MiB)" "$((k1 / 1024))" "<=256 $(ok "$k1 <= 256*1024")"
printf "%-44s %16s %8s\n" "first sync: wheels in head version" "$stored" "$N"
printf "%-44s %16s %8s\n" "no-change sync: wall (s)" "$s2" "<=2 $(ok "$s2 <= 2")"
printf "%-44s %16s %8s\n" "no-change sync: peak RSS (MiB)" "$((k2 / 1024))" ""
printf "%-44s %16s %8s\n" "no-change sync: versions before -> after" "$v1 -> $v2" "$( [ "$v1" = "$v2" ] && echo ok || echo MISSED)"
printf "%-44s %16s %8s\n" "/simple/<p>/ x$W, wrk -c16: pkgvc (req/s)" "$a" ""
printf "%-44s %16s %8s\n" "/simple/<p>/ x$W, wrk -c16: nginx (req/s)" "$b" ""
printf "%-44s %16s %8s\n" "/simple/<p>/ pkgvc / nginx" "$(f2 "$a" "$b")" ">=0.8 $(ok "$a >= 0.8*$b")"
