include(${CMAKE_CURRENT_LIST_DIR}/HeaderOnly.cmake)
tk_header_only_target(nlohmann_json::nlohmann_json)
