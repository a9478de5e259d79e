#include "physical/persistence.h"

#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "io/mbin.h"
#include "io/model_json.h"

namespace mithril {

void check_parameter_values(const std::vector<ExpectedParameter>& expected, const NamedTensors& values, const std::string& source,
                            const BindOptions& options) {
  std::vector<std::string> problems;
  std::set<std::string> given;
  std::map<std::string, const ExpectedParameter*> by_name;
  for (const ExpectedParameter& p : expected) by_name[p.name] = &p;
  for (const auto& [name, value] : values) {
    if (!given.insert(name).second) {
      problems.push_back(fmt::format("tensor '{}' given twice", name));
      continue;
    }
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      if (!options.allow_extra) problems.push_back(fmt::format("tensor '{}' is not a parameter of the model", name));
      continue;
    }
    const ExpectedParameter& p = *it->second;
    if (p.shape && value.shape() != *p.shape)
      problems.push_back(fmt::format("tensor '{}': shape {}, expected {}", name, shape_str(value.shape()), shape_str(*p.shape)));
    else if (value.dtype() != p.dtype && !options.cast)
      problems.push_back(fmt::format("tensor '{}': dtype {}, expected {}", name, dtype_name(value.dtype()), dtype_name(p.dtype)));
  }
  for (const ExpectedParameter& p : expected)
    if (!given.count(p.name)) problems.push_back(fmt::format("parameter '{}' is missing", p.name));
  if (!problems.empty()) {
    std::string more = problems.size() > 8 ? fmt::format("; and {} more", problems.size() - 8) : "";
    if (problems.size() > 8) problems.resize(8);
    throw Error(ErrorKind::shape, fmt::format("{}: {}{}", source, fmt::join(problems, "; "), more));
  }
}

std::vector<ExpectedParameter> declared_parameters(const Model& model) {
  std::vector<ExpectedParameter> out;
  for (const ParameterPath& p : model.parameter_paths()) {
    std::optional<Shape> shape;
    if (p.info.rank_known && is_concrete(p.info.shape)) shape = to_shape(p.info.shape);
    out.push_back({p.path, shape, p.info.dtype});
  }
  return out;
}

void bind_parameters(PhysicalModel& model, const NamedTensors& values, const std::string& source, const BindOptions& options) {
  std::vector<std::string> parameter_names = model.get_parameter_names();
  std::vector<ExpectedParameter> expected;
  for (const std::string& name : parameter_names) expected.push_back({name, model.get_shape(name), model.get_dtype(name)});
  check_parameter_values(expected, values, source, options);
  std::set<std::string> names(parameter_names.begin(), parameter_names.end());
  for (const auto& [name, value] : values)
    if (names.count(name)) model.set_value(name, value);
}

PhysicalModel compile_with_parameters(std::shared_ptr<const Model> model, const Backend& backend, const NamedTensors& values,
                                      const std::string& source, CompileOptions options, const BindOptions& bind) {
  BindOptions effective = bind;
  if (options.dtype) effective.cast = true;  // a forced compute dtype casts every value
  // Every problem at once (missing, extra, shapes and dtypes as declared), before compiling would
  // stop at the first shape that does not bind; parameters with open shapes are checked by bind.
  check_parameter_values(declared_parameters(*model), values, source, effective);
  for (const auto& [name, value] : values) options.parameter_shapes.emplace(name, value.shape());
  options.initialize_parameters = false;  // every value comes from `values` (bind checks that)
  PhysicalModel pm = [&] {
    try {
      return PhysicalModel::compile(model, backend, options);
    } catch (const Error& e) {
      throw e.with_context(source);
    }
  }();
  bind_parameters(pm, values, source, effective);
  return pm;
}

NamedTensors parameter_tensors(const PhysicalModel& model) {
  NamedTensors out;
  for (const std::string& name : model.get_parameter_names()) out.emplace_back(name, model.get_value(name));
  return out;
}

void save_package(ArtifactKind kind, const std::string& path, const Model& model, const NamedTensors& parameters,
                  const PackageWriteOptions& options) {
  std::string structure = to_dict(model);
  if (kind == ArtifactKind::mithril) {
    write_mithril_file(path, ModelPackage{structure, parameters, {}}, options);
  } else if (kind == ArtifactKind::mbin) {
    write_mbin(path, structure, package_metadata_json(package_metadata(parameters.size(), options)), parameters);
  } else {
    throw Error(ErrorKind::invalid_argument, path + ": a physical model is saved as .mithril or .mbin");
  }
}

void save_physical(const PhysicalModel& model, const std::string& path, const PackageWriteOptions& options) {
  PackageWriteOptions effective = options;
  if (model.compute_dtype()) effective.backend_hints["compute_dtype"] = std::string(dtype_name(*model.compute_dtype()));
  save_package(artifact_kind_for_output(path), path, model.logical(), parameter_tensors(model), effective);
}

PhysicalModel load_physical(const std::string& path, const Backend& backend, bool eager) {
  ArtifactLoadOptions load_options;
  load_options.eager = eager;
  Artifact artifact = load_artifact(path, load_options);
  if (!artifact.model || !artifact.has_parameters)
    throw Error(ErrorKind::invalid_argument, path + ": not a physical model file (.mithril or .mbin)");
  CompileOptions options;
  if (auto it = artifact.metadata.find("backend_hints.compute_dtype"); it != artifact.metadata.end()) {
    auto dtype = dtype_from_name(it->second);
    if (!dtype) throw Error(ErrorKind::format, path + ": backend hint compute_dtype '" + it->second + "' is not a dtype");
    options.dtype = dtype;
  }
  return compile_with_parameters(artifact.model, backend, artifact.tensors, path, options);
}

void save_binary(const PhysicalModel& model, const std::string& path) {
  if (artifact_kind_for_output(path) != ArtifactKind::mbin)
    throw Error(ErrorKind::invalid_argument, path + ": save_binary writes .mbin files");
  save_physical(model, path);
}

PhysicalModel load_binary(const std::string& path, const Backend& backend, bool eager) {
  return load_physical(path, backend, eager);
}

void PhysicalModel::save(const std::string& path) const { save_physical(*this, path); }

PhysicalModel PhysicalModel::load(const std::string& path, const Backend& backend) { return load_physical(path, backend); }

}  // namespace mithril
