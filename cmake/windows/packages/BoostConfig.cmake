# Boost.Asio header-only on Windows 10 and later (its sockets need Winsock).
include(${CMAKE_CURRENT_LIST_DIR}/HeaderOnly.cmake)
tk_header_only_target(Boost::headers INTERFACE_COMPILE_DEFINITIONS "_WIN32_WINNT=0x0A00;WIN32_LEAN_AND_MEAN")
set_property(TARGET Boost::headers APPEND PROPERTY INTERFACE_LINK_LIBRARIES ws2_32 mswsock)
if(NOT TARGET Boost::boost)
  add_library(Boost::boost ALIAS Boost::headers)
endif()
set(Boost_INCLUDE_DIRS "${TK_WINDOWS_HOST_HEADERS}")
