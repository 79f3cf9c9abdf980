# Cross build for 64-bit Windows with Debian's MinGW-w64 (posix thread model: std::thread and
# std::mutex from winpthreads). Used by the `windows` preset; the libraries come from
# scripts/build-windows-deps.sh, whose prefix is TK_WINDOWS_DEPS:
#   .cache/windows-deps-current -> <cache>/windows-deps/current
#     include/ lib/ lib/pkgconfig/   OpenSSL, libwebsockets, libpsl (static)
#     include-host/                  links to the header-only Debian -dev packages' headers
# Everything is linked statically (libstdc++, libgcc, winpthreads included) and stripped: the
# executables need only system DLLs.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(TK_MINGW_HOST x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${TK_MINGW_HOST}-gcc-posix)
set(CMAKE_CXX_COMPILER ${TK_MINGW_HOST}-g++-posix)
set(CMAKE_RC_COMPILER ${TK_MINGW_HOST}-windres)
set(CMAKE_MC_COMPILER ${TK_MINGW_HOST}-windmc)

if(NOT TK_WINDOWS_DEPS)
  set(TK_WINDOWS_DEPS "${CMAKE_CURRENT_LIST_DIR}/../../.cache/windows-deps-current")
endif()
get_filename_component(TK_WINDOWS_DEPS "${TK_WINDOWS_DEPS}" REALPATH)
if(NOT EXISTS "${TK_WINDOWS_DEPS}/lib/pkgconfig/libwebsockets.pc")
  message(FATAL_ERROR "No Windows libraries in ${TK_WINDOWS_DEPS}: run scripts/build-windows-deps.sh")
endif()
# try_compile projects see the same prefix.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES TK_WINDOWS_DEPS)

set(CMAKE_FIND_ROOT_PATH "${TK_WINDOWS_DEPS}" /usr/${TK_MINGW_HOST})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config sees the Windows prefix only (libwebsockets, libpsl, p11-kit's header, zlib).
set(ENV{PKG_CONFIG_LIBDIR} "${TK_WINDOWS_DEPS}/lib/pkgconfig:/usr/${TK_MINGW_HOST}/lib/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

set(OPENSSL_ROOT_DIR "${TK_WINDOWS_DEPS}")
set(OPENSSL_USE_STATIC_LIBS TRUE)
set(ZLIB_USE_STATIC_LIBS TRUE)

# The header-only libraries: package files of this folder point at include-host/.
set(TK_WINDOWS_HOST_HEADERS "${TK_WINDOWS_DEPS}/include-host")
foreach(package nlohmann_json spdlog tomlplusplus Boost)
  set(${package}_DIR "${CMAKE_CURRENT_LIST_DIR}/packages")
endforeach()

# POSIX socket-address headers (arpa/inet.h) mapped to Winsock: cmake/windows/include.
set(CMAKE_C_FLAGS_INIT "-isystem ${CMAKE_CURRENT_LIST_DIR}/include")
set(CMAKE_CXX_FLAGS_INIT "-isystem ${CMAKE_CURRENT_LIST_DIR}/include")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -s")
