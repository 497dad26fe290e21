#!/usr/bin/env bash
# Debian repository benchmark: pkgvc against aptly on the same generated
# .debs (kinds/deb/format/debtest/debgen: realistic control fields, tiny data), in one run.
# For each N (default 10 000 then 100 000; aptly at the first N only):
#  - first publication: aptly `repo create` + `repo add` + `snapshot
#    create` + `publish snapshot` vs pkgvc `repo create --kind deb` +
#    `commit --add DIR` + `dist create ... --sign-key` + serve + the first
#    GET of dists/stable/InRelease and main/binary-amd64/Packages.gz;
#  - one package changed (bench-000000 1.0-1 -> 2.0-1): aptly `repo
#    remove` + `repo add` + `snapshot create` + `snapshot diff` + `publish
#    switch` vs pkgvc `commit --remove OLD --add NEW` (serve running) +
#    `diff --by-package` + the first InRelease and Packages.gz GET after it.
# Both sign: aptly with a gpg key in a private GNUPGHOME, pkgvc with a key
# of `pkgvc key generate` (key generation is not timed). Prints the wall
# ms and peak RSS of each step; the published Packages are checked (not
# timed): every amd64 and all package listed once, the new version there.
# Goals: pkgvc >= 5x faster than aptly on the change and no slower on the
# first publication; the change at the last N within 2x of the first N.
# Everything started is stopped by PID; the temp dir is removed.
# Run from the repository root: bash bench/deb.sh [N...]   (e.g. 1000 10000)
set -euo pipefail
NS=("$@"); [ ${#NS[@]} -gt 0 ] || NS=(10000 100000)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init deb "apt-get install -y aptly gnupg curl" aptly gpg gpgconf curl python3 go
export GNUPGHOME="$T/gnupg"; mkdir -m 700 "$GNUPGHOME"
bench_atexit() { gpgconf --kill all >/dev/null 2>&1; }   # the gpg-agent of this GNUPGHOME
ROWS=()
# step LABEL CMD...: runs CMD under /usr/bin/time, adds "LABEL ms rss" to ROWS; LAST is its ms
step() {
  local label=$1 s; shift; s=$(ms)
  /usr/bin/time -f '%M' -o "$T/rss" "$@" >"$T/out" 2>"$T/err" || { echo "FAIL: $label: $(tail -3 "$T/err")"; exit 1; }
  LAST=$(( $(ms) - s )); ROWS+=("$label|$LAST|$(( $(tail -1 "$T/rss") / 1024 ))")
}
row() { ROWS+=("$1|$2|${3:-}"); }
# checkpkgs FILE.gz N NEWVER: Packages.gz lists N packages once each, bench-000000 at NEWVER
checkpkgs() {
  python3 - "$@" <<'PY' || { echo "FAIL: Packages check of $1"; exit 1; }
import gzip, sys, collections
path, n, want = sys.argv[1], int(sys.argv[2]), sys.argv[3]
st = [dict(l.split(": ", 1) for l in s.splitlines() if l and not l.startswith(" "))
      for s in gzip.decompress(open(path, "rb").read()).decode().split("\n\n") if s.strip()]
c = collections.Counter(s["Package"] for s in st)
if len(c) != n or max(c.values()) != 1: sys.exit("%s: %d stanzas, %d packages, expected %d once each" % (path, len(st), len(c), n))
v = [s["Version"] for s in st if s["Package"] == "bench-000000"]
if v != [want]: sys.exit("%s: bench-000000 is %s, expected %s" % (path, v, want))
for s in st:
    for k in ("Filename", "Size", "SHA256", "Depends" if s["Package"] != "bench-000000" else "Package"):
        if k not in s: sys.exit("%s: %s lacks %s" % (path, s["Package"], k))
PY
}

go build -o "$T/pkgvc" ./cmd/pkgvc
go build -o "$T/debgen" ./kinds/deb/format/debtest/debgen
gpg --batch --pinentry-mode loopback --passphrase '' --quick-gen-key 'Bench <bench@example.invalid>' ed25519 sign never >/dev/null 2>&1
gpg --export bench@example.invalid >"$T/aptly.gpg"

declare -A INC
for N in "${NS[@]}"; do
  D="$T/n$N"; mkdir -p "$D"
  s=$(ms); "$T/debgen" -n "$N" -out "$D/debs" -new "$D/new"; gen=$(( $(ms) - s ))
  echo "N=$N: generated $N .debs ($(du -sm "$D/debs" | cut -f1) MiB) in $gen ms"
  new=$(ls "$D/new"); old=bench-000000_1.0-1_amd64.deb

  if [ "$N" = "${NS[0]}" ]; then
    # aptly, in its own root
    printf '{"rootDir": "%s", "gpgProvider": "gpg"}\n' "$D/aptly" >"$D/aptly.conf"
    A=(aptly -config="$D/aptly.conf")
    SIGN=(-gpg-key=bench@example.invalid -batch)
    a0=${#ROWS[@]}
    step "aptly repo create" "${A[@]}" repo create -distribution=stable -component=main bench; f=$LAST
    step "aptly repo add" "${A[@]}" repo add bench "$D/debs"; f=$(( f + LAST ))
    step "aptly snapshot create" "${A[@]}" snapshot create s1 from repo bench; f=$(( f + LAST ))
    step "aptly publish snapshot" "${A[@]}" publish snapshot -distribution=stable -component=main -architectures=amd64,all "${SIGN[@]}" s1; f=$(( f + LAST ))
    row "aptly first, total" "$f"
    step "aptly repo remove" "${A[@]}" repo remove bench 'bench-000000 (= 1.0-1)'; i=$LAST
    step "aptly repo add (new)" "${A[@]}" repo add bench "$D/new"; i=$(( i + LAST ))
    step "aptly snapshot create" "${A[@]}" snapshot create s2 from repo bench; i=$(( i + LAST ))
    step "aptly snapshot diff" "${A[@]}" snapshot diff s1 s2; i=$(( i + LAST ))
    grep -q 'bench-000000' "$T/out" || { echo "FAIL: aptly snapshot diff does not name bench-000000"; exit 1; }
    step "aptly publish switch" "${A[@]}" publish switch "${SIGN[@]}" stable s2; i=$(( i + LAST ))
    row "aptly change, total" "$i"
    APTLY_FIRST=$f; APTLY_INC=$i
    checkpkgs "$D/aptly/public/dists/stable/main/binary-amd64/Packages.gz" "$N" 2.0-1
    gpg --verify "$D/aptly/public/dists/stable/InRelease" >/dev/null 2>&1 || { echo "FAIL: aptly InRelease does not verify"; exit 1; }
    row "" ""
  fi

  # pkgvc: commit while nothing serves, then serve; the change is committed with serve running
  P=("$T/pkgvc" --store "$D/store")
  "$T/pkgvc" --store "$D/store" key generate release >/dev/null
  "$T/pkgvc" --store "$D/store" key export release | gpg --dearmor >"$D/pkgvc.gpg"
  step "pkgvc repo create ($N)" "${P[@]}" repo create deb --kind deb; f=$LAST
  step "pkgvc commit --add ($N)" "${P[@]}" commit deb --add "$D/debs"; f=$(( f + LAST ))
  step "pkgvc dist create" "${P[@]}" dist create stable --base-path debian --repo deb --suite stable --codename stable \
    --component main --arch amd64 --arch all --sign-key release; f=$(( f + LAST ))
  port=$(freeport); R="http://127.0.0.1:$port/content/debian/dists/stable"
  s=$(ms)
  /usr/bin/time -f '%M' -o "$D/serve.rss" "$T/pkgvc" --store "$D/store" serve --listen "127.0.0.1:$port" >"$D/serve.log" 2>&1 & tpid=$!
  PIDS+=("$tpid"); waitport "$port"; LAST=$(( $(ms) - s )); row "pkgvc serve (to listening)" "$LAST"; f=$(( f + LAST ))
  spid=$(pgrep -P "$tpid")
  step "pkgvc GET InRelease" curl -sf -o "$D/InRelease" "$R/InRelease"; f=$(( f + LAST ))
  step "pkgvc GET Packages.gz" curl -sf -o "$D/Packages1.gz" "$R/main/binary-amd64/Packages.gz"; f=$(( f + LAST ))
  row "pkgvc first, total ($N)" "$f"
  checkpkgs "$D/Packages1.gz" "$N" 1.0-1
  gpgv --keyring "$D/pkgvc.gpg" "$D/InRelease" >/dev/null 2>&1 || { echo "FAIL: pkgvc InRelease does not verify"; exit 1; }
  step "pkgvc commit --remove --add" "${P[@]}" commit deb --remove "pool/main/b/bench-000000/$old" --add "$D/new"; i=$LAST
  step "pkgvc diff --by-package" "${P[@]}" --json diff --by-package deb~1 deb; i=$(( i + LAST ))
  python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["packages"]; sys.exit(0 if [(x["name"],x["old"],x["new"]) for x in p]==[("bench-000000","1.0-1","2.0-1")] else "diff: %r" % p)' "$T/out" \
    || { echo "FAIL: pkgvc diff --by-package"; exit 1; }
  step "pkgvc GET InRelease" curl -sf -o "$D/InRelease2" "$R/InRelease"; i=$(( i + LAST ))
  step "pkgvc GET Packages.gz" curl -sf -o "$D/Packages2.gz" "$R/main/binary-amd64/Packages.gz"; i=$(( i + LAST ))
  row "pkgvc change, total ($N)" "$i"
  checkpkgs "$D/Packages2.gz" "$N" 2.0-1
  gpgv --keyring "$D/pkgvc.gpg" "$D/InRelease2" >/dev/null 2>&1 || { echo "FAIL: pkgvc InRelease after the change does not verify"; exit 1; }
  cmp -s "$D/InRelease" "$D/InRelease2" && { echo "FAIL: InRelease did not change"; exit 1; }
  kill -TERM "$spid"; wait "$tpid" 2>/dev/null || true
  row "pkgvc serve, whole run" "" "$(( $(tail -1 "$D/serve.rss") / 1024 ))"
  row "" ""
  INC[$N]=$i; [ "$N" = "${NS[0]}" ] && PK_FIRST=$f
  rm -rf "$D/debs"
done

printf '%-34s %9s %9s\n' "step" "wall ms" "RSS MiB"
for r in "${ROWS[@]}"; do IFS='|' read -r a b c <<<"$r"; printf '%-34s %9s %9s\n' "$a" "$b" "$c"; done
ratio() { python3 -c "print('%.2f' % ($1 / max($2, 1)))"; }
N0=${NS[0]}; NL=${NS[-1]}
echo "N=$N0: first publication aptly/pkgvc $(ratio "$APTLY_FIRST" "$PK_FIRST")x (goal >= 1), change aptly/pkgvc $(ratio "$APTLY_INC" "${INC[$N0]}")x (goal >= 5)"
[ "$NL" = "$N0" ] || echo "pkgvc change at N=$NL vs N=$N0: $(ratio "${INC[$NL]}" "${INC[$N0]}")x (goal <= 2)"
