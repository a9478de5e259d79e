// The fuzz build's import_onnx/export_onnx/save_onnx: lib/onnx/ is linked into the static fuzz
// library, so these call its entry point directly instead of loading libmithril-onnx.so
// (lib/io/onnx_module.cpp, which the fuzz build leaves out).
#include <string>

#include "io/atomic_file.h"
#include "io/onnx.h"

extern "C" const mithril::OnnxModuleFunctions* mithril_onnx_v1();

namespace mithril {

OnnxModel import_onnx(const std::string& path, const OnnxImportOptions& options) {
  return mithril_onnx_v1()->import_model(path, options);
}

std::string export_onnx(const Model& model, const NamedTensors& parameters, const OnnxExportOptions& options) {
  return mithril_onnx_v1()->export_model(model, parameters, options);
}

void save_onnx(const std::string& path, const Model& model, const NamedTensors& parameters, const OnnxExportOptions& options) {
  write_file_atomic(path, export_onnx(model, parameters, options));
}

}  // namespace mithril
