#!/usr/bin/env bash
# Fails, naming the files, when a C++ source does not follow .clang-format.
set -euo pipefail
cf=${1:-clang-format}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.cpp' '*.hpp' '*.h' '*.cc' 2>/dev/null \
    || find daemon tests windows-service -name '*.[ch]pp')
bad=()
for f in "${files[@]}"; do
    [ -f "$f" ] || continue
    "$cf" --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
    printf 'not clang-formatted: %s\n' "${bad[@]}"
    exit 1
fi
echo "${#files[@]} files follow .clang-format"
