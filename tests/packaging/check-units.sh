#!/usr/bin/env bash
# systemd-analyze over the units of systemd/: `verify` must pass (system units with their
# sockets, the HiPKI one included, and the user unit), and
# the system unit's `security` exposure must stay under the limit.
#   check-units.sh verify   SOURCE_DIR TENDERKEYD
#   check-units.sh security SOURCE_DIR TENDERKEYD LIMIT   (LIMIT like 2.0: fails at >= LIMIT)
set -euo pipefail
mode=$1 src=$2 daemon=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The units name /usr/bin/tenderkeyd; verify checks that the program exists, so the copies
# checked here name the built one.
mkdir -p "$work/system" "$work/user" "$work/runtime"
chmod 700 "$work/runtime"
sed "s#/usr/bin/tenderkeyd#$daemon#g" "$src/systemd/tenderkeyd.service" >"$work/system/tenderkeyd.service"
sed "s#/usr/bin/tenderkeyd#$daemon#g" "$src/systemd/user/tenderkeyd.service" >"$work/user/tenderkeyd.service"
grep -q "ExecStart=$daemon" "$work/system/tenderkeyd.service"
cp "$src/systemd/tenderkeyd.socket" "$work/system/tenderkeyd.socket"
cp "$src/systemd/tenderkeyd-hipki.socket" "$work/system/tenderkeyd-hipki.socket"

case "$mode" in
verify)
    # Both units: no core dump of a process that holds PINs and plaintexts.
    for unit in "$work/system/tenderkeyd.service" "$work/user/tenderkeyd.service"; do
        grep -qx 'LimitCORE=0' "$unit" || { echo "FAIL: $unit has no LimitCORE=0"; exit 1; }
    done
    # The port is the socket unit's whenever the service is enabled: the service requires it,
    # and it holds exactly the two loopback addresses, never the wildcard or a mapped address.
    grep -qx 'Requires=tenderkeyd.socket' "$work/system/tenderkeyd.service" ||
        { echo "FAIL: the system unit does not require tenderkeyd.socket"; exit 1; }
    grep -q '^After=.*tenderkeyd.socket' "$work/system/tenderkeyd.service" ||
        { echo "FAIL: the system unit is not ordered after tenderkeyd.socket"; exit 1; }
    listen=$(grep '^Listen' "$work/system/tenderkeyd.socket" | sort | tr '\n' ' ')
    [ "$listen" = "ListenStream=127.0.0.1:61261 ListenStream=[::1]:61261 " ] ||
        { echo "FAIL: tenderkeyd.socket listens on: $listen"; exit 1; }
    # The HiPKI listener's socket unit: both loopback addresses at 61161, for the same service,
    # which is ordered after it (its sockets are there when the daemon starts) but does not
    # require it (the package leaves it disabled where another program holds 61161).
    listen=$(grep '^Listen' "$work/system/tenderkeyd-hipki.socket" | sort | tr '\n' ' ')
    [ "$listen" = "ListenStream=127.0.0.1:61161 ListenStream=[::1]:61161 " ] ||
        { echo "FAIL: tenderkeyd-hipki.socket listens on: $listen"; exit 1; }
    grep -q '^After=.*tenderkeyd-hipki.socket' "$work/system/tenderkeyd.service" ||
        { echo "FAIL: the system unit is not ordered after tenderkeyd-hipki.socket"; exit 1; }
    grep -q '^Requires=.*tenderkeyd-hipki' "$work/system/tenderkeyd.service" &&
        { echo "FAIL: the system unit requires tenderkeyd-hipki.socket"; exit 1; }
    for socket in tenderkeyd.socket tenderkeyd-hipki.socket; do
        for setting in BindIPv6Only=ipv6-only FreeBind=no NoDelay=yes \
            Service=tenderkeyd.service WantedBy=sockets.target; do
            grep -qx "$setting" "$work/system/$socket" ||
                { echo "FAIL: $socket has no $setting"; exit 1; }
        done
    done
    # systemd-analyze prints its findings on stderr and may still exit 0: any output fails.
    out=$(systemd-analyze verify --man=no "$work/system/tenderkeyd.socket" \
        "$work/system/tenderkeyd-hipki.socket" "$work/system/tenderkeyd.service" 2>&1) || {
        echo "$out"; echo "FAIL: systemd-analyze verify (system unit)"; exit 1; }
    [ -z "$out" ] || { echo "$out"; echo "FAIL: systemd-analyze verify reported findings"; exit 1; }
    out=$(XDG_RUNTIME_DIR="$work/runtime" systemd-analyze verify --user --man=no \
        "$work/user/tenderkeyd.service" 2>&1) || {
        echo "$out"; echo "FAIL: systemd-analyze verify --user"; exit 1; }
    [ -z "$out" ] || { echo "$out"; echo "FAIL: systemd-analyze verify --user reported findings"; exit 1; }
    echo "systemd-analyze verify: system unit, its two socket units and the user unit OK"
    ;;
security)
    limit=$4
    report=$(systemd-analyze security --offline=true "$work/system/tenderkeyd.service" 2>&1) || {
        echo "$report"; echo "FAIL: systemd-analyze security"; exit 1; }
    score=$(printf '%s\n' "$report" | sed -n 's/.*Overall exposure level for tenderkeyd.service: \([0-9.]*\).*/\1/p')
    [ -n "$score" ] || { echo "$report"; echo "FAIL: no exposure level in the report"; exit 1; }
    printf '%s\n' "$report" | grep -v '^✓' || true
    echo "exposure level $score (limit: below $limit)"
    awk -v s="$score" -v l="$limit" 'BEGIN { exit !(s < l) }' || {
        echo "FAIL: exposure level $score is not below $limit"; exit 1; }
    ;;
*)
    echo "unknown mode $mode"; exit 2
    ;;
esac
