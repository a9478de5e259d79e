#pragma once
// What the four tool mains share: CLI11 setup with --version, and parse errors mapped to the
// tools' exit codes (CLI11's own codes 105, 106... would mean nothing to a script).
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/error.h"
#include "tools/cli.h"
#include "tools/common.h"

namespace mithril::tools {

/// Adds --version (printing version_line) to `app`.
inline void add_version_flag(CLI::App& app, const std::string& tool) { app.set_version_flag("--version", version_line(tool)); }

/// Adds --plugin PATH (repeatable): operator plugins every tool loads before reading models.
inline void add_plugin_option(CLI::App& app, std::vector<std::string>& plugins) {
  app.add_option("--plugin", plugins, "operator plugin to load (repeatable; also $MITHRIL_PLUGINS, ':'-separated)");
}

/// Adds --freeze NAME=FILE (repeatable; tools/common.h add_frozen_inputs).
inline void add_freeze_option(CLI::App& app, std::vector<std::string>& freeze) {
  app.add_option("--freeze", freeze, "ONNX model: fix graph input NAME to the tensor in FILE (.npy) at import, for inputs used "
                                     "as shapes (Reshape's shape, Slice's starts, ...; repeatable)");
}

/// Adds --map, --map-file and --torch-linear (tools/common.h MapOptions). `where` says which
/// names they rewrite, e.g. "the --params file's tensor names into the model's".
inline void add_map_options(CLI::App& app, MapOptions& map, const std::string& where) {
  app.add_option("--map", map.rules, "rename rule REGEX=REPLACEMENT (repeatable; first matching rule wins; $1 or \\1 for groups): "
                                     "rewrites " + where);
  app.add_option("--map-file", map.file, "rename rules, one REGEX=REPLACEMENT per line ('#' comments; a line 'torch-linear' = --torch-linear)");
  app.add_flag("--torch-linear", map.torch_linear, "dense weights are stored as torch.nn.Linear does, [out, in]: transpose them");
}

/// A validator for --seed: a plain decimal integer 0..2^64-1. (CLI11 alone reads "-1" as 2^64-1 and
/// clamps larger numbers, so different seeds would silently give the same values.)
inline CLI::Validator seed_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        bool digits = !text.empty() && text.size() <= 20;
        for (char c : text) digits = digits && c >= '0' && c <= '9';
        // 20 digits fit only up to 18446744073709551615 (compared as text: same length).
        if (digits && (text.size() < 20 || text <= "18446744073709551615")) return {};
        return "'" + text + "' is not a seed: expected a whole number 0..18446744073709551615";
      },
      "SEED");
}

/// A validator for tolerances (--atol, --rtol): a finite number >= 0.
inline CLI::Validator tolerance_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        char* end = nullptr;
        double v = std::strtod(text.c_str(), &end);
        if (!text.empty() && end && *end == '\0' && std::isfinite(v) && v >= 0) return {};
        return "'" + text + "' is not a tolerance: expected a finite number >= 0";
      },
      "TOL");
}

/// Parses; returns -1 to go on, or the exit code to return at once: 0 after --help/--version,
/// kExitInputError after a usage error (printed as one line "tool: error: ...").
inline int parse_command_line(CLI::App& app, const std::string& tool, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << tool << ": error: " << e.what() << " (see " << tool << " --help)\n";
    return kExitInputError;
  }
  return -1;
}

}  // namespace mithril::tools
