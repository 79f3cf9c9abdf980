# tk_harness_gtests(TARGET t SOURCE file.cpp PREFIX name [TIMEOUT s] [WITH_FIXTURE]
#                   [FIXTURE_ARGS_REQUIRED] [HARNESS_ARGS args...])
#
# Registers one ctest entry per TEST_F of a GoogleTest source, each run alone in its own
# tests/harness/with-cards (private namespaces, its own pcscd and virtual cards), because such
# tests kill pcscd or pull cards. The list is read from the source, so it cannot drift from the
# code; every TEST_F must sit on one line. Entries are named PREFIX.Name, or
# PREFIX.Fixture.Name with WITH_FIXTURE. Harness arguments come from HARNESS_ARGS, or, when the
# variable tk_harness_args_<Fixture> is defined, from it (per-fixture card set-ups);
# FIXTURE_ARGS_REQUIRED makes a fixture without such a variable a configuration error.
function(tk_harness_gtests)
  cmake_parse_arguments(PARSE_ARGV 0 H "WITH_FIXTURE;FIXTURE_ARGS_REQUIRED" "TARGET;SOURCE;PREFIX;TIMEOUT"
                        "HARNESS_ARGS")
  if(NOT TARGET tenderkey-vcard)
    message(STATUS "${H_SOURCE}: no tenderkey-vcard target, integration tests not registered")
    return()
  endif()
  if(NOT H_TIMEOUT)
    set(H_TIMEOUT 120)
  endif()
  set(path ${CMAKE_CURRENT_SOURCE_DIR}/${H_SOURCE})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${path})
  set(pattern "^TEST_F\\(([A-Za-z0-9]+), ([A-Za-z0-9_]+)\\)")
  file(STRINGS ${path} cases REGEX "${pattern}")
  file(STRINGS ${path} all REGEX "TEST_F\\(")
  list(LENGTH cases registered)
  list(LENGTH all declared)
  if(NOT registered EQUAL declared)
    message(FATAL_ERROR "${H_SOURCE}: ${declared} TEST_F but ${registered} registrable; keep each "
                        "`TEST_F(Fixture, Name)` on one line")
  endif()
  foreach(line IN LISTS cases)
    string(REGEX REPLACE "${pattern}.*" "\\1" fixture "${line}")
    string(REGEX REPLACE "${pattern}.*" "\\2" case "${line}")
    set(harness_args ${H_HARNESS_ARGS})
    if(DEFINED tk_harness_args_${fixture})
      set(harness_args ${tk_harness_args_${fixture}})
    elseif(H_FIXTURE_ARGS_REQUIRED)
      message(FATAL_ERROR "${H_SOURCE}: no harness arguments for fixture ${fixture}")
    endif()
    if(H_WITH_FIXTURE)
      set(name ${H_PREFIX}.${fixture}.${case})
    else()
      set(name ${H_PREFIX}.${case})
    endif()
    add_test(NAME ${name}
             COMMAND ${PROJECT_SOURCE_DIR}/tests/harness/with-cards
                     --vcard $<TARGET_FILE:tenderkey-vcard> ${harness_args}
                     -- $<TARGET_FILE:${H_TARGET}> --gtest_filter=${fixture}.${case})
    # A filter that matches nothing would pass silently.
    set_tests_properties(${name} PROPERTIES LABELS "integration" TIMEOUT ${H_TIMEOUT}
                         FAIL_REGULAR_EXPRESSION "Running 0 tests")
  endforeach()
endfunction()
