#!/usr/bin/env bash
# Benchmarks of tenderkeyd against the raw PC/SC floor and independent PIV software, on the
# virtual card of the harness. Prints the figures of docs/benchmarks.md (medians of repeated
# runs, and every raw line). Run inside the harness, from a release build:
#
#   tests/harness/with-cards -- tests/bench/bench.sh [--bin-dir build/bin] [--repeat 5]
#   tests/harness/with-cards -- tests/bench/bench.sh --smoke   # a few seconds, checks sanity
#
# --bin-dir holds tenderkeyd, tk-bench and tk-bench-pcsc (default build/bin).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin="$top/build/bin"
repeat=5
smoke=0
while [ $# -gt 0 ]; do
    case "$1" in
        --bin-dir) bin=$2; shift 2 ;;
        --repeat) repeat=$2; shift 2 ;;
        --smoke) smoke=1; shift ;;
        *) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
: "${TK_HARNESS_DIR:?run inside tests/harness/with-cards}"
reader=$TK_READER_0
module=${P11_MODULE:-/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so}
origin=https://portal.example.gov.tw
T=$(mktemp -d "$TK_HARNESS_DIR/bench.XXXXXX")
port=$((40000 + RANDOM % 20000))
apdu_log=$TK_VCARD_APDU_LOG_0

cat >"$T/tenderkeyd.toml" <<EOF
[limits]
max_connections = 128

[[origins]]
origin = "$origin"
EOF

fail() { echo "bench.sh: check failed: $*" >&2; exit 1; }
now_ns() { date +%s%N; }
# median of the numbers on stdin
median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) {print "nan"} else if (NR%2) {print v[(NR+1)/2]} else {print (v[NR/2]+v[NR/2+1])/2}}'; }
# the value of KEY=... on each line of stdin ("/s" of a rate dropped)
field() { sed -n "s/^\(.*[ ]\)\{0,1\}$1=\([^ ]*\).*/\2/p" | sed 's#/s$##'; }
card_ctl() { "$top/tests/harness/card-ctl" "$@"; }
apdus() { grep -c '^cla=' "$apdu_log" || true; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

daemon_pid=""
start_daemon() {
    "$bin/tenderkeyd" --dev --config "$T/tenderkeyd.toml" --port "$port" \
        >>"$T/tenderkeyd.log" 2>&1 &
    daemon_pid=$!
}
stop_daemon() {
    [ -n "$daemon_pid" ] || return 0
    kill -TERM "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
    daemon_pid=""
}
trap stop_daemon EXIT

bench() { "$bin/tk-bench" --port "$port" --origin "$origin" "$@"; }

# time_runs N COMMAND...: milliseconds of each of N runs of a command, one a line.
time_runs() {
    local n=$1 i t0 t1
    shift
    for i in $(seq 1 "$n"); do
        t0=$(now_ns)
        "$@" >"$T/out" 2>&1 || { cat "$T/out" >&2; fail "$*"; }
        t1=$(now_ns)
        echo "scale=3; ($t1 - $t0) / 1000000" | bc
    done
}

echo "# tenderkeyd benchmarks $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- start-to-ready ----
ready=()
card_ready=()
for i in $(seq 1 $((smoke ? 1 : repeat))); do
    t0=$(now_ns)
    start_daemon
    r=$(bench --wait-ready 15 | field ready_ns) || fail "daemon not ready"
    c=$(bench --wait-ready 15 --wait-card | field ready_ns) || fail "card not seen"
    ready+=("$(echo "scale=1; ($r - $t0) / 1000000" | bc)")
    card_ready+=("$(echo "scale=1; ($c - $t0) / 1000000" | bc)")
    stop_daemon
done
echo "start_to_ready_ms runs: ${ready[*]}"
echo "start_to_ready_ms median=$(printf '%s\n' "${ready[@]}" | median) card_visible_ms median=$(printf '%s\n' "${card_ready[@]}" | median)"

start_daemon
bench --wait-ready 15 --wait-card >/dev/null || fail "daemon not ready"
pid=$daemon_pid

# ---- idle ----
sleep 2
echo "rss_idle_kb=$(rss_kb "$pid")"
idle=$((smoke ? 2 : 60))
hz=$(getconf CLK_TCK)
c0=$(cpu_ticks "$pid")
sleep "$idle"
c1=$(cpu_ticks "$pid")
echo "idle_cpu seconds=$idle cpu_ms=$(((c1 - c0) * 1000 / hz)) (clock tick $((1000 / hz)) ms)"

# ---- system.info ----
for n in 1 16 64; do
    [ "$smoke" = 1 ] && [ "$n" != 16 ] && continue
    : >"$T/sysinfo-$n"
    for i in $(seq 1 $((smoke ? 1 : repeat))); do
        line=$(bench --method system.info --connections "$n" --seconds $((smoke ? 2 : 5)) \
            --label "system.info/$n" --check) || fail "system.info with $n connections"
        echo "$line"
        echo "$line" >>"$T/sysinfo-$n"
    done
    echo "system.info connections=$n median throughput=$(field throughput <"$T/sysinfo-$n" | median)/s" \
        "p50_ms=$(field p50_ms <"$T/sysinfo-$n" | median)" \
        "p99_ms=$(field p99_ms <"$T/sysinfo-$n" | median)"
done

# ---- sign latency: daemon, raw PC/SC floor, OpenSC, yubico-piv-tool ----
# (yubico-piv-tool 2.2.0 has no -a sign: test-signature signs its own test data with the key)
head -c 1000 /dev/urandom >"$T/data"
yubico-piv-tool -r "$reader" -a read-certificate -s 9c -o "$T/9c.pem" >/dev/null 2>&1
for delay in 0 20; do
    [ "$smoke" = 1 ] && [ "$delay" != 0 ] && continue
    card_ctl 0 delay "$delay" >/dev/null
    if [ "$delay" = 0 ]; then n_fast=200; n_tool=15; else n_fast=30; n_tool=5; fi
    [ "$smoke" = 1 ] && { n_fast=5; n_tool=1; }
    : >"$T/sign-$delay"
    for i in $(seq 1 $((smoke ? 1 : repeat))); do
        # yubico-piv-tool resets the card when it leaves: the first signature after it
        # meets the reset (CARD_REMOVED), so warm up first.
        bench --method sign --requests 2 >/dev/null 2>&1 || true
        d=$(bench --method sign --requests "$n_fast" --label "daemon/delay$delay" --check) ||
            fail "daemon sign"
        echo "$d"
        f=$("$bin/tk-bench-pcsc" "$reader" "$n_fast") || fail "raw PC/SC sign"
        echo "$f (delay $delay)"
        p=$(time_runs "$n_tool" pkcs11-tool --module "$module" --sign --id 02 -m SHA256-RSA-PKCS \
            -l -p 123456 -i "$T/data" -o "$T/p11.sig" | median)
        t=$(time_runs "$n_tool" yubico-piv-tool -r "$reader" -a verify-pin -P 123456 \
            -a test-signature -s 9c -i "$T/9c.pem" | median)
        echo "sign delay=$delay run=$i daemon_p50=$(echo "$d" | field p50_ms) raw_p50=$(echo "$f" | field p50_ms) pkcs11_tool=$p yubico_test_signature=$t" |
            tee -a "$T/sign-$delay"
    done
    for k in daemon_p50 raw_p50 pkcs11_tool yubico_test_signature; do
        printf 'sign delay=%s %s median=%s\n' "$delay" "$k" "$(field "$k" <"$T/sign-$delay" | median)"
    done
done
card_ctl 0 delay 0 >/dev/null

# ---- APDUs per signature ----
bench --method sign --requests 2 >/dev/null 2>&1 || true
a0=$(apdus); bench --method sign --requests 1 >/dev/null || fail "daemon sign"; a1=$(apdus)
p0=$(apdus); "$bin/tk-bench-pcsc" "$reader" 1 >/dev/null; p1=$(apdus)
o0=$(apdus); pkcs11-tool --module "$module" --sign --id 02 -m SHA256-RSA-PKCS -l -p 123456 \
    -i "$T/data" -o "$T/p11.sig" >/dev/null 2>&1; o1=$(apdus)
y0=$(apdus); yubico-piv-tool -r "$reader" -a verify-pin -P 123456 -a test-signature -s 9c \
    -i "$T/9c.pem" >/dev/null 2>&1; y1=$(apdus)
echo "apdus_per_sign daemon=$((a1 - a0)) raw=$((p1 - p0)) pkcs11_tool=$((o1 - o0)) yubico_test_signature=$((y1 - y0))"
[ $((a1 - a0)) -gt 0 ] || fail "the daemon's signature sent no APDU"

# ---- sustained signing, memory ----
bench --method sign --requests 2 >/dev/null 2>&1 || true
rss0=$(rss_kb "$pid")
signs=$((smoke ? 20 : 10000))
line=$(bench --method sign --connections 4 --in-flight 2 --requests "$signs" --label "sign/sustained" --check) ||
    fail "sustained signing"
echo "$line"
echo "rss_kb before=$rss0 after_${signs}_signs=$(rss_kb "$pid")"

# ---- card-insert-to-event ----
bench --events $((smoke ? 1 : 10)) --control "$TK_VCARD_CONTROL_0" --label events || fail "events"

kill -0 "$pid" || fail "tenderkeyd died"
stop_daemon
[ "$smoke" = 1 ] && echo "bench: smoke ok"
exit 0
