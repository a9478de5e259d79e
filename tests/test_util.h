#pragma once
// Helpers shared by the unit tests of every module.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>

#include "core/error.h"

namespace mithril::testing {

/// The message of the mithril::Error `f` throws, or "" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

/// The exit code of a test process whose every test case skipped; CTest's SKIP_RETURN_CODE for the
/// Catch2 executables and the e2e scripts (tests/CMakeLists.txt).
constexpr int kSkipExitCode = 77;

/// Marks the running test case as skipped because of `reason` (printed); the case returns right
/// after. CTest then reports it as skipped (see tests/main.cpp), never as passed.
void skip_test(const std::string& reason);

/// A fresh folder under the system temp folder, removed with everything in it at scope exit.
struct TempDir {
  std::filesystem::path path;

  TempDir() {
    static std::atomic<int> counter{0};
    path = std::filesystem::temp_directory_path() /
           ("mithril-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// The path of `name` inside the folder.
  std::string file(const std::string& name) const { return (path / name).string(); }
  std::string operator/(const std::string& name) const { return file(name); }
};

}  // namespace mithril::testing
