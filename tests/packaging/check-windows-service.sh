#!/usr/bin/env bash
# packaging.windows-service.mingw_syntax: every source of windows-service/ through the MinGW-w64
# compiler with -fsyntax-only and the project's warnings, against the MinGW Windows headers.
#   check-windows-service.sh SOURCE_DIR SPDLOG_INCLUDE_DIR FMT_INCLUDE_DIR
#
# The Win32 parts (service entry point and control handler, install/uninstall, Event Log and
# its spdlog sink) are checked with x86_64-w64-mingw32-g++ as it is (win32 thread model).
# daemon_bridge.cpp includes the daemon core and spdlog's logger registry, which need
# std::mutex and std::thread: GCC 12's win32 thread model has neither, so it is checked with
# the same compiler in its posix thread model (x86_64-w64-mingw32-g++-posix). spdlog and fmt
# are header-only and portable; only their directories are put on the include path, not the
# rest of /usr/include (glibc's headers must not mix with MinGW's).
set -euo pipefail
src=$1 spdlog_dir=$2 fmt_dir=$3
win32=x86_64-w64-mingw32-g++
posix=x86_64-w64-mingw32-g++-posix
command -v "$win32" >/dev/null || { echo "FAIL: $win32 not installed (apt-get install g++-mingw-w64-x86-64)"; exit 1; }
command -v "$posix" >/dev/null || { echo "FAIL: $posix not installed (apt-get install g++-mingw-w64-x86-64-posix)"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ln -s "$spdlog_dir/spdlog" "$work/spdlog"
ln -s "$fmt_dir/fmt" "$work/fmt"

flags=(-std=c++20 -fsyntax-only -Wall -Wextra -Wpedantic -Werror -DUNICODE -D_UNICODE
       -isystem "$work" -I "$src/daemon" -I "$src/windows-service")
# Two at a time (the files are independent; spdlog's headers make each take a while).
check() {
    local file=$1 compiler=$win32
    [ "$(basename "$file")" = daemon_bridge.cpp ] && compiler=$posix
    if "$compiler" "${flags[@]}" "$file" >"$work/$(basename "$file").log" 2>&1; then
        echo "ok   $(basename "$file") ($compiler)"
    else
        cat "$work/$(basename "$file").log"
        echo "FAIL $(basename "$file") ($compiler)"
        return 1
    fi
}
status=0
count=0
pids=()
for file in "$src"/windows-service/*.cpp; do
    check "$file" &
    pids+=($!)
    count=$((count + 1))
    if [ "${#pids[@]}" -ge 2 ]; then
        wait "${pids[0]}" || status=1
        pids=("${pids[@]:1}")
    fi
done
for pid in "${pids[@]}"; do
    wait "$pid" || status=1
done
[ "$count" -ge 5 ] || { echo "FAIL: only $count sources found in $src/windows-service"; exit 1; }
exit "$status"
