#include "tools/save.h"

#include <algorithm>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "backends/backend.h"
#include "core/error.h"
#include "io/atomic_file.h"
#include "io/model_json.h"
#include "io/onnx.h"
#include "physical/persistence.h"
#include "tools/report_json.h"
#include "zoo/zoo.h"

namespace mithril::tools {
namespace {

struct InitOverrides {
  std::optional<Initializer> all;
  std::map<std::string, Initializer> by_path;
  bool empty() const { return !all && by_path.empty(); }
};

InitOverrides parse_init(const std::vector<std::string>& items) {
  InitOverrides out;
  for (const std::string& item : items) {
    // "normal(std=0.1)" holds '=' inside parentheses: only an '=' before any '(' names a path.
    std::size_t eq = item.find('=');
    std::size_t paren = item.find('(');
    try {
      if (eq != std::string::npos && (paren == std::string::npos || eq < paren)) {
        if (!out.by_path.emplace(item.substr(0, eq), Initializer::parse(item.substr(eq + 1))).second)
          throw Error(ErrorKind::invalid_argument, "parameter given twice");
      } else {
        if (out.all) throw Error(ErrorKind::invalid_argument, "more than one initializer for every parameter");
        out.all = Initializer::parse(item);
      }
    } catch (const Error& e) {
      throw e.with_context("--init '" + item + "'");
    }
  }
  return out;
}

}  // namespace

SaveReport save_model_files(const SaveOptions& options) {
  load_tool_plugins(options.plugins);
  if (options.outputs.empty() && options.params_out.empty())
    throw Error(ErrorKind::invalid_argument, "nothing to write: give -o FILE (.json, .mithril, .mbin, .onnx) and/or --params FILE (.npz)");
  int to_stdout = options.params_out == "-";
  for (const std::string& out : options.outputs) to_stdout += out == "-";
  if (to_stdout > 1) throw Error(ErrorKind::invalid_argument, "only one output can be '-' (standard output)");
  for (const std::string& out : options.outputs) {
    if (out == "-") continue;
    ArtifactKind kind = artifact_kind_for_output(out);
    if (!holds_model(kind))
      throw Error(ErrorKind::invalid_argument, out + ": -o writes a model (.json, .mithril, .mbin, .onnx); parameters go to --params FILE");
  }
  if (!options.params_out.empty() && options.params_out != "-") {
    ArtifactKind kind = artifact_kind_for_output(options.params_out);
    if (!is_tensor_output(kind))
      throw Error(ErrorKind::invalid_argument, fmt::format("{}: --params writes a tensor file ({}; .npy for one parameter)",
                                                           options.params_out, tensor_output_extensions()));
  }
  InitOverrides overrides = parse_init(options.init);

  SaveReport report;
  report.seed = options.seed;
  std::shared_ptr<Model> model;
  NamedTensors values;
  bool has_values = false;
  std::error_code ec;
  bool is_file = options.source == "-" || std::filesystem::exists(options.source, ec);
  if (is_file) {
    if (!options.args.empty()) throw Error(ErrorKind::invalid_argument, "--arg is for zoo models; '" + options.source + "' is a file");
    ArtifactLoadOptions load = tool_load_options();
    load.params_path = options.source_params;
    Artifact a = load_artifact(options.source, load);
    if (!a.model)
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("{}: a {} file holds tensors, not a model (give a structure .json, .mithril or .mbin)",
                              options.source, artifact_kind_name(a.kind)));
    model = a.model;
    values = std::move(a.tensors);
    has_values = a.has_parameters;
    report.source = fmt::format("{} {}", artifact_kind_name(a.kind), options.source);
    if (has_values) report.parameter_source = options.source_params.empty() ? options.source : options.source_params;
  } else {
    if (!options.source_params.empty()) throw Error(ErrorKind::invalid_argument, "--source-params is for a structure JSON source");
    if (options.source.find('/') != std::string::npos || options.source.find('.') != std::string::npos)
      throw Error(ErrorKind::io, options.source + ": no such file (and not a zoo model name)");
    model = zoo_model(options.source, options.args);
    report.source = "zoo " + options.source;
  }
  report.model = model->name();

  bool needs_values = !options.params_out.empty();
  for (const std::string& out : options.outputs) needs_values = needs_values || (out != "-" && artifact_kind_for_output(out) != ArtifactKind::structure_json);
  NamedTensors parameters;
  if (needs_values) {
    CompileOptions compile;
    compile.seed = options.seed;
    PhysicalModel pm = has_values ? compile_with_parameters(model, reference_backend(), values, report.parameter_source, compile)
                                  : PhysicalModel::compile(model, reference_backend(), compile);
    std::vector<std::string> names = pm.get_parameter_names();
    for (const auto& [path, init] : overrides.by_path)
      if (std::find(names.begin(), names.end(), path) == names.end())
        throw Error(ErrorKind::invalid_argument, fmt::format("--init '{}=...': model '{}' has no parameter '{}'", path, model->name(), path));
    for (const std::string& name : names) {
      std::optional<Initializer> init = overrides.all;
      if (auto it = overrides.by_path.find(name); it != overrides.by_path.end()) init = it->second;
      if (init) pm.set_value(name, initialize(*init, pm.get_dtype(name), pm.get_shape(name), options.seed, name));
    }
    if (!has_values && overrides.by_path.empty())
      report.parameter_source = fmt::format("{}, seed {}", overrides.all ? "--init " + overrides.all->str() : "declared initializers", options.seed);
    else if (!has_values)
      report.parameter_source = fmt::format("declared initializers + --init overrides, seed {}", options.seed);
    else if (!overrides.empty())
      report.parameter_source += fmt::format(" + --init overrides, seed {}", options.seed);
    parameters = parameter_tensors(pm);
    report.parameter_tensors = static_cast<int64_t>(parameters.size());
    report.parameter_count = total_numel(parameters);
  } else {
    report.parameter_tensors = static_cast<int64_t>(model->parameter_paths().size());
  }

  // Every output is written and fsynced before any of them replaces its destination.
  AtomicWriteGroup group({options.force});
  for (const std::string& out : options.outputs) {
    ArtifactKind kind = out == "-" ? ArtifactKind::structure_json : artifact_kind_for_output(out);
    if (kind == ArtifactKind::structure_json) {
      save_model_json(*model, out);
      report.written.push_back(written_file(out, kind, fmt::format("structure of '{}'", model->name())));
    } else if (kind == ArtifactKind::onnx) {
      OnnxExportOptions onnx;
      onnx.opset = options.opset;
      save_onnx(out, *model, parameters, onnx);
      report.written.push_back(written_file(out, kind, fmt::format("'{}' at ONNX opset {}, {} parameters as initializers",
                                                                   model->name(), options.opset, parameters.size())));
    } else {
      PackageWriteOptions write;
      write.compress = options.compress;
      save_package(kind, out, *model, parameters, write);
      report.written.push_back(written_file(out, kind, fmt::format("'{}' with {} parameters", model->name(), parameters.size())));
    }
  }
  if (!options.params_out.empty()) {
    save_tensors(options.params_out, parameters, options.compress);
    ArtifactKind kind = options.params_out == "-" ? ArtifactKind::npz : artifact_kind_for_output(options.params_out);
    report.written.push_back(written_file(options.params_out, kind,
                                          fmt::format("{} parameters ({} values)", parameters.size(), report.parameter_count)));
  }
  group.commit();
  refresh_sizes(report.written);
  return report;
}

std::string format_save_report(const SaveReport& r) {
  std::string out;
  for (const WrittenFile& f : r.written)
    out += fmt::format("wrote {} ({}, {}): {}\n", f.path == "-" ? "<stdout>" : f.path, f.kind, human_bytes(f.bytes), f.content);
  if (!r.parameter_source.empty()) out += fmt::format("parameters: {}\n", r.parameter_source);
  return out;
}

std::string save_report_json(const SaveReport& r) {
  JsonOut j;
  j.begin_object();
  j.key("model").str(r.model).key("source").str(r.source);
  j.key("parameter_source").str(r.parameter_source).key("seed").unum(r.seed);
  j.key("parameter_tensors").num(r.parameter_tensors).key("parameter_count").num(r.parameter_count);
  j.key("written").written(r.written);
  j.end_object();
  return j.text();
}

}  // namespace mithril::tools
