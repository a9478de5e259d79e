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
/// "out of memory". With `json_errors` (the tool's --json), the error is also printed on stdout
/// as {"tool", "ok": false, "error_kind", "error"}, so a script that parses --json output always
/// gets JSON. Returns what `body` returns otherwise.
int run_guarded(const std::string& tool, const std::function<int()>& body, bool json_errors = false);

/// That JSON error object (one line). `kind` is an error kind name ("io", "format", ...).
std::string tool_error_json(const std::string& tool, const std::string& kind, const std::string& message);

}  // namespace mithril::tools
