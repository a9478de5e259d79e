// import_onnx/export_onnx: stand-ins that load libmithril-onnx.so (beside libmithril.so) on first
// use (core/sibling_module.h).
#include <string>

#include "core/sibling_module.h"
#include "io/atomic_file.h"
#include "io/onnx.h"

#ifdef MITHRIL_ONNX_LINKED
extern "C" const mithril::OnnxModuleFunctions* mithril_onnx_v1();
#endif

namespace mithril {
namespace {

const OnnxModuleFunctions& onnx_module() {
#ifdef MITHRIL_ONNX_LINKED
  // lib/onnx/ is linked into this binary (the static fuzz build, which has no folder to load
  // libmithril-onnx.so from): its entry point is called directly.
  return *mithril_onnx_v1();
#else
  return *static_cast<const OnnxModuleFunctions*>(load_sibling_module("libmithril-onnx.so", "mithril_onnx_v1", "ONNX support"));
#endif
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
