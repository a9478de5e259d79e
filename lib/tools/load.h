#pragma once
// mithril-load: read any artifact (or a structure + parameters pair), validate it completely
// and describe it: a model summary, or the tensors of a bare .npz/.npy.
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/artifact.h"
#include "tools/common.h"
#include "tools/summary.h"

namespace mithril::tools {

struct LoadOptions {
  std::string path;          ///< any artifact; "-" reads a structure JSON from standard input
  std::string params_path;   ///< parameters for a structure JSON (.npz, .npy, .mithril, .mbin)
  bool allow_extra = false;  ///< tensors that are not parameters of the model are ignored, not refused
  bool verify = false;       ///< .mbin: also check the zero padding between tensors (every byte of the data region)
  /// .mbin: check each tensor's checksum before its values are used (the default; false is
  /// --no-verify: the shapes and dtypes are still checked, the bytes are not).
  bool check_tensors = true;
  /// Keep operators nobody registered as opaque nodes and validate the rest (parameters are then
  /// checked against their declarations without compiling).
  bool allow_unknown_ops = false;
  std::vector<std::string> freeze;  ///< --freeze NAME=FILE: ONNX graph inputs fixed at import (add_frozen_inputs)
  MapOptions map;  ///< how the --params file's tensor names and layouts become the model's
  std::vector<std::string> plugins;
  std::string backend = "cpu";  ///< the model is compiled for this backend (backends/backend.h)
  int depth = 0;                ///< levels of submodels the summary expands
};

struct LoadReport {
  std::string path;
  std::string params_path;
  ArtifactKind kind = ArtifactKind::structure_json;
  bool is_model = false;
  std::string format_version;                   ///< the "version" of the structure as stored
  std::map<std::string, std::string> metadata;  ///< .mithril/.mbin package metadata
  bool has_parameters = false;                  ///< values were present and bound
  bool verified = false;                        ///< .mbin checksums checked (every tensor the model uses)
  std::vector<std::string> ignored;             ///< extra tensors accepted by allow_extra
  std::vector<std::string> unknown_ops;         ///< opaque nodes kept by allow_unknown_ops: "path (op)"
  /// Tensors holding NaN or infinite values (flagged, not refused: a model may mean them).
  struct NonFinite {
    std::string name;
    int64_t nan = 0;
    int64_t inf = 0;
  };
  std::vector<NonFinite> non_finite;
  ModelSummary summary;                         ///< for models
  std::shared_ptr<const Model> model;           ///< the logical model (for --dot), null for a tensor file
  std::string backend;                          ///< the backend the model was compiled for (with parameters)
  std::vector<std::string> fallback_ops;        ///< operators that backend lacks: they run on reference
  NamedTensors tensors;                         ///< the tensors of a tensor file, or the bound parameters
};

/// Loads and validates. A model is compiled for options.backend with its parameters bound
/// (every parameter present, no extras unless allowed, shapes and dtypes as declared); a
/// structure without parameters is validated as a structure (schema, operators, shapes).
/// Every problem throws Error naming the file (bind_parameters lists all of them at once).
LoadReport inspect_artifact(const LoadOptions& options);

/// The human report: the model summary table (or the tensor list) and a status line.
std::string format_load_report(const LoadReport& report);
std::string load_report_json(const LoadReport& report);

/// An operator as a person writing a model by hand needs it (mithril-load --ops).
struct OperatorInfo {
  std::string name;                     ///< qualified: "add", "acme.scale"
  int version = 1;
  std::vector<std::string> inputs;      ///< "left"; a variadic one as "inputs..."
  std::vector<std::string> attributes;  ///< "axis: int = -1"; required ones without "= ..."
  std::vector<std::string> backends;    ///< backends with a kernel
  std::string doc;
};

/// Every registered operator (built-ins and the given plugins; a model file's functions belong to that model), sorted by name.
std::vector<OperatorInfo> list_operators(const std::vector<std::string>& plugins = {});
std::string format_operators(const std::vector<OperatorInfo>& ops);
std::string operators_json(const std::vector<OperatorInfo>& ops);

/// The JSON report of a file that failed to load or validate: {"path", "valid": false,
/// "error_kind", "error"}, so a CI step that parses --json output always gets JSON.
std::string load_error_json(const std::string& path, const Error& error);

}  // namespace mithril::tools
