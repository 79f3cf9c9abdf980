/* Windows builds only (cmake/windows/mingw-w64-x86_64.cmake puts this folder on the include
   path): the POSIX header of inet_pton, inet_ntop and the address structures, provided by
   Winsock. inet_pton and inet_ntop need no WSAStartup. */
#pragma once
#ifndef NOMINMAX
#define NOMINMAX
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
