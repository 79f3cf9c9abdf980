include(${CMAKE_CURRENT_LIST_DIR}/HeaderOnly.cmake)
tk_header_only_target(tomlplusplus::tomlplusplus INTERFACE_COMPILE_DEFINITIONS "TOML_HEADER_ONLY=1")
