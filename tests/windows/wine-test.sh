#!/usr/bin/env bash
# The windows.* tests: the cross-built executables and the MSI under Wine (Debian's wine64),
# checked from Linux over the loopback network. Wine's winscard has no readers, so there are
# no cards: the tests cover start, the network side, the service and the installer.
#   wine-test.sh STEP BUILD_DIR PORT
# STEP: prefix   a fresh Wine prefix (wineboot; Mono and Gecko are never installed)
#       console  tenderkeyd.exe in a console: /health, an allowed and a refused handshake,
#                readers.list, a 32-bit PKCS#11 module refused with its reason, then Ctrl+C (SIGINT, which Wine delivers as CTRL_C_EVENT) stops
#                it cleanly (exit status 0, "stopped" logged)
#       service  tenderkeyd-service.exe install, start through Wine's service manager,
#                /health and the rest, stop, uninstall
#       msi      msiexec /i: files, service, the existing configuration kept; /health;
#                msiexec /x removes everything
#       cli      tenderkey.exe: --version; origins list/add/remove on a configuration in a
#                %ProgramData%-like folder (the file replaced, not rewritten in place); doctor
#                against tenderkeyd.exe in a console (reachable, no readers under Wine, a
#                32-bit PKCS#11 module named, the service absent, the file's access refused)
#                and after it stopped; a secret from the environment or a file, and without
#                one, no console to ask on
# Wine 8 lacks ChangeServiceConfig2W(SERVICE_CONFIG_DELAYED_AUTO_START_INFO), so install —
# and the MSI's custom action that runs it — stops there. The service and msi steps then
# check that this is the one call that fails and everything before it (lines "WINE ..."),
# and the service step goes on with the service registered as install registers it. Each
# step takes the full path again as soon as the install succeeds.
# PORT must be used by no other test: the daemon under Wine shares the host's network.
set -euo pipefail
step=$1 build=$2 port=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
probe=("$here/ws_probe.py")
msi_dir=$build/msi
# The files the MSI installs to C:\Program Files\TenderKey.
installed_files=(tenderkeyd.exe tenderkeyd-service.exe tenderkey.exe tenderkeyd.example.toml)
export WINEPREFIX=$build/wine-prefix
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml="
allowed=https://portal.example
refused=https://evil.example
log=$(mktemp -d)
daemon_pid=

cleanup() {
    if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
        kill -KILL "$daemon_pid" 2>/dev/null || true
    fi
    [ "$step" = prefix ] || wineserver -k 2>/dev/null || true
    rm -rf "$log"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    for f in "$log"/*; do
        [ -s "$f" ] && { echo "--- $(basename "$f"):"; tail -40 "$f"; }
    done
    exit 1
}

port_free() {
    ! python3 - "$port" <<'PY' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
PY
}

# Whether the service manager knows TenderKey (Wine's sc has no qc: query, and the
# registry for the command line).
registered() {
    wine sc query TenderKey > "$log/sc-query" 2>&1 || return 1
    grep -q "SERVICE_NAME: TenderKey" "$log/sc-query" || return 1
    wine reg query 'HKLM\System\CurrentControlSet\Services\TenderKey' /v ImagePath \
        > "$log/image-path" 2>&1
}

# The checks every running daemon gets: /health, handshakes, readers.list.
check_daemon() {
    local what=$1
    python3 "${probe[@]}" wait-health "$port" 90 > "$log/health" 2>&1 ||
        fail "$what: /health did not answer"
    grep -q '"status"' "$log/health" || fail "$what: /health body: $(cat "$log/health")"
    echo "ok   $what: GET /health: $(head -c 200 "$log/health")"
    local status
    status=$(python3 "${probe[@]}" handshake "$port" "$allowed")
    [ "$status" = 101 ] || fail "$what: handshake from $allowed answered $status, not 101"
    echo "ok   $what: handshake from $allowed: 101"
    status=$(python3 "${probe[@]}" handshake "$port" "$refused")
    [ "$status" = 403 ] || fail "$what: handshake from $refused answered $status, not 403"
    echo "ok   $what: handshake from $refused: 403"
    local answer
    answer=$(python3 "${probe[@]}" call "$port" "$allowed" readers.list) ||
        fail "$what: readers.list: no answer"
    echo "     $what: readers.list: $answer"
    if ! grep -Eq '"reason":"(SERVICE_UNAVAILABLE|NO_READER)"|"result":\{"readers":\[\]\}' \
        <<< "$answer"; then
        fail "$what: readers.list answered neither an empty list, NO_READER nor SERVICE_UNAVAILABLE"
    fi
    echo "ok   $what: readers.list answers without a crash"
}

# A vendor's PKCS#11 module built for 32-bit Windows (a PE header for x86 is enough: the
# loader reads it before LoadLibraryExW).
make_vendor32_dll() {
    python3 - "$1" <<'PY'
import struct, sys
image = bytearray(0x200)
image[0:2] = b"MZ"
image[0x3C:0x40] = struct.pack("<I", 0x80)
image[0x80:0x84] = b"PE\0\0"
image[0x84:0x86] = struct.pack("<H", 0x014C)
open(sys.argv[1], "wb").write(image)
PY
}

# Wine ends the service manager and every service about a second after the last ordinary
# Wine process of the prefix exits (the "system" processes shut down with it), and a program
# started meanwhile may fail with the prefix: a service under test, and a step that starts
# programs one after another, need company. A cmd.exe reading a FIFO that this script holds
# open stays until the script ends (or wineserver -k in cleanup).
keep_wine_up() {
    mkfifo "$log/keeper"
    wine cmd < "$log/keeper" > /dev/null 2>&1 &
    exec 9> "$log/keeper"
}

# tenderkey.exe ARGS...: its exit status in $tk_status, its output (line ends as on Linux) in
# $log/tk.out and $log/tk.err; stdin from /dev/null: no console input.
tk() {
    tk_status=0
    wine "$msi_dir/tenderkey.exe" "$@" > "$log/tk.out" 2> "$log/tk.err" < /dev/null || tk_status=$?
    sed -i 's/\r$//' "$log/tk.out" "$log/tk.err"
}

# A value of the JSON in $log/tk.out, by a Python subscript: json_get '["reload"]["method"]'.
json_get() {
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(json.dumps(eval("d" + sys.argv[2])))' \
        "$log/tk.out" "$1"
}

# The doctor check (in $log/tk.out) whose name starts with $1, as "status<TAB>message".
doctor_check() {
    python3 - "$log/tk.out" "$1" <<'PY'
import json, sys
for check in json.load(open(sys.argv[1]))["checks"]:
    if check["check"].startswith(sys.argv[2]):
        print(check["status"] + "\t" + check["message"])
        break
PY
}

expect_check() {
    local name=$1 status=$2 pattern=$3 got
    got=$(doctor_check "$name")
    if [ "${got%%$'\t'*}" != "$status" ] || ! grep -Eq -- "$pattern" <<< "${got#*$'\t'}"; then
        fail "doctor: check '$name' is '$got'; expected $status /$pattern/"
    fi
    echo "ok   doctor $name: $got"
}

[ "$step" = prefix ] || [ -d "$WINEPREFIX/drive_c" ] ||
    fail "no Wine prefix in $WINEPREFIX (the windows.wine_prefix test makes it)"
if [ "$step" != prefix ] && ! port_free; then
    fail "port $port is in use by another program; the test needs it free"
fi

case "$step" in
prefix)
    rm -rf "$WINEPREFIX"
    wineboot --init > "$log/wineboot" 2>&1 || fail "wineboot"
    wineserver -w
    [ -d "$WINEPREFIX/drive_c/windows/system32" ] || fail "wineboot made no prefix"
    echo "ok   Wine prefix in $WINEPREFIX ($(wine --version))"
    ;;

console)
    make_vendor32_dll "$log/vendor32.dll"
    module=$(winepath -w "$log/vendor32.dll")
    # setsid: SIGINT reaches wine (the console process), which raises CTRL_C_EVENT.
    setsid wine "$msi_dir/tenderkeyd.exe" --port "$port" --allow-origin "$allowed" \
        --pkcs11-module "$module" --log-level info \
        > "$log/tenderkeyd.out" 2> "$log/tenderkeyd.err" < /dev/null &
    daemon_pid=$!
    check_daemon "tenderkeyd.exe (console)"
    grep -qF "cannot load PKCS#11 module $module: it is a DLL for x86, and tenderkeyd is a 64-bit" \
        "$log/tenderkeyd.err" || fail "no clear refusal of the 32-bit PKCS#11 module"
    echo "ok   a 32-bit PKCS#11 module is refused: $(grep -o 'it is a DLL for x86[^;]*' "$log/tenderkeyd.err")"
    kill -INT "$daemon_pid"
    status=0
    for _ in $(seq 60); do
        kill -0 "$daemon_pid" 2>/dev/null || break
        sleep 0.5
    done
    kill -0 "$daemon_pid" 2>/dev/null && fail "tenderkeyd.exe still runs 30 s after Ctrl+C"
    wait "$daemon_pid" || status=$?
    daemon_pid=
    [ "$status" = 0 ] || fail "tenderkeyd.exe exited with $status after Ctrl+C"
    grep -q "Ctrl+C: stopping" "$log/tenderkeyd.err" || fail "no Ctrl+C stop in the log"
    grep -q "stopped" "$log/tenderkeyd.err" || fail "no clean stop in the log"
    echo "ok   Ctrl+C: tenderkeyd.exe stopped cleanly (exit status 0)"
    python3 "${probe[@]}" refused "$port" || fail "the port still answers"
    ;;

service)
    exe=$msi_dir/tenderkeyd-service.exe
    service_args=(--port "$port" --allow-origin "$allowed")
    if wine "$exe" install "${service_args[@]}" > "$log/install" 2>&1; then
        echo "ok   tenderkeyd-service.exe install: $(tr -d '\r' < "$log/install")"
    else
        # Wine 8's service manager implements ChangeServiceConfig2W for the description but
        # not for SERVICE_CONFIG_DELAYED_AUTO_START_INFO: install stops there, removes the
        # half-made service and says which call failed. Anything else is a failure.
        grep -q "setting delayed automatic start: Invalid level. (124)" "$log/install" ||
            fail "tenderkeyd-service.exe install"
        echo "WINE tenderkeyd-service.exe install stops at ChangeServiceConfig2W(" \
             "SERVICE_CONFIG_DELAYED_AUTO_START_INFO): $(tr -d '\r' < "$log/install")"
        if registered; then
            fail "the failed install left the service registered"
        fi
        echo "ok   the failed install removed the service it had created"
        # Before that call, install made C:\ProgramData\TenderKey and set its owner and access
        # list (SetNamedSecurityInfoW succeeds), but Wine does not keep them: the folder reads
        # back as owned by the Wine user. The access check must refuse it, loudly.
        [ -f "$WINEPREFIX/drive_c/ProgramData/TenderKey/tenderkeyd.toml" ] ||
            fail "install did not copy the example configuration"
        echo "ok   install made C:\\ProgramData\\TenderKey with tenderkeyd.toml from the example"
        refused_status=0
        timeout 60 wine "$exe" console "${service_args[@]}" > "$log/refused" 2>&1 ||
            refused_status=$?
        wineserver -k 2>/dev/null || true
        [ "$refused_status" = 2 ] || fail "the daemon on a data folder owned by a plain user" \
            "did not stop with exit status 2 (status $refused_status; 124: still ran after 60 s)"
        grep -q 'C:\\ProgramData\\TenderKey is refused: it is owned by S-1-5-21-' "$log/refused" ||
            fail "no access-list refusal for the folder Wine made"
        echo "ok   access check: $(grep -o 'C:.*is refused: [^;]*' "$log/refused" | head -1)"
        rm -rf "$WINEPREFIX/drive_c/ProgramData/TenderKey"
        # The rest with the service registered as install would have registered it.
        bin="\"$(winepath -w "$exe")\" run-service ${service_args[*]}"
        wine sc create TenderKey binPath= "$bin" start= demand \
            obj= "NT AUTHORITY\\LocalService" > "$log/sc-create" 2>&1 || fail "sc create"
        echo "ok   sc create TenderKey binPath= $bin (what install registers)"
    fi
    registered || fail "the service TenderKey is not registered"
    grep -q "run-service" "$log/image-path" || fail "the service's command line lacks run-service"
    echo "ok   TenderKey registered: $(grep -o 'REG_EXPAND_SZ.*\|REG_SZ.*' "$log/image-path" | tr -d '\r')"
    keep_wine_up
    wine sc start TenderKey > "$log/sc-start" 2>&1 || fail "sc start TenderKey"
    echo "ok   sc start TenderKey (StartServiceCtrlDispatcher, ServiceMain)"
    check_daemon "TenderKey service"
    wine sc query TenderKey > "$log/sc-query" 2>&1 || true
    grep -q "RUNNING" "$log/sc-query" || fail "the service does not report RUNNING"
    echo "ok   sc query TenderKey: RUNNING"
    # tenderkey.exe and the running service: doctor sees it; a reload reaches it through the
    # Service Control Manager (SERVICE_CONTROL_PARAMCHANGE), and only when asked for the file
    # the service reads (or with --reload service).
    tk doctor --json
    expect_check service ok "^the TenderKey service runs \(pid [0-9]+, start: [a-z ]+\); it reads C:\\\\ProgramData\\\\TenderKey\\\\tenderkeyd.toml$"
    service_pid=$(doctor_check service | grep -o 'pid [0-9]*' | head -1)
    other=$log/other.toml
    printf '[[origins]]\norigin = "%s"\n' "$allowed" > "$other"
    tk origins add https://added.example --json --config "$(winepath -w "$other")"
    [ "$tk_status" = 0 ] || fail "origins add exited with $tk_status: $(cat "$log/tk.err")"
    [ "$(json_get '["reload"]["reloaded"]')" = false ] ||
        fail "the service was asked to reload for a file it does not read: $(json_get '["reload"]')"
    echo "ok   tenderkey.exe origins add on another file: $(json_get '["reload"]["message"]')"
    tk origins add https://second.example --json --reload service --config "$(winepath -w "$other")"
    [ "$tk_status" = 0 ] || fail "origins add --reload service exited with $tk_status: $(cat "$log/tk.err")"
    [ "$(json_get '["reload"]["reloaded"]')" = true ] &&
        [ "pid $(json_get '["reload"]["pids"][0]')" = "$service_pid" ] ||
        fail "origins add --reload service: $(json_get '["reload"]') (service $service_pid)"
    echo "ok   tenderkey.exe origins add --reload service: $(json_get '["reload"]["message"]')"
    python3 "${probe[@]}" wait-health "$port" 30 > "$log/health" 2>&1 ||
        fail "the service stopped answering after the reload"
    wine sc query TenderKey > "$log/sc-query" 2>&1 || true
    grep -q "RUNNING" "$log/sc-query" || fail "the service does not run after the reload"
    echo "ok   the service still runs and answers /health after SERVICE_CONTROL_PARAMCHANGE"
    wine sc stop TenderKey > "$log/sc-stop" 2>&1 || fail "sc stop TenderKey"
    python3 "${probe[@]}" refused "$port" || fail "the service still answers after sc stop"
    echo "ok   sc stop TenderKey: the daemon stopped"
    wine "$exe" uninstall > "$log/uninstall" 2>&1 || fail "tenderkeyd-service.exe uninstall"
    if registered; then
        fail "the service is still registered after uninstall"
    fi
    echo "ok   tenderkeyd-service.exe uninstall: removed"
    ;;

msi)
    msi=$(ls "$msi_dir"/TenderKey-*-x64.msi)
    target="$WINEPREFIX/drive_c/Program Files/TenderKey"
    data="$WINEPREFIX/drive_c/ProgramData/TenderKey"
    msilog="$WINEPREFIX/drive_c/tenderkey-msiexec.log"
    # An existing tenderkeyd.toml is kept (as on an upgrade; a fresh install copies the
    # example): this one puts the service the MSI starts on the test's port.
    mkdir -p "$data"
    printf '[[listeners]]\naddress = "127.0.0.1"\nport = %s\n\n[[origins]]\norigin = "%s"\n' \
        "$port" "$allowed" > "$data/tenderkeyd.toml"
    cp "$data/tenderkeyd.toml" "$log/config-before"
    keep_wine_up
    status=0
    wine msiexec /i "$msi" /qn /l*v 'C:\tenderkey-msiexec.log' > "$log/msiexec-install" 2>&1 ||
        status=$?
    cp "$msilog" "$log/msiexec-install.log" 2>/dev/null || true
    ended() { grep -aq "Action ended [0-9:]*: $1. Return value 1." "$log/msiexec-install.log"; }
    if [ "$status" != 0 ]; then
        # Wine 8: the custom action "tenderkeyd-service.exe install" stops at the same call as
        # in windows.wine_service (Wine 8 has no SERVICE_CONFIG_DELAYED_AUTO_START_INFO),
        # so msiexec rolls the installation back. Everything before it is checked in the log.
        grep -q "setting delayed automatic start: Invalid level. (124)" "$log/msiexec-install" ||
            fail "msiexec /i failed (exit status $status) for another reason"
        for action in InstallValidate InstallFiles WriteRegistryValues InstallServices; do
            ended "$action" || fail "msiexec /i: $action did not succeed before the custom action"
            echo "ok   msiexec /i: $action"
        done
        grep -aq "Action start [0-9:]*: ConfigureService." "$log/msiexec-install.log" ||
            fail "msiexec /i never ran ConfigureService"
        echo "WINE msiexec /i stops in the custom action ConfigureService" \
             "(tenderkeyd-service.exe install): $(grep 'Invalid level' "$log/msiexec-install" | tr -d '\r')"
        cmp -s "$data/tenderkeyd.toml" "$log/config-before" ||
            fail "the custom action replaced the existing tenderkeyd.toml"
        echo "ok   the custom action kept the existing tenderkeyd.toml"
        for f in "${installed_files[@]}"; do
            [ ! -e "$target/$f" ] || fail "the rollback left $f"
        done
        if registered; then
            fail "the rollback left the service registered"
        fi
        echo "ok   msiexec rolled back: no files in C:\\Program Files\\TenderKey, no service" \
             "(msiexec /x not reachable under Wine 8)"
        rm -rf "$data"
        exit 0
    fi
    for f in "${installed_files[@]}"; do
        [ -f "$target/$f" ] || fail "msiexec /i did not install $f"
    done
    echo "ok   msiexec /i: files in C:\\Program Files\\TenderKey"
    registered || fail "msiexec /i did not register the service"
    echo "ok   msiexec /i: service TenderKey registered"
    cmp -s "$data/tenderkeyd.toml" "$log/config-before" ||
        fail "msiexec /i replaced the existing tenderkeyd.toml"
    echo "ok   msiexec /i: the existing tenderkeyd.toml kept"
    check_daemon "TenderKey service (from the MSI)"
    wine msiexec /x "$msi" /qn > "$log/msiexec-remove" 2>&1 || fail "msiexec /x"
    for f in "${installed_files[@]}"; do
        [ ! -e "$target/$f" ] || fail "msiexec /x left $f"
    done
    [ ! -e "$data" ] || fail "msiexec /x left C:\\ProgramData\\TenderKey: $(ls -R "$data")"
    if registered; then
        fail "msiexec /x left the service registered"
    fi
    echo "ok   msiexec /x: files, service and C:\\ProgramData\\TenderKey removed"
    ;;
cli)
    # One Wine prefix session for the whole step: a tenderkey.exe started while the prefix
    # shuts down (after the daemon's exit) could fail for that reason alone.
    keep_wine_up
    # --version: the project version, as the daemon's.
    tk --version
    [ "$tk_status" = 0 ] || fail "tenderkey.exe --version exited with $tk_status"
    version=$(cat "$log/tk.out")
    daemon_version=$(wine "$msi_dir/tenderkeyd.exe" --version 2>/dev/null | tr -d '\r' | head -1)
    [[ "$version" =~ ^tenderkey\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--version printed '$version'"
    [ "${version#tenderkey }" = "${daemon_version##* }" ] ||
        fail "tenderkey.exe is $version, tenderkeyd.exe $daemon_version"
    echo "ok   tenderkey.exe --version: $version (tenderkeyd.exe: $daemon_version)"

    # origins list/add/remove on a configuration in a folder like %ProgramData%\TenderKey,
    # its state folder beside it.
    data=$log/ProgramData/TenderKey
    mkdir -p "$data/state"
    config=$data/tenderkeyd.toml
    wconfig=$(winepath -w "$config")
    wstate=$(winepath -w "$data/state")
    make_vendor32_dll "$log/vendor32.dll"
    module=$(winepath -w "$log/vendor32.dll")
    printf '%s\n' "# Written by the administrator: this comment stays." \
        "state_directory = '$wstate'" "" "[[listeners]]" 'address = "127.0.0.1"' "port = $port" \
        "" "[[origins]]" "origin = \"$allowed\"" "" "[pkcs11]" "modules = ['$module']" > "$config"
    tk origins list --json --config "$wconfig"
    [ "$tk_status" = 0 ] || fail "origins list exited with $tk_status: $(cat "$log/tk.err")"
    [ "$(json_get '["origins"][0]["origin"]')" = "\"$allowed\"" ] ||
        fail "origins list: $(cat "$log/tk.out")"
    echo "ok   tenderkey.exe origins list: $allowed in $wconfig"
    added=https://added.example
    before=$(stat -c %i "$config")
    tk origins add "$added=read,sign" --json --config "$wconfig"
    [ "$tk_status" = 0 ] || fail "origins add exited with $tk_status: $(cat "$log/tk.err")"
    grep -q "^origin = \"$added\"" "$config" || fail "origins add: $added not in the file"
    grep -q "this comment stays" "$config" || fail "origins add lost the administrator's comment"
    [ "$(stat -c %i "$config")" != "$before" ] ||
        fail "origins add rewrote the file in place (same inode) instead of replacing it"
    leftovers=$(find "$data" -maxdepth 1 -type f ! -name tenderkeyd.toml ! -name tenderkeyd.toml.lock)
    [ -z "$leftovers" ] || fail "origins add left files behind: $leftovers"
    if [ "$(json_get '["reload"]["method"]')" != '"service"' ] ||
        [ "$(json_get '["reload"]["reloaded"]')" != false ]; then
        fail "origins add: reload $(json_get '["reload"]')"
    fi
    echo "ok   tenderkey.exe origins add: $added in the file, which was replaced (new inode)," \
         "comment kept; reload: $(json_get '["reload"]["message"]')"
    before=$(stat -c %i "$config")
    tk origins remove "$added" --json --config "$wconfig"
    [ "$tk_status" = 0 ] || fail "origins remove exited with $tk_status: $(cat "$log/tk.err")"
    ! grep -q "$added" "$config" || fail "origins remove: $added still in the file"
    grep -q "^origin = \"$allowed\"" "$config" || fail "origins remove took $allowed too"
    [ "$(stat -c %i "$config")" != "$before" ] || fail "origins remove rewrote the file in place"
    echo "ok   tenderkey.exe origins remove: $added gone, $allowed kept, the file replaced"
    cp "$config" "$log/config-before"
    tk origins add "https://*.gov.tw" --config "$wconfig"
    [ "$tk_status" = 15 ] || fail "a refused origin: exit status $tk_status, not 15"
    cmp -s "$config" "$log/config-before" || fail "a refused origin changed the file"
    echo "ok   tenderkey.exe origins add of a refused origin: exit status 15, file unchanged:" \
         "$(head -1 "$log/tk.err")"

    # doctor against tenderkeyd.exe in a console on the configuration's port, then without it.
    setsid wine "$msi_dir/tenderkeyd.exe" --port "$port" --allow-origin "$allowed" \
        > "$log/tenderkeyd.out" 2> "$log/tenderkeyd.err" < /dev/null &
    daemon_pid=$!
    python3 "${probe[@]}" wait-health "$port" 90 > "$log/health" 2>&1 ||
        fail "tenderkeyd.exe: /health did not answer"
    tk doctor --json --config "$wconfig"
    [ "$tk_status" = 20 ] || fail "doctor exited with $tk_status, not 20: $(cat "$log/tk.out")"
    expect_check "listener ws://127.0.0.1:$port/" ok \
        "^tenderkeyd [0-9.]+ answers /health, 0 reader\(s\) \(held by tenderkeyd.exe \(pid [0-9]+\)\)$"
    expect_check pcscd fail "SCardEstablishContext"
    expect_check readers fail "not checked"
    expect_check "pkcs11 $module" fail "it is a DLL for x86, and tenderkeyd is a 64-bit"
    expect_check service warn "TenderKey service is not installed"
    expect_check access fail "is refused: it is owned by S-1-5-21-"
    expect_check "hipki port 61161" info "^the HiPKI endpoint is off \(\[hipki\] enabled is not set\)$"
    # status: the daemon up, PC/SC unavailable (a warning, exit status 19).
    tk status --json --config "$wconfig"
    [ "$tk_status" = 19 ] && [ "$(json_get '["daemon"]["running"]')" = true ] &&
        [ "$(json_get '["pcsc"]["available"]')" = false ] ||
        fail "status: exit status $tk_status, $(cat "$log/tk.out")"
    echo "ok   tenderkey.exe status: daemon running, PC/SC unavailable, exit status 19"
    kill -INT "$daemon_pid"
    for _ in $(seq 60); do
        kill -0 "$daemon_pid" 2>/dev/null || break
        sleep 0.5
    done
    wait "$daemon_pid" 2>/dev/null || true
    daemon_pid=
    tk doctor --json --config "$wconfig"
    [ "$tk_status" = 20 ] || fail "doctor without the daemon exited with $tk_status, not 20"
    expect_check "listener ws://127.0.0.1:$port/" fail "nothing listens"

    # Arguments arrive in UTF-8 (wmain): a name outside every ANSI code page comes back intact
    # in the refusal.
    tk origins add "https://測試.example" --config "$wconfig"
    [ "$tk_status" = 15 ] && grep -q "origin https://測試.example has non-ASCII" "$log/tk.err" ||
        fail "a non-ASCII argument: exit status $tk_status, $(cat "$log/tk.err")"
    echo "ok   a UTF-8 argument reaches the tool intact: $(cat "$log/tk.err")"

    # Secret input, through the functions the PIN commands call (tk_wine_secret_probe.exe):
    # a file's first line, TENDERKEY_PIN (taken out of the environment once read), and with
    # neither no console to ask on — standard input is not a PIN source — so exit status 10.
    secret_probe=$build/bin/tk_wine_secret_probe.exe
    printf '12345678\r\nsecond line\n' > "$log/pin"
    out=$(wine "$secret_probe" pin verify --pin-file "$(winepath -w "$log/pin")" < /dev/null |
          tr -d '\r')
    [ "$out" = "file-or-environment 8 bytes, TENDERKEY_PIN absent" ] || fail "--pin-file: $out"
    echo "ok   PIN from --pin-file: the first line (CR LF ended): $out"
    out=$(TENDERKEY_PIN=123456 wine "$secret_probe" pin verify < /dev/null | tr -d '\r')
    [ "$out" = "file-or-environment 6 bytes, TENDERKEY_PIN absent" ] || fail "TENDERKEY_PIN: $out"
    echo "ok   PIN from TENDERKEY_PIN, dropped from the process environment: $out"
    status=0
    out=$(echo 123456 | wine "$secret_probe" pin verify | tr -d '\r') || status=$?
    [ "$status" = 10 ] && [[ "$out" == "no source: a PIN is needed: give --pin-file or TENDERKEY_PIN (no terminal to ask on"* ]] ||
        fail "no PIN source: exit status $status, $out"
    echo "ok   no file, no variable, standard input a pipe: exit status 10, $out"
    ;;
*)
    echo "unknown step $step" >&2
    exit 2
    ;;
esac
