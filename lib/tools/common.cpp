#include "tools/common.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <rapidjson/document.h>

#include "versioning/format_history.h"
#include "core/error.h"
#include "ops/plugin.h"

namespace mithril::tools {

std::map<std::string, std::string> parse_key_values(const std::vector<std::string>& items, const std::string& flag) {
  std::map<std::string, std::string> out;
  for (const std::string& item : items) {
    std::size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Error(ErrorKind::invalid_argument, fmt::format("{} '{}': expected NAME=VALUE", flag, item));
    if (!out.emplace(item.substr(0, eq), item.substr(eq + 1)).second)
      throw Error(ErrorKind::invalid_argument, fmt::format("{} '{}': '{}' given twice", flag, item, item.substr(0, eq)));
  }
  return out;
}

StateDictMapping make_mapping(const MapOptions& options) {
  StateDictMapping mapping;
  for (const std::string& rule : options.rules) mapping.rules.push_back(parse_name_rule(rule));
  if (!options.file.empty()) {
    StateDictMapping from_file = read_mapping_file(options.file);
    mapping.rules.insert(mapping.rules.end(), from_file.rules.begin(), from_file.rules.end());
    mapping.torch_linear = from_file.torch_linear;
  }
  mapping.torch_linear = mapping.torch_linear || options.torch_linear;
  return mapping;
}

void map_parameters_in(Artifact& artifact, const MapOptions& options, const std::string& params_path, bool allow_extra) {
  if (!options.given()) return;
  if (params_path.empty() || !artifact.model)
    throw Error(ErrorKind::invalid_argument, artifact.path + ": --map, --map-file and --torch-linear apply to parameters read from "
                                                             "a tensor file: give the model's structure and --params FILE");
  artifact.tensors = map_state_dict_to_model(*artifact.model, artifact.tensors, make_mapping(options), params_path, allow_extra);
}

std::map<std::string, Shape> parse_shapes(const std::vector<std::string>& items) {
  std::map<std::string, Shape> out;
  for (const auto& entry : parse_key_values(items, "--shape")) {
    const std::string& name = entry.first;  // plain references: C++20 lambdas may not capture bindings in clang 14
    const std::string& dims = entry.second;
    Shape shape;
    auto bad = [&] {
      return Error(ErrorKind::invalid_argument,
                   fmt::format("--shape '{}={}': expected NAME=N,N,... with non-negative sizes", name, dims));
    };
    std::size_t start = 0;
    while (!dims.empty() && start <= dims.size()) {
      std::size_t comma = dims.find(',', start);
      std::string item = dims.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      char* end = nullptr;
      errno = 0;
      long long v = std::strtoll(item.c_str(), &end, 10);
      if (item.empty() || *end != '\0' || v < 0 || errno == ERANGE) throw bad();
      shape.push_back(v);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    try {
      shape_numel(shape);
    } catch (const Error&) {
      throw bad();
    }
    out[name] = shape;
  }
  return out;
}

namespace {

// A dict with this library's model keys ("nodes", "outputs", "definitions"...) and none of Python
// Mithril's ("submodels", "connections").
bool looks_like_our_format(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) return false;
  if (doc.HasMember("submodels") || doc.HasMember("connections")) return false;
  for (const char* key : {"nodes", "outputs", "definitions", "functions", "parameters", "constants"})
    if (doc.HasMember(key)) return true;
  return false;
}

}  // namespace

void load_tool_plugins(const std::vector<std::string>& plugins) { load_plugins(plugins); }

Error missing_version_hint(const std::string& json, const std::string& source, const Error& e) {
  // A dict without "version" is read as Python Mithril's; when that fails and the dict looks like
  // ours, the missing "version" is the likely mistake: say so first.
  std::string version;
  try {
    version = versioning::detect_format_version(json, source);
  } catch (const Error&) {
    return e;
  }
  if (version != versioning::kPythonMithrilVersion || !looks_like_our_format(json)) return e;
  std::string why = e.what();
  if (why.rfind(source + ": ", 0) == 0) why = why.substr(source.size() + 2);
  return Error(ErrorKind::schema, fmt::format("{}: no \"version\": add \"version\": \"{}\" at the top level (the dict has the keys "
                                              "of this library's model format; read as a Python Mithril dict, which has no version, "
                                              "it fails: {})", source, kModelFormatVersion, why));
}

void add_frozen_inputs(ArtifactLoadOptions& options, const std::vector<std::string>& specs) {
  for (const std::string& spec : specs) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      throw Error(ErrorKind::invalid_argument, fmt::format("--freeze '{}': expected NAME=FILE", spec));
    std::string name = spec.substr(0, eq), path = spec.substr(eq + 1);
    Artifact a = load_artifact(path);
    if (a.model) throw Error(ErrorKind::invalid_argument, fmt::format("--freeze {}: '{}' is a model, expected a tensor file", name, path));
    const Tensor* found = nullptr;
    for (const auto& [tname, t] : a.tensors)
      if (tname == name || a.tensors.size() == 1) found = &t;
    if (!found)
      throw Error(ErrorKind::invalid_argument, fmt::format("--freeze {}: '{}' holds {} tensors and none is named '{}'", name, path,
                                                           a.tensors.size(), name));
    options.onnx.frozen_inputs.emplace_back(name, *found);
  }
}

ArtifactLoadOptions tool_load_options() {
  ArtifactLoadOptions options;
  options.upgrade = [](const std::string& json, const std::string& source) {
    // Only versions the history knows as older are migrated; current, newer or malformed dicts go
    // to from_dict unchanged, which reads or refuses them with its own message. So do older 1.x
    // dicts: from_dict reads them natively (a later minor only adds), which keeps options such as
    // --allow-unknown-ops working for them.
    std::string version;
    try {
      version = versioning::detect_format_version(json, source);
    } catch (const Error&) {
      return json;
    }
    const auto& known = versioning::format_history().versions;
    if (version == kModelFormatVersion || version.rfind("1.", 0) == 0 || std::find(known.begin(), known.end(), version) == known.end())
      return json;
    try {
      return versioning::update_model_dict_version(json, kModelFormatVersion, source);
    } catch (const Error& e) {
      throw missing_version_hint(json, source, e);
    }
  };
  return options;
}

uint64_t file_size_or_zero(const std::string& path) {
  if (path == "-") return 0;
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<uint64_t>(size);
}

std::string human_bytes(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = -1;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", v, units[u]);
}

WrittenFile written_file(const std::string& path, ArtifactKind kind, const std::string& content) {
  return WrittenFile{path, artifact_kind_name(kind), file_size_or_zero(path), content};
}

void refresh_sizes(std::vector<WrittenFile>& written) {
  for (WrittenFile& f : written) f.bytes = file_size_or_zero(f.path);
}

int64_t total_numel(const NamedTensors& tensors) {
  int64_t n = 0;
  for (const auto& [name, t] : tensors) n += t.numel();
  return n;
}

uint64_t total_bytes(const NamedTensors& tensors) {
  uint64_t n = 0;
  for (const auto& [name, t] : tensors) n += t.nbytes();
  return n;
}

}  // namespace mithril::tools
