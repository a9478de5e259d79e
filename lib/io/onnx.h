#pragma once
// ONNX models in and out. The work is done by lib/onnx/ (ONNX's own C++ library and protobuf),
// built as its own module, libmithril-onnx.so, beside libmithril and loaded on first use: no
// other code includes ONNX or protobuf headers, and processes that never touch an .onnx file do
// not pay for loading them.
#include <map>
#include <memory>
#include <string>

#include "graph/model.h"
#include "io/npz.h"

namespace mithril {

struct OnnxImportOptions {
  /// Graph inputs replaced by these values (they become constants of the model). Operators whose
  /// shape operands (Reshape's shape, Slice's starts, ...) come from a graph input need this: our
  /// models fix those values when they are built. Names must be graph inputs.
  NamedTensors frozen_inputs;
  /// Run onnx::checker on the file before importing it.
  bool check = true;
};

/// An imported ONNX model: the graph as our model (graph inputs as inputs with named dims from
/// dim_param, initializers as parameters under their ONNX names, Constant nodes as constants),
/// the initializers' values, and metadata (producer, opset, doc strings, metadata_props).
struct OnnxModel {
  std::shared_ptr<Model> model;
  NamedTensors parameters;
  std::map<std::string, std::string> metadata;
};

/// Reads `path` (a ModelProto, with external data files resolved relative to its folder),
/// converts an older opset with ONNX's version converter, and maps every node onto our
/// operators. Throws Error(unsupported) listing every unsupported op type with its count and
/// opset, Error(format) for a file that is not a valid ONNX model (naming the file and what is
/// wrong). Every initializer's size is checked against its type and shape before it is copied.
OnnxModel import_onnx(const std::string& path, const OnnxImportOptions& options = {});

struct OnnxExportOptions {
  int opset = 17;  ///< the default ("") domain's opset written
};

/// Lowers `model` (functions expanded) to an ONNX ModelProto of `options.opset`, parameters as
/// initializers, and returns its serialized bytes. Throws Error(unsupported) naming every node
/// whose operator has no lowering at that opset, and Error(invalid_argument) for a missing parameter.
std::string export_onnx(const Model& model, const NamedTensors& parameters, const OnnxExportOptions& options = {});

/// export_onnx written atomically to `path`.
void save_onnx(const std::string& path, const Model& model, const NamedTensors& parameters,
               const OnnxExportOptions& options = {});

/// The functions libmithril-onnx.so hands out (entry point `mithril_onnx_v1`).
struct OnnxModuleFunctions {
  OnnxModel (*import_model)(const std::string& path, const OnnxImportOptions& options);
  std::string (*export_model)(const Model& model, const NamedTensors& parameters, const OnnxExportOptions& options);
};

}  // namespace mithril
