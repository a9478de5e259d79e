#pragma once
// Physical models to and from files: binding parameter values to a compiled model with full
// validation, and the single-file formats .mithril and .mbin (the seed's compiled_model.save,
// PhysicalModel.load, save_binary and load_binary).
#include <memory>
#include <string>

#include "io/artifact.h"
#include "physical/physical_model.h"

namespace mithril {

struct BindOptions {
  /// Accept tensors that are not parameters of the model (ignored).
  bool allow_extra = false;
  /// Cast values of another dtype to the parameter's dtype instead of refusing them.
  bool cast = false;
};

/// Sets every parameter of `model` from `values`. One Error(shape) lists every problem at once:
/// missing parameters, extra tensors (unless allowed), shape and dtype mismatches, e.g.
/// "params.npz: tensor 'hidden.weight': shape [50,10], expected [10,50]". `source` names the file.
void bind_parameters(PhysicalModel& model, const NamedTensors& values, const std::string& source,
                     const BindOptions& options = {});

/// Compiles `model` taking the shapes of parameters it leaves open from `values`, then binds them.
PhysicalModel compile_with_parameters(std::shared_ptr<const Model> model, const Backend& backend, const NamedTensors& values,
                                      const std::string& source, CompileOptions options = {}, const BindOptions& bind = {});

/// The parameters in declaration order.
NamedTensors parameter_tensors(const PhysicalModel& model);

/// Writes structure, parameters and metadata to `path` as .mithril or .mbin (by extension).
void save_physical(const PhysicalModel& model, const std::string& path, const PackageWriteOptions& options = {});

/// Loads a .mithril or .mbin file into a physical model for `backend`. .mbin parameters are
/// zero-copy views of the mapping unless `eager`.
PhysicalModel load_physical(const std::string& path, const Backend& backend, bool eager = false);

/// The seed's names for the .mbin variants.
void save_binary(const PhysicalModel& model, const std::string& path);
PhysicalModel load_binary(const std::string& path, const Backend& backend, bool eager = false);

/// Writes a model package (structure + parameters) of `kind` (mithril or mbin).
void save_package(ArtifactKind kind, const std::string& path, const Model& model, const NamedTensors& parameters,
                  const PackageWriteOptions& options = {});

}  // namespace mithril
