#!/usr/bin/env bash
# Installs the Debian 12 packages TenderKey needs to build and test, when they are missing,
# and unpacks the vpcd reader driver into .cache/vpcd for the test harness. For the Windows
# build (scripts/build-windows-deps.sh) it adds Debian's deb-src entries, and makes sure the
# installed OpenSSL, libwebsockets and libpsl are versions whose source the archive serves.
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
# The Windows build and its tests: MinGW-w64's zlib, libpsl's data, wine, the MSI tools,
# Authenticode signing, and what the Windows tests drive the daemon with.
windows_pkgs=(libpsl-dev publicsuffix meson libz-mingw-w64-dev wine wine64 msitools wixl
    osslsigncode python3)

sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo)

# The JavaScript client's tests need Node.js (Debian's nodejs when none is installed).
command -v node >/dev/null || test_pkgs+=(nodejs)
command -v npm >/dev/null || test_pkgs+=(npm)

missing=()
for p in "${build_pkgs[@]}" "${test_pkgs[@]}" "${windows_pkgs[@]}"; do
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

# deb-src for apt-get source (Debian 12's deb822 form), the security archive included: the
# Windows build compiles OpenSSL, libwebsockets and libpsl from these.
deb_src=/etc/apt/sources.list.d/tenderkey-deb-src.sources
if [ ! -e "$deb_src" ]; then
    echo "install-deps: adding Debian's deb-src entries ($deb_src)"
    "${sudo[@]}" tee "$deb_src" >/dev/null <<'SOURCES'
# Added by TenderKey's scripts/install-deps.sh: Debian source packages for the Windows
# cross build (openssl, libwebsockets, libpsl), including the security archive.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    apt_updated=0
    apt_update
fi

# The Windows build compiles each library from the source of the installed binary package's
# exact version. When the archive does not serve that source (a security update superseded it,
# or a mirror lists it but lacks its files), the binary packages move to the newest version
# the archive serves both as binary and as source: Linux and Windows builds then use the same
# OpenSSL. A version already built into the Windows dependency cache needs no source.
source_versions() { apt-cache showsrc --only-source "$1" 2>/dev/null | awk '/^Version:/ {print $2}'; }
# Whether the archive really serves that version's source: an index entry whose files a mirror
# does not have has been seen, so the files are fetched into a scratch folder (not unpacked).
source_downloads() {
    local tmp ok=1
    tmp=$(mktemp -d)
    if (cd "$tmp" && apt-get source -qq --download-only --only-source "$1=$2" >/dev/null 2>&1); then
        ok=0
    fi
    rm -rf "$tmp"
    return $ok
}
# Whether scripts/build-windows-deps.sh has a finished build of that version in its cache (the
# same cache rule as there): then no source is needed.
windows_build_cached() {
    local cache=${TK_CACHE_DIR:-}
    if [ -z "$cache" ]; then
        cache=${XDG_CACHE_HOME:-$HOME/.cache}/tenderkey
        [ -d "$cache" ] || cache=$top/.cache
    fi
    compgen -G "$cache/windows-deps/$1-${2//[:~]/_}-*/.complete" >/dev/null
}
serves_source() {
    source_versions "$1" | grep -qxF "$2" && source_downloads "$1" "$2"
}
pin_to_source() {
    local source=$1 probe=$2
    shift 2
    local installed
    installed=$(dpkg-query -W -f='${Version}' "$probe" 2>/dev/null || true)
    if windows_build_cached "$source" "$installed" || serves_source "$source" "$installed"; then
        return
    fi
    local best="" v
    for v in $(apt-cache madison "$probe" | awk -F'|' '{gsub(/ /, "", $2); print $2}' |
               sort -u -r -V); do
        if serves_source "$source" "$v"; then
            best=$v
            break
        fi
    done
    if [ -z "$best" ]; then
        echo "install-deps: no version of $source is in the archive as binary and source" >&2
        exit 1
    fi
    echo "install-deps: $probe $installed has no source the archive serves: installing $best"
    local pkgs=() p
    for p in "$@"; do pkgs+=("$p=$best"); done
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --allow-downgrades \
        --no-install-recommends "${pkgs[@]}" >/dev/null
}
pin_to_source openssl libssl-dev libssl-dev libssl3 openssl
pin_to_source libwebsockets libwebsockets-dev libwebsockets-dev libwebsockets17
pin_to_source libpsl libpsl-dev libpsl-dev libpsl5

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
