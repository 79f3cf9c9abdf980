#!/usr/bin/env bash
# Installs the Debian 12 packages TenderKey needs to build and test, when they are missing,
# and unpacks the vpcd reader driver into .cache/vpcd for the test harness.
#
# vpcd is deliberately NOT installed as a package: Debian's vsmartcard-vpcd adds a reader to
# the system pcscd that listens on every network interface, so anyone on the network could
# insert a card. The harness loads the unpacked driver into its own private pcscd instead.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

build_pkgs=(cmake ninja-build g++ pkg-config libpcsclite-dev libssl-dev libboost-dev
    libwebsockets-dev libspdlog-dev nlohmann-json3-dev libgtest-dev libgmock-dev
    libsystemd-dev libtomlplusplus-dev zlib1g-dev clang-format libp11-kit-dev ccache
    libpsl-dev publicsuffix)
test_pkgs=(pcscd opensc yubico-piv-tool openssl iproute2 util-linux procps socat
    softhsm2 systemd clang libclang-rt-14-dev g++-mingw-w64-x86-64-win32
    g++-mingw-w64-x86-64-posix dpkg-dev chromium fonts-wqy-zenhei)

sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo)

# The JavaScript client's tests need Node.js (Debian's nodejs when none is installed).
command -v node >/dev/null || test_pkgs+=(nodejs)
command -v npm >/dev/null || test_pkgs+=(npm)

missing=()
for p in "${build_pkgs[@]}" "${test_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done

apt_updated=0
apt_update() {
    [ "$apt_updated" = 1 ] && return
    "${sudo[@]}" apt-get update -qq
    apt_updated=1
}

if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    apt_update
    # No daemon is started by these packages on a machine without systemd; on one with it,
    # the system pcscd stays socket-activated and untouched by the tests.
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

vpcd_dir="$top/.cache/vpcd"
if [ ! -e "$vpcd_dir/usr/lib/pcsc/drivers/serial/libifdvpcd.so" ]; then
    echo "install-deps: unpacking the vpcd reader driver into .cache/vpcd"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    if ! (cd "$tmp" && apt-get download -qq vsmartcard-vpcd >/dev/null 2>&1); then
        apt_update
        (cd "$tmp" && apt-get download -qq vsmartcard-vpcd >/dev/null 2>&1)
    fi
    mkdir -p "$vpcd_dir"
    dpkg-deb -x "$tmp"/vsmartcard-vpcd_*.deb "$vpcd_dir"
fi

# The browser tests (tests/e2e) drive chromium with playwright-core from npm.
if [ ! -d "$top/tests/e2e/node_modules" ] && command -v npm >/dev/null; then
    echo "install-deps: npm ci in tests/e2e"
    (cd "$top/tests/e2e" && npm ci --no-audit --no-fund >/dev/null)
fi
