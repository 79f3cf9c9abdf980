# spdlog and fmt header-only (Debian's spdlog uses the external fmt).
include(${CMAKE_CURRENT_LIST_DIR}/HeaderOnly.cmake)
tk_header_only_target(spdlog::spdlog INTERFACE_COMPILE_DEFINITIONS "SPDLOG_FMT_EXTERNAL;FMT_HEADER_ONLY")
