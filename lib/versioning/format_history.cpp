#include "versioning/format_history.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "io/json_util.h"
#include "versioning/steps/steps.h"

namespace mithril::versioning {

const FormatHistory& format_history() {
  // One row per format version, oldest first; one step between neighbours.
  static const FormatHistory history{
      {kPythonMithrilVersion, "1.0.0", "1.1.0", "1.2.0"},
      {
          // The export reads any 1.x dict (through from_dict) and refuses what Python cannot
          // express itself: going down to python-mithril runs it directly on the dict.
          FormatStep{kPythonMithrilVersion, "1.0.0", "lib/versioning/steps/python_mithril/step.cpp",
                     python_mithril_to_1_0_0, python_mithril_from_1_0_0, "", true},
          FormatStep{"1.0.0", "1.1.0", "lib/versioning/steps/v1_0_0_to_1_1_0.cpp", v1_0_0_to_1_1_0, v1_1_0_to_1_0_0, ""},
          FormatStep{"1.1.0", "1.2.0", "lib/versioning/steps/v1_1_0_to_1_2_0.cpp", v1_1_0_to_1_2_0, v1_2_0_to_1_1_0, ""},
      },
      kModelFormatVersion,
  };
  return history;
}

std::string detect_format_version(std::string_view json, const std::string& source) {
  rapidjson::Document doc = json::parse(json, source);
  // Python's dict_to_model takes a bare model name ("Relu") for {"name": "Relu"}.
  if (doc.IsString()) return kPythonMithrilVersion;
  if (!doc.IsObject())
    throw Error(ErrorKind::schema, source + ": expected a model dict (a JSON object), got " + json::describe(doc));
  auto it = doc.FindMember("version");
  if (it == doc.MemberEnd()) return kPythonMithrilVersion;
  if (!it->value.IsString())
    throw Error(ErrorKind::schema, source + ": version: expected a version string such as \"1.0.0\", got " +
                                       json::describe(it->value));
  return it->value.GetString();
}

namespace {

std::size_t version_index(const FormatHistory& history, const std::string& version, const std::string& source,
                          const std::string& role) {
  auto it = std::find(history.versions.begin(), history.versions.end(), version);
  if (it == history.versions.end())
    throw Error(ErrorKind::unsupported,
                fmt::format("{}{}format version '{}' is not one this library knows ({}); {}", source,
                            source.empty() ? "" : ": ", version, fmt::join(history.versions, ", "),
                            role == "source" ? "a newer file needs a newer mithril" : "choose a known version"));
  return static_cast<std::size_t>(it - history.versions.begin());
}

}  // namespace

std::vector<std::string> migration_path(const FormatHistory& history, const std::string& from, const std::string& to) {
  std::size_t a = version_index(history, from, "", "source"), b = version_index(history, to, "", "target");
  std::vector<std::string> path;
  if (a <= b)
    for (std::size_t i = a; i <= b; ++i) path.push_back(history.versions[i]);
  else
    for (std::size_t i = a + 1; i-- > b;) path.push_back(history.versions[i]);
  return path;
}

std::string update_model_dict_version(const FormatHistory& history, const std::string& json, const std::string& target,
                                      const std::string& source) {
  std::string from = detect_format_version(json, source);
  if (from == target) return json;
  std::size_t a = version_index(history, from, source, "source");
  std::size_t b = version_index(history, target, source, "target");
  std::string text = json;
  if (a < b) {
    // A step up may reach a later version than its own `to` when the dict needs it (a Python
    // Mithril Concat over a list input needs 1.2.0): the driver goes on from the version reached.
    for (std::size_t i = a; i < b;) {
      text = history.steps[i].up(text, source);
      std::string reached = detect_format_version(text, source);
      std::size_t r = version_index(history, reached, source, "source");
      if (r <= i) throw Error(ErrorKind::format, fmt::format("{}: the step up from {} produced version '{}' (a step is broken)",
                                                             source, history.steps[i].from, reached));
      if (r > b)
        throw Error(ErrorKind::unsupported, fmt::format("{}: cannot be expressed in format {}: it needs {} (migrate to {} or later)",
                                                        source, target, reached, reached));
      i = r;
    }
  } else if (history.steps[b].down_reads_any_1x && history.steps[b].down && from.rfind("1.", 0) == 0) {
    text = history.steps[b].down(text, source);
  } else {
    // Check every step down is possible at all before running any, so the refusal names the step.
    for (std::size_t i = a; i-- > b;) {
      const FormatStep& step = history.steps[i];
      if (!step.down)
        throw Error(ErrorKind::unsupported, fmt::format("{}: cannot go down from {} to {}: {}", source, step.to,
                                                        step.from, step.no_down_reason));
    }
    for (std::size_t i = a; i-- > b;) text = history.steps[i].down(text, source);
  }
  std::string reached = detect_format_version(text, source);
  if (reached != target)
    throw Error(ErrorKind::format, fmt::format("{}: migration to {} produced version '{}' (a step is broken)", source,
                                               target, reached));
  // The current format is written canonically: exactly what to_dict() writes for the model.
  if (target == history.current && target == kModelFormatVersion) text = mithril::to_dict(*from_dict(text, source));
  return text;
}

std::string update_model_dict_version(const std::string& json, const std::string& target, const std::string& source) {
  return update_model_dict_version(format_history(), json, target, source);
}

std::string to_dict(const Model& model, const std::string& version) {
  std::string current = mithril::to_dict(model);
  return update_model_dict_version(current, version, "model '" + model.name() + "'");
}

void throw_blockers(const std::string& source, const std::string& from, const std::string& to,
                    const std::vector<Blocker>& blockers) {
  if (blockers.empty()) return;
  std::vector<std::string> items;
  for (const Blocker& b : blockers) items.push_back(fmt::format("{} ({})", b.path, b.what));
  throw Error(ErrorKind::unsupported,
              fmt::format("{}: cannot go down from {} to {} without loss: {} construct{} block{} it: {}", source, from,
                          to, blockers.size(), blockers.size() == 1 ? "" : "s", blockers.size() == 1 ? "s" : "",
                          fmt::join(items, ", ")));
}

}  // namespace mithril::versioning
