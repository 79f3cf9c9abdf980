include(${CMAKE_CURRENT_LIST_DIR}/HeaderOnly.cmake)
tk_header_version(boost/version.hpp "define BOOST_LIB_VERSION \"([0-9_]+)\"")
string(REPLACE "_" "." PACKAGE_VERSION "${PACKAGE_VERSION}")
tk_check_version()
