#!/usr/bin/env bash
# Prints `pkgvc serve` against nginx on the same content in one run: 4 KiB
# files rotating over 200 files (req/s, wrk -t1 -c16, as the acceptance check
# runs it) and one 100 MiB file (MiB/s, wrk -t1 -c4). nginx serves a checkout
# of the distribution (plain copies if checkout fails) with worker_processes
# auto; both write access logs. Best of ROUNDS alternating runs per figure.
# With openssl installed, the 4 KiB row is measured over TLS too (pkgvc
# --tls-cert against nginx ssl, same self-signed certificate).
# Run from the repository root: bash bench/serve.sh [SECONDS] [ROUNDS]
set -euo pipefail
D=${1:-5}
ROUNDS=${2:-2}
for c in wrk nginx curl python3; do
  command -v "$c" >/dev/null || { echo "needs $c (apt-get install -y wrk nginx curl)"; exit 1; }
done
T=$(mktemp -d -t serve-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
chmod 755 "$T"
go build -o "$T/pkgvc" ./cmd/pkgvc
P() { "$T/pkgvc" --store "$T/store" "$@"; }
freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
waitport() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; return 1; }

mkdir -p "$T/f"
for i in $(seq 0 199); do head -c 4096 /dev/urandom >"$T/f/f$i.bin"; done
head -c $((100 << 20)) /dev/urandom >"$T/f/big.bin"
P repo create r >/dev/null
P commit r --add "$T/f" >/dev/null
P dist create d --base-path d --repo r >/dev/null
P checkout d "$T/co" >/dev/null 2>&1 || { rm -rf "$T/co"; cp -r "$T/f" "$T/co"; }

pp=$(freeport)
"$T/pkgvc" --store "$T/store" serve --listen "127.0.0.1:$pp" --access-log "$T/pkgvc-access.log" >"$T/serve.log" 2>&1 & PIDS+=($!)
waitport "$pp" || { echo "pkgvc serve did not start: $(tail -2 "$T/serve.log")"; exit 1; }
np=$(freeport)
tp=""; ntp=""; tlsconf=""
if command -v openssl >/dev/null; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1
  tp=$(freeport); ntp=$(freeport)
  "$T/pkgvc" --store "$T/store" serve --listen "127.0.0.1:$tp" --tls-cert "$T/cert.pem" --tls-key "$T/key.pem" \
    --task-workers 0 --access-log "$T/pkgvc-tls-access.log" >"$T/serve-tls.log" 2>&1 & PIDS+=($!)
  tlsconf="server { listen 127.0.0.1:$ntp ssl; ssl_certificate $T/cert.pem; ssl_certificate_key $T/key.pem; location /content/d/ { alias $T/co/; } }"
fi
mkdir -p "$T/ngx"
cat >"$T/ngx/nginx.conf" <<NGX
daemon off; user root; worker_processes auto; error_log $T/ngx/err.log; pid $T/ngx/nginx.pid;
events { worker_connections 1024; }
http { access_log $T/ngx/access.log combined buffer=64k; client_body_temp_path $T/ngx; proxy_temp_path $T/ngx; fastcgi_temp_path $T/ngx; uwsgi_temp_path $T/ngx; scgi_temp_path $T/ngx;
  server { listen 127.0.0.1:$np; location /content/d/ { alias $T/co/; } } $tlsconf }
NGX
nginx -c "$T/ngx/nginx.conf" -p "$T/ngx" & PIDS+=($!)
waitport "$np" || { echo "nginx did not start"; exit 1; }
for port in "$pp" "$np"; do
  for f in f7.bin big.bin; do # also warms pkgvc's verification of each file
    curl -sf "http://127.0.0.1:$port/content/d/$f" | cmp -s - "$T/f/$f" || { echo "port $port serves other bytes for $f"; exit 1; }
  done
done
for i in $(seq 0 199); do curl -sf -o /dev/null "http://127.0.0.1:$pp/content/d/f$i.bin"; done

cat >"$T/rot.lua" <<'LUA'
local i = 0
request = function() i = (i + 1) % 200; return wrk.format("GET", "/content/d/f" .. i .. ".bin") end
LUA
rps() {
  wrk -t1 -c16 -d"${D}s" -s "$T/rot.lua" "${2:-http}://127.0.0.1:$1" >"$T/wrk.out" 2>&1
  grep -q 'Non-2xx' "$T/wrk.out" && { echo 0; return; }
  awk '/Requests\/sec/{print int($2)}' "$T/wrk.out"
}
mibs() {
  wrk -t1 -c4 -d"${D}s" "http://127.0.0.1:$1/content/d/big.bin" >"$T/wrk.out" 2>&1
  grep -q 'Non-2xx' "$T/wrk.out" && { echo 0; return; }
  awk '/Transfer\/sec/{v=$2; u=substr(v,length(v)-1); n=substr(v,1,length(v)-2);
    m=(u=="GB")?1024:(u=="MB")?1:(u=="KB")?1/1024:1/1048576; print int(n*m)}' "$T/wrk.out"
}
a=0; b=0; am=0; bm=0
for _ in $(seq "$ROUNDS"); do
  v=$(rps "$pp"); [ "$v" -gt "$a" ] && a=$v
  v=$(rps "$np"); [ "$v" -gt "$b" ] && b=$v
done
for _ in $(seq "$ROUNDS"); do
  v=$(mibs "$pp"); [ "$v" -gt "$am" ] && am=$v
  v=$(mibs "$np"); [ "$v" -gt "$bm" ] && bm=$v
done
at=0; bt=0
if [ -n "$tp" ]; then
  for port in "$tp" "$ntp"; do
    curl -sf --cacert "$T/cert.pem" "https://127.0.0.1:$port/content/d/f7.bin" | cmp -s - "$T/f/f7.bin" || { echo "TLS port $port serves other bytes"; exit 1; }
  done
  for _ in $(seq "$ROUNDS"); do
    v=$(rps "$tp" https); [ "$v" -gt "$at" ] && at=$v
    v=$(rps "$ntp" https); [ "$v" -gt "$bt" ] && bt=$v
  done
fi
ratio() { python3 -c "print('%.2f' % ($1/max($2,1)))"; }
echo "## pkgvc serve vs nginx ($(nproc) cores, ${D}s runs, best of $ROUNDS; load $(cut -d' ' -f1-3 /proc/loadavg))"
printf "%-34s %10s %10s %7s\n" "" pkgvc nginx ratio
printf "%-34s %10s %10s %7s\n" "4 KiB files x200, wrk -c16 (req/s)" "$a" "$b" "$(ratio "$a" "$b")"
printf "%-34s %10s %10s %7s\n" "100 MiB file, wrk -c4 (MiB/s)" "$am" "$bm" "$(ratio "$am" "$bm")"
[ -n "$tp" ] && printf "%-34s %10s %10s %7s\n" "4 KiB files over TLS (req/s)" "$at" "$bt" "$(ratio "$at" "$bt")"
exit 0
