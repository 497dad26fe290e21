# Helpers shared by the bench scripts. Source it after `set -euo pipefail`:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   bench_init NAME "apt-get install -y ..." TOOL...
# bench_init checks the tools and /usr/bin/time, makes the temp dir $T and
# on exit stops every PID in PIDS, runs bench_atexit if the script defines
# it, and removes $T.

bench_init() {
  local name=$1 hint=$2 c; shift 2
  for c in "$@"; do
    command -v "$c" >/dev/null || { echo "needs $c ($hint)"; exit 1; }
  done
  [ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install -y time)"; exit 1; }
  T=$(mktemp -d -t "$name-bench.XXXXXX")
  PIDS=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  if declare -F bench_atexit >/dev/null; then bench_atexit || true; fi
  rm -rf "$T"
}

# findcrane sets CRANE, installing crane into GOBIN when it is not on PATH.
findcrane() {
  CRANE=$(command -v crane || true)
  [ -z "$CRANE" ] || return 0
  local gb; gb=$(go env GOBIN); [ -n "$gb" ] || gb=$(go env GOPATH)/bin; CRANE=$gb/crane
  [ -x "$CRANE" ] || go install github.com/google/go-containerregistry/cmd/crane@v0.22.1
}

freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
# waitport PORT: polls every 50 ms (the granularity of timed start-ups), up to 30 s.
waitport() { for _ in $(seq 600); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.05; done; echo "nothing on port $1"; exit 1; }
ms() { date +%s%3N; }
