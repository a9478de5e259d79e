#pragma once
// What every command-line tool shares: exit codes, the version line, and turning any failure
// into one line on stderr. Apps stay thin: they parse flags with CLI11, call one library
// function and print its report.
#include <functional>
#include <string>

namespace mithril::tools {

/// Exit codes of every tool.
enum ExitCode : int {
  kExitOk = 0,
  kExitCheckFailed = 1,  ///< a check ran and failed (outputs differ, files not at the target version)
  kExitInputError = 2,   ///< bad usage or bad input (unreadable, corrupt, invalid model, unknown name)
};

/// "mithril-run 0.1.0 (model format 1.0.0)".
std::string version_line(const std::string& tool);

/// Runs `body` and maps what escapes it: mithril::Error and std::exception print
/// "<tool>: error: <message>" on stderr and give kExitInputError; std::bad_alloc says
/// "out of memory". Returns what `body` returns otherwise.
int run_guarded(const std::string& tool, const std::function<int()>& body);

}  // namespace mithril::tools
