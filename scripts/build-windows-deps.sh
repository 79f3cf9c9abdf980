#!/usr/bin/env bash
# Builds the Windows (x86_64, MinGW-w64, posix thread model) libraries tenderkeyd links
# statically — OpenSSL, libwebsockets, libpsl — from Debian's own source packages, each pinned
# to the version of the installed Linux binary package, so the Windows build carries exactly
# the patches (security fixes included) of the Debian machine that builds it.
#
#   scripts/build-windows-deps.sh           build what is missing, print the prefix
#
# The header-only libraries (Boost.Asio, spdlog + fmt, nlohmann-json, toml++) come from the
# installed Debian -dev packages: the prefix gets a folder of links to just those headers
# (include-host/), never the whole /usr/include, whose glibc headers must not mix with MinGW's.
#
# Cache: every library is installed under windows-deps/<name>-<version>-<recipe>/ of the cache
# directory, where <recipe> is a hash of its build function, the compiler's version and the
# libraries it builds on; a second run finds it and builds nothing. The cache directory is $TK_CACHE_DIR when set, else
# ${XDG_CACHE_HOME:-~/.cache}/tenderkey when that directory exists (so a CI runner or a
# developer keeps one cache across fresh clones: create it once), else .cache/ in the tree.
# The prefix the build uses, windows-deps/current, links the three libraries' folders.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

host=x86_64-w64-mingw32
cc=$host-gcc-posix
cxx=$host-g++-posix
jobs=${TK_JOBS:-2}
command -v "$cxx" >/dev/null || { echo "build-windows-deps: $cxx missing (g++-mingw-w64-x86-64-posix)" >&2; exit 1; }

if [ -n "${TK_CACHE_DIR:-}" ]; then
    cache=$TK_CACHE_DIR
elif [ -d "${XDG_CACHE_HOME:-$HOME/.cache}/tenderkey" ]; then
    cache=${XDG_CACHE_HOME:-$HOME/.cache}/tenderkey
else
    cache=$top/.cache
fi
root=$cache/windows-deps
mkdir -p "$root"

compiler=$("$cc" --version | head -1)

# The version of an installed binary package: the source we build must be the same.
installed_version() {
    dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true
}

# apt-get source of exactly that version into $1/src (needs the deb-src entries that
# scripts/install-deps.sh adds).
fetch_source() {
    local work=$1 source=$2 version=$3
    mkdir -p "$work/src"
    if ! (cd "$work/src" && apt-get source -qq --only-source "$source=$version" >/dev/null); then
        echo "build-windows-deps: apt-get source $source=$version failed: that version's source" \
             "is not in the archive's deb-src index (run scripts/install-deps.sh, which adds" \
             "the deb-src entries and upgrades an installed package the archive has superseded)" >&2
        return 1
    fi
    find "$work/src" -mindepth 1 -maxdepth 1 -type d | head -1
}

# Static-only prefix: what pkg-config lists as private is needed by every link.
flatten_pc() {
    local pc
    for pc in "$1"/lib/pkgconfig/*.pc; do
        [ -e "$pc" ] || continue
        awk '
            /^Libs.private:/ { sub(/^Libs.private:/, ""); priv = priv $0; next }
            /^Requires.private:/ { sub(/^Requires.private:/, ""); rpriv = rpriv $0; next }
            { lines[++n] = $0 }
            END {
                for (i = 1; i <= n; i++) {
                    l = lines[i]
                    if (l ~ /^Libs:/) l = l priv
                    if (l ~ /^Requires:/) { l = l (rpriv != "" ? "," rpriv : ""); hadreq = 1 }
                    print l
                }
                if (!hadreq && rpriv != "") print "Requires:" rpriv
            }' "$pc" > "$pc.new"
        mv "$pc.new" "$pc"
    done
}

# build NAME SOURCE BINARY_PACKAGE [LIBRARY...]: runs build_NAME in a scratch folder unless
# cached; LIBRARYs are the ones it builds on.
build() {
    local name=$1 source=$2 binary=$3 version prefix work
    version=$(installed_version "$binary")
    [ -n "$version" ] || { echo "build-windows-deps: $binary is not installed" >&2; exit 1; }
    local recipe
    recipe=$( (declare -f "build_$name" flatten_pc; echo "$compiler"; shift 3
               for lib in "$@"; do readlink -f "$root/current-$lib"; done) | sha256sum | cut -c1-12)
    prefix=$root/$name-${version//[:~]/_}-$recipe
    if [ -e "$prefix/.complete" ]; then
        echo "build-windows-deps: $name $version cached ($prefix)" >&2
    else
        echo "build-windows-deps: building $name $version from Debian's source" >&2
        local start=$SECONDS
        rm -rf "$prefix"
        work=$(mktemp -d "$root/.work-$name.XXXXXX")
        local dir
        dir=$(fetch_source "$work" "$source" "$version")
        # The compilers' output goes to a log, shown when the build fails.
        if ! (cd "$dir" && "build_$name" "$prefix") > "$work/build.log" 2>&1; then
            tail -40 "$work/build.log" >&2
            echo "build-windows-deps: $name failed; the log: $work/build.log" >&2
            exit 1
        fi
        flatten_pc "$prefix"
        echo "$source $version" > "$prefix/.source"
        touch "$prefix/.complete"
        rm -rf "$work"
        echo "build-windows-deps: $name built in $((SECONDS - start)) s" >&2
    fi
    ln -sfn "$prefix" "$root/current-$name"
    printf '%s\n' "$prefix"
}

# OpenSSL: libcrypto and libssl only (no apps, tests, docs, engines or shared modules).
build_openssl() {
    local prefix=$1
    # The configuration folder is compiled in: one only administrators can write.
    ./Configure mingw64 --prefix="$prefix" --libdir=lib \
        --openssldir="C:/Program Files/TenderKey/ssl" \
        CC="$cc" CXX="$cxx" AR=$host-ar RANLIB=$host-ranlib RC=$host-windres \
        no-shared no-module no-tests no-engine no-dso no-ui-console >/dev/null
    make -s -j"$jobs" build_libs >/dev/null
    make -s install_dev >/dev/null
}

# libwebsockets: the server roles tk_server uses, over the OpenSSL above; no test applications,
# examples, plugins, extensions or event libraries, static only. The client role stays: 4.1's
# Windows event loop does not compile without it.
build_libwebsockets() {
    local prefix=$1 ssl=$root/current-openssl
    # OpenSSL is given explicitly (static, with the Windows libraries it needs), so that
    # libwebsockets' feature checks link against it.
    cmake -S . -B build-win -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_SYSTEM_NAME=Windows -DCMAKE_SYSTEM_PROCESSOR=x86_64 \
        -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_RC_COMPILER=$host-windres \
        -DCMAKE_INSTALL_PREFIX="$prefix" \
        -DLWS_WITH_SSL=ON -DLWS_OPENSSL_INCLUDE_DIRS:STRING="$ssl/include" \
        -DLWS_OPENSSL_LIBRARIES:STRING="$ssl/lib/libssl.a;$ssl/lib/libcrypto.a;-lws2_32;-lcrypt32" \
        -DLWS_WITH_STATIC=ON -DLWS_WITH_SHARED=OFF -DLWS_WITHOUT_TESTAPPS=ON \
        -DLWS_WITHOUT_TEST_SERVER=ON -DLWS_WITHOUT_TEST_CLIENT=ON \
        -DLWS_WITH_MINIMAL_EXAMPLES=OFF -DLWS_WITH_PLUGINS=OFF -DLWS_WITH_ZLIB=OFF \
        -DLWS_WITHOUT_EXTENSIONS=ON -DLWS_WITH_LIBUV=OFF -DLWS_WITH_LIBEV=OFF \
        -DLWS_WITH_LIBEVENT=OFF -DLWS_WITH_GLIB=OFF -DLWS_IPV6=ON -DLWS_WITH_SOCKS5=OFF \
        -DLWS_WITH_HTTP2=OFF -DLWS_WITH_LWSWS=OFF -DLWS_WITH_CGI=OFF -DLWS_WITH_ACCESS_LOG=OFF \
        -DLWS_WITH_SERVER_STATUS=OFF -DLWS_WITH_SYS_ASYNC_DNS=OFF -DLWS_WITH_SYS_NTPCLIENT=OFF \
        -DLWS_WITH_DIR=OFF -DLWS_WITH_LEJP=OFF -DLWS_WITH_STRUCT_JSON=OFF \
        -DLWS_WITH_SECURE_STREAMS=OFF -DDISABLE_WERROR=ON >/dev/null
    cmake --build build-win -- -j"$jobs" >/dev/null
    cmake --install build-win >/dev/null
    # libwebsockets installs no pkg-config file on Windows: this one names the static library
    # and what its users need besides (OpenSSL, the Windows socket and crypto libraries).
    local ssl_dir
    ssl_dir=$(readlink -f "$ssl")
    mkdir -p "$prefix/lib/pkgconfig"
    cat > "$prefix/lib/pkgconfig/libwebsockets.pc" <<PC
prefix=$prefix
Name: libwebsockets
Description: libwebsockets (static, Windows)
Version: ${PWD##*-}
Cflags: -I\${prefix}/include -I$ssl_dir/include
Libs: -L\${prefix}/lib -lwebsockets_static -L$ssl_dir/lib -lssl -lcrypto -lws2_32 -liphlpapi -luserenv -lcrypt32
PC
}

# libpsl: the built-in Public Suffix List (Debian's publicsuffix data, as the Linux package
# uses), no runtime IDNA library, static only; just the library (no tools, tests or fuzzers).
build_libpsl() {
    local prefix=$1 data=/usr/share/publicsuffix/public_suffix_list.dat
    [ -e "$data" ] || { echo "build-windows-deps: $data missing (publicsuffix)" >&2; return 1; }
    cat > cross.ini <<CROSS
[binaries]
c = '$cc'
ar = '$host-ar'
strip = '$host-strip'
windres = '$host-windres'

[host_machine]
system = 'windows'
cpu_family = 'x86_64'
cpu = 'x86_64'
endian = 'little'
CROSS
    meson setup build-win --cross-file cross.ini --prefix="$prefix" --libdir=lib \
        --buildtype=release --default-library=static -Druntime=no -Dbuiltin=true \
        -Dpsl_file="$data" -Ddocs=false >/dev/null
    ninja -C build-win -j"$jobs" src/libpsl.a >/dev/null
    # The pkg-config file says -DPSL_STATIC (no dllimport) for this static library.
    meson install -C build-win --no-rebuild --tags devel >/dev/null
}

# Links to the header-only -dev packages' headers.
host_headers() {
    local dir=$root/include-host
    mkdir -p "$dir"
    local h
    for h in boost spdlog fmt nlohmann toml++ p11-kit-1; do
        [ -e "/usr/include/$h" ] || { echo "build-windows-deps: /usr/include/$h missing" >&2; exit 1; }
        ln -sfn "/usr/include/$h" "$dir/$h"
    done
    printf '%s\n' "$dir"
}

build openssl openssl libssl-dev >/dev/null
build libwebsockets libwebsockets libwebsockets-dev openssl >/dev/null
build libpsl libpsl libpsl-dev >/dev/null
host_headers >/dev/null

# One prefix for the toolchain file: links to each library's folder.
current=$root/current
rm -rf "$current.new"
mkdir -p "$current.new/lib/pkgconfig" "$current.new/include"
for lib in openssl libwebsockets libpsl; do
    for f in "$root/current-$lib"/include/*; do ln -sfn "$f" "$current.new/include/"; done
    for f in "$root/current-$lib"/lib/*.a; do ln -sfn "$f" "$current.new/lib/"; done
    for f in "$root/current-$lib"/lib/pkgconfig/*.pc; do
        sed "s|^prefix=.*|prefix=$(readlink -f "$root/current-$lib")|" "$f" \
            > "$current.new/lib/pkgconfig/$(basename "$f")"
    done
done
ln -sfn "$root/include-host" "$current.new/include-host"
# PKCS#11's header from p11-kit (the daemon loads modules itself; no p11-kit library).
printf 'Name: p11-kit-1\nDescription: pkcs11.h\nVersion: %s\nCflags: -I%s\nLibs:\n' \
    "$(installed_version libp11-kit-dev)" "$root/include-host/p11-kit-1" \
    > "$current.new/lib/pkgconfig/p11-kit-1.pc"
rm -rf "$current"
mv "$current.new" "$current"
# The windows preset's toolchain file finds the prefix here, wherever the cache is.
mkdir -p "$top/.cache"
ln -sfn "$current" "$top/.cache/windows-deps-current"
printf '%s\n' "$current"
