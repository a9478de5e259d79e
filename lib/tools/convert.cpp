#include "tools/convert.h"

#include <optional>
#include <set>

#include <fmt/format.h>

#include "backends/backend.h"
#include "core/error.h"
#include "graph/extract.h"
#include "io/atomic_file.h"
#include "io/model_json.h"
#include "io/onnx.h"
#include "physical/persistence.h"
#include "tools/report_json.h"

namespace mithril::tools {

ConvertReport convert_artifact(const ConvertOptions& options) {
  load_tool_plugins(options.plugins);
  if (options.output.empty() && options.params_out.empty())
    throw Error(ErrorKind::invalid_argument, "nothing to write: give -o FILE and/or --params-out FILE");
  if (options.output == "-" && options.params_out == "-")
    throw Error(ErrorKind::invalid_argument, "only one output can be '-' (standard output)");
  // Kinds by extension first: a typo fails before the input is read.
  std::optional<ArtifactKind> out_kind;
  if (!options.output.empty() && options.output != "-") out_kind = artifact_kind_for_output(options.output, options.format);
  if (!options.params_out.empty() && options.params_out != "-") {
    ArtifactKind k = artifact_kind_for_output(options.params_out);
    if (!is_tensor_output(k))
      throw Error(ErrorKind::invalid_argument, fmt::format("{}: --params-out writes a tensor file ({}; .npy for one tensor)",
                                                           options.params_out, tensor_output_extensions()));
  }

  ArtifactLoadOptions load = tool_load_options();
  load.params_path = options.params_path;
  load.verify = options.verify;
  add_frozen_inputs(load, options.freeze);
  if (options.extract_inputs.empty() != options.extract_outputs.empty())
    throw Error(ErrorKind::invalid_argument, "--extract-inputs and --extract-outputs go together");
  Artifact a = load_artifact(options.input, load);
  if (!options.params_path.empty()) map_parameters_in(a, options.map, options.params_path, options.allow_extra);
  ConvertReport report;
  report.input = options.input;
  report.input_kind = a.kind;

  NamedTensors tensors;  // what tensor outputs receive
  if (!options.shapes.empty()) {
    if (!a.model) throw Error(ErrorKind::invalid_argument, options.input + ": --shape declares a model's input shapes; a tensor file has none");
    try {
      a.model = with_input_shapes(*a.model, parse_shapes(options.shapes));
    } catch (const Error& e) {
      throw e.with_context(options.input + ": --shape");
    }
  }
  if (a.model) {
    report.model = a.model->name();
    if (a.has_parameters) {
      BindOptions bind;
      bind.allow_extra = options.allow_extra;
      std::string source = options.params_path.empty() ? options.input : options.params_path;
      PhysicalModel pm = compile_with_parameters(a.model, backend_by_name(options.backend), a.tensors, source, {}, bind);
      tensors = parameter_tensors(pm);
      std::set<std::string> kept;
      for (const auto& [name, t] : tensors) kept.insert(name);
      for (const auto& [name, t] : a.tensors)
        if (!kept.count(name)) report.ignored.push_back(name);
    }
    if (!options.extract_outputs.empty()) {
      // The whole model was validated above; now keep the part and exactly its parameters.
      a.model = extract_submodel(*a.model, options.extract_inputs, options.extract_outputs);
      report.model = a.model->name();
      std::set<std::string> used;
      for (const ParameterPath& p : a.model->parameter_paths()) used.insert(p.path);
      NamedTensors kept;
      for (auto& [name, t] : tensors)
        if (used.count(name)) kept.emplace_back(name, t);
      tensors = std::move(kept);
    }
  } else {
    if (!options.extract_outputs.empty())
      throw Error(ErrorKind::invalid_argument, options.input + ": a tensor file has no model to extract from");
    tensors = std::move(a.tensors);
  }
  report.tensor_count = static_cast<int64_t>(tensors.size());
  // A tensor file's own metadata (safetensors "__metadata__", a checkpoint's non-tensor entries)
  // carries over to a tensor file that has a place for it; package metadata does not.
  std::map<std::string, std::string> tensor_metadata;
  if (a.kind == ArtifactKind::pt || a.kind == ArtifactKind::safetensors || a.kind == ArtifactKind::safetensors_index)
    tensor_metadata = a.metadata;
  // Tensor files written get the mapped names and layouts (model packages keep ours).
  NamedTensors file_tensors = tensors;
  if (options.params_path.empty() && options.map.given()) {
    StateDictMapping mapping = make_mapping(options.map);
    if (a.model) {
      file_tensors = map_state_dict_from_model(*a.model, tensors, mapping);
    } else {
      if (mapping.torch_linear)
        throw Error(ErrorKind::invalid_argument, options.input + ": --torch-linear needs a model (it transposes dense weights)");
      file_tensors.clear();
      for (const auto& [name, t] : tensors) file_tensors.emplace_back(map_name(mapping.rules, name), t);
    }
  }
  std::string tensor_word = a.model ? "parameters" : "tensors";
  auto need_values = [&](const std::string& out) {
    if (a.model && !a.has_parameters && !a.model->parameter_paths().empty())
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("{}: structure only, no parameter values to write to {} (give --params FILE)", options.input, out));
  };

  // Both outputs are written and fsynced before either replaces its destination.
  AtomicWriteGroup group({options.force});
  if (!options.output.empty()) {
    ArtifactKind kind = out_kind ? *out_kind : (a.model ? ArtifactKind::structure_json : ArtifactKind::npz);
    const std::string& out = options.output;
    if (holds_model(kind) && !a.model && kind != ArtifactKind::mbin)
      throw Error(ErrorKind::invalid_argument, fmt::format("{}: a {} file holds tensors, not a model; it converts to {}", options.input,
                                                           artifact_kind_name(a.kind), tensor_output_extensions()));
    if (kind == ArtifactKind::structure_json) {
      save_model_json(*a.model, out);
      report.written.push_back(written_file(out, kind, fmt::format("structure of '{}'", a.model->name())));
    } else if (kind == ArtifactKind::mithril || (kind == ArtifactKind::mbin && a.model)) {
      need_values(out);
      PackageWriteOptions write;
      write.compress = options.compress;
      // Keep the backend hints the input recorded (e.g. its compute dtype).
      const std::string prefix = "backend_hints.";
      for (const auto& [k, v] : a.metadata)
        if (k.compare(0, prefix.size(), prefix) == 0) write.backend_hints[k.substr(prefix.size())] = v;
      save_package(kind, out, *a.model, tensors, write);
      report.written.push_back(written_file(out, kind, fmt::format("'{}' with {} parameters", a.model->name(), tensors.size())));
    } else if (kind == ArtifactKind::onnx) {
      need_values(out);
      OnnxExportOptions onnx;
      onnx.opset = options.opset;
      save_onnx(out, *a.model, tensors, onnx);
      report.written.push_back(written_file(out, kind, fmt::format("'{}' at ONNX opset {}, {} parameters as initializers",
                                                                   a.model->name(), options.opset, tensors.size())));
    } else {
      need_values(out);
      save_tensors(out, file_tensors, options.compress, tensor_metadata, options.format);
      report.written.push_back(written_file(out, out == "-" ? ArtifactKind::npz : kind, fmt::format("{} {}", tensors.size(), tensor_word)));
    }
  }
  if (!options.params_out.empty()) {
    need_values(options.params_out);
    save_tensors(options.params_out, file_tensors, options.compress, tensor_metadata);
    ArtifactKind kind = options.params_out == "-" ? ArtifactKind::npz : artifact_kind_for_output(options.params_out);
    report.written.push_back(written_file(options.params_out, kind, fmt::format("{} {}", tensors.size(), tensor_word)));
  }
  group.commit();
  refresh_sizes(report.written);
  return report;
}

std::string format_convert_report(const ConvertReport& r) {
  std::string out;
  for (const WrittenFile& f : r.written)
    out += fmt::format("wrote {} ({}, {}): {}\n", f.path == "-" ? "<stdout>" : f.path, f.kind, human_bytes(f.bytes), f.content);
  if (!r.ignored.empty()) out += fmt::format("ignored {} extra tensors: {}\n", r.ignored.size(), fmt::join(r.ignored, ", "));
  return out;
}

std::string convert_report_json(const ConvertReport& r) {
  JsonOut j;
  j.begin_object().key("input").str(r.input).key("input_kind").str(artifact_kind_name(r.input_kind));
  j.key("model").str(r.model).key("tensors").num(r.tensor_count);
  j.key("ignored").begin_array();
  for (const std::string& name : r.ignored) j.str(name);
  j.end_array();
  j.key("written").written(r.written).end_object();
  return j.text();
}

}  // namespace mithril::tools
