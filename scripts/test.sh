#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, and runs every test twice —
# in the release build and in the address+undefined sanitizer build — then the threaded
# tests under ThreadSanitizer, each libFuzzer target for a few seconds, and the Windows
# build (MinGW-w64 cross build, signed executables and MSI) with its windows.* tests under Wine.
#   scripts/test.sh            all five builds
#   scripts/test.sh --quick    the release build only
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
quick=0
[ "${1:-}" = "--quick" ] && quick=1

scripts/install-deps.sh

presets=(default)
[ "$quick" = 1 ] || presets+=(debug-asan)
status=0
for preset in "${presets[@]}"; do
    start=$SECONDS
    echo "=== $preset: configure and build"
    cmake --preset "$preset" >/dev/null
    cmake --build --preset "$preset"
    built=$SECONDS
    echo "=== $preset: tests"
    ctest --preset "$preset" || status=$?
    echo "=== $preset: build $((built - start)) s, tests $((SECONDS - built)) s"
done

# The extra builds compile only what their tests need (the targets of their build preset):
#   tsan  the server, service, PC/SC monitor and daemon tests under ThreadSanitizer
#   fuzz  the libFuzzer targets of tests/fuzz (clang), each run briefly from its seed corpus
if [ "$quick" = 0 ]; then
    for preset in tsan fuzz; do
        start=$SECONDS
        echo "=== $preset: configure and build"
        cmake --preset "$preset" >/dev/null
        cmake --build --preset "$preset"
        built=$SECONDS
        echo "=== $preset: tests"
        ctest --preset "$preset" || status=$?
        echo "=== $preset: build $((built - start)) s, tests $((SECONDS - built)) s"
    done
fi
# Windows: the libraries from Debian's sources (built once, then cached: see
# scripts/build-windows-deps.sh), the executables and the MSI, then the windows.* tests.
if [ "$quick" = 0 ]; then
    start=$SECONDS
    echo "=== windows: libraries (cached after the first build)"
    nice -n 10 scripts/build-windows-deps.sh >/dev/null
    deps=$SECONDS
    echo "=== windows: configure and build"
    cmake --preset windows >/dev/null
    cmake --build --preset windows
    built=$SECONDS
    echo "=== windows: tests"
    ctest --preset windows || status=$?
    echo "=== windows: libraries $((deps - start)) s, build $((built - deps)) s," \
         "tests $((SECONDS - built)) s"
fi
exit "$status"
