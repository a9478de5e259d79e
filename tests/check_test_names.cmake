# cmake -D TEST_EXECUTABLE=<Catch2 test executable> -P check_test_names.cmake
# Fails when a test case name contains ';': catch_discover_tests would split it into CTest entries
# whose filters match no case, so the case would never run.
execute_process(COMMAND "${TEST_EXECUTABLE}" --list-test-names-only
                OUTPUT_VARIABLE names RESULT_VARIABLE rc)
if(rc LESS 0 OR NOT rc MATCHES "^[0-9]+$")
  message(FATAL_ERROR "${TEST_EXECUTABLE} --list-test-names-only failed: ${rc}")
endif()
string(FIND "${names}" ";" semicolon)
if(NOT semicolon EQUAL -1)
  string(REPLACE ";" "<SEMICOLON>" names "${names}")
  string(REGEX MATCHALL "[^\n]*<SEMICOLON>[^\n]*" bad "${names}")
  string(REPLACE ";" "\n  " bad "${bad}")
  string(REPLACE "<SEMICOLON>" ";" bad "${bad}")
  message(FATAL_ERROR "${TEST_EXECUTABLE}: test case names must not contain ';' "
                      "(catch_discover_tests splits them and the case never runs):\n  ${bad}")
endif()
