#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, and runs every test twice —
# in the release build and in the address+undefined sanitizer build.
#   scripts/test.sh            both builds
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
    echo "=== $preset: configure and build"
    cmake --preset "$preset" >/dev/null
    cmake --build --preset "$preset"
    echo "=== $preset: tests"
    ctest --preset "$preset" || status=$?
done
exit "$status"
