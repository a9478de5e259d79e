# cmake -D TEST_EXECUTABLE=<Catch2 test executable> -P check_test_names.cmake
# Fails when a test case name contains ';' or '\': catch_discover_tests splits a name at ';', and
# Catch2 reads '\' in a filter as an escape, so the CTest entry would match no case and the case
# would never run (tests/main.cpp also fails a filter that matches nothing, at run time).
execute_process(COMMAND "${TEST_EXECUTABLE}" --list-test-names-only
                OUTPUT_VARIABLE names RESULT_VARIABLE rc)
if(rc LESS 0 OR NOT rc MATCHES "^[0-9]+$")
  message(FATAL_ERROR "${TEST_EXECUTABLE} --list-test-names-only failed: ${rc}")
endif()
string(REPLACE ";" "<SEMICOLON>" names "${names}")
string(REGEX MATCHALL "[^\n]*(<SEMICOLON>|\\\\)[^\n]*" bad "${names}")
if(bad)
  string(REPLACE ";" "\n  " bad "${bad}")
  string(REPLACE "<SEMICOLON>" ";" bad "${bad}")
  message(FATAL_ERROR "${TEST_EXECUTABLE}: test case names must not contain ';' or '\\' "
                      "(CTest's entry for the case would match nothing and the case would never run):\n  ${bad}")
endif()
