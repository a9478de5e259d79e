#pragma once
// The history of the model dict format and the driver that moves a dict between its versions.
//
// Versions are semver strings ("1.0.0"; policy in schemas/VERSIONING.md), preceded by one
// pseudo-version: "python-mithril", the unversioned dicts Python Mithril's `model_to_dict` writes
// (a dict with no "version" key is read as one). The history is a table, oldest first: each row
// is a version, and each step between neighbouring rows is one pure function (JSON text in, JSON
// text out) in its own file under lib/versioning/steps/, with an optional step down when going
// back loses nothing. Adding a format version is one row + one step file (+ a down step).
//
// update_model_dict_version() composes the steps one at a time, up or down. A dict already at the
// target comes back byte-identical; a migrated dict is canonical (exactly what to_dict() writes).
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "io/model_json.h"

namespace mithril::versioning {

/// The pseudo-version of Python Mithril's unversioned model dicts: the oldest one.
inline constexpr const char* kPythonMithrilVersion = "python-mithril";

/// One step: the dict in `json` (at the step's `from` version) as JSON text at its `to` version,
/// or, going up, at a later version when the dict needs one (a Python Mithril Concat over a list
/// input is 1.2.0): the driver goes on from the version reached. `source` names the origin in
/// errors. Throws mithril::Error naming the source and JSON path.
using StepFunction = std::function<std::string(const std::string& json, const std::string& source)>;

struct FormatStep {
  std::string from;
  std::string to;
  std::string file;   ///< the step's source file, for documentation and reports
  StepFunction up;    ///< from -> to
  /// to -> from, or empty when going down is never possible (then `no_down_reason` says why).
  /// A down step that cannot convert a particular dict throws Error(unsupported) listing every
  /// blocking construct with its JSON path (see throw_blockers()).
  StepFunction down;
  std::string no_down_reason;
  /// The down step reads every later 1.x dict too (it loads the dict with from_dict): going down
  /// from any 1.x version to `from` runs it directly, so that what only a later version
  /// expresses (a list input for Python Mithril's Concat) reaches it.
  bool down_reads_any_1x = false;
};

/// A table of versions, oldest first, and the steps between neighbours (steps[i] goes from
/// versions[i] to versions[i + 1]).
struct FormatHistory {
  std::vector<std::string> versions;
  std::vector<FormatStep> steps;
  /// The version the library reads and writes (the newest row, normally).
  std::string current;
};

/// The library's own table: python-mithril -> 1.0.0 -> 1.1.0 -> 1.2.0.
const FormatHistory& format_history();

/// The version of a model dict: its "version" string, or kPythonMithrilVersion for a JSON object
/// without one or a bare JSON string (Python Mithril's "Relu" for {"name": "Relu"}). Throws Error(format) for text that is not JSON, Error(schema) for a non-object or
/// a "version" that is not a string.
std::string detect_format_version(std::string_view json, const std::string& source = "model dict");

/// The dict in `json` at version `target`, reached one step at a time through `history`.
/// Already at `target`: returned unchanged (byte-identical). Throws Error(unsupported) for a
/// version the table does not know (naming it and the known ones), or a step down that is not
/// possible (naming every blocking construct); other Errors come from the steps.
std::string update_model_dict_version(const FormatHistory& history, const std::string& json, const std::string& target,
                                      const std::string& source = "model dict");

/// Same, with the library's table; the default target is the current format.
std::string update_model_dict_version(const std::string& json, const std::string& target = kModelFormatVersion,
                                      const std::string& source = "model dict");

/// The versions crossed from `from` to `to` (both included), in order. Throws Error(unsupported)
/// for an unknown version.
std::vector<std::string> migration_path(const FormatHistory& history, const std::string& from, const std::string& to);

/// The model as JSON text at `version`, any one the library's table knows: the current format
/// (exactly mithril::to_dict), an older one, or kPythonMithrilVersion (a dict Python Mithril's
/// dict_to_model reads). Going down refuses what the older version cannot express, naming
/// every blocking construct (Error(unsupported)).
std::string to_dict(const Model& model, const std::string& version);

/// One construct that prevents going down a step: its JSON path and what it is.
struct Blocker {
  std::string path;  ///< "functions.gelu_tanh" or "nodes[3].op"
  std::string what;  ///< "a function definition (format 1.1.0)"
};

/// Throws Error(unsupported) "<source>: cannot go down from <from> to <to> without loss: N
/// constructs block it: <path> (<what>), ..." listing every blocker. Does nothing when empty.
void throw_blockers(const std::string& source, const std::string& from, const std::string& to,
                    const std::vector<Blocker>& blockers);

}  // namespace mithril::versioning
