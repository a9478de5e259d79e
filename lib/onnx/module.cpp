// The entry point of libmithril-onnx.so (see io/onnx.h): the one place the module is reached from.
#include "io/onnx.h"
#include "onnx/onnx_export.h"
#include "onnx/onnx_import.h"

extern "C" __attribute__((visibility("default"))) const mithril::OnnxModuleFunctions* mithril_onnx_v1() {
  static const mithril::OnnxModuleFunctions functions{&mithril::onnx_import::import_model, &mithril::onnx_export::export_model};
  return &functions;
}
