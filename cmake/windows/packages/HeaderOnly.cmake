# Shared by the package files of this folder: an INTERFACE target on the Debian -dev
# package's headers, through the links in include-host/ (never /usr/include itself, whose
# glibc headers must not mix with MinGW's).
function(tk_header_only_target target)
  if(TARGET ${target})
    return()
  endif()
  add_library(${target} INTERFACE IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${TK_WINDOWS_HOST_HEADERS}"
                                             INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${TK_WINDOWS_HOST_HEADERS}")
  if(ARGN)
    set_property(TARGET ${target} APPEND PROPERTY ${ARGN})
  endif()
endfunction()

# PACKAGE_VERSION from a #define in a header: tk_header_version(FILE REGEX) sets the match.
function(tk_header_version file regex)
  file(STRINGS "${TK_WINDOWS_HOST_HEADERS}/${file}" lines REGEX "${regex}")
  string(REGEX REPLACE ".*${regex}.*" "\\1" version "${lines}")
  set(PACKAGE_VERSION "${version}" PARENT_SCOPE)
endfunction()

macro(tk_check_version)
  if(PACKAGE_FIND_VERSION AND PACKAGE_VERSION VERSION_LESS PACKAGE_FIND_VERSION)
    set(PACKAGE_VERSION_COMPATIBLE FALSE)
  else()
    set(PACKAGE_VERSION_COMPATIBLE TRUE)
  endif()
endmacro()
