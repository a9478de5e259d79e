// import_onnx/export_onnx: stand-ins that load libmithril-onnx.so (beside libmithril.so) on first
// use (core/sibling_module.h).
#include <string>

#include "core/sibling_module.h"
#include "io/atomic_file.h"
#include "io/onnx.h"

namespace mithril {
namespace {

const OnnxModuleFunctions& onnx_module() {
  return *static_cast<const OnnxModuleFunctions*>(load_sibling_module("libmithril-onnx.so", "mithril_onnx_v1", "ONNX support"));
}

}  // namespace

OnnxModel import_onnx(const std::string& path, const OnnxImportOptions& options) {
  return onnx_module().import_model(path, options);
}

std::string export_onnx(const Model& model, const NamedTensors& parameters, const OnnxExportOptions& options) {
  return onnx_module().export_model(model, parameters, options);
}

void save_onnx(const std::string& path, const Model& model, const NamedTensors& parameters, const OnnxExportOptions& options) {
  write_file_atomic(path, export_onnx(model, parameters, options));
}

}  // namespace mithril
