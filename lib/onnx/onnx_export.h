#pragma once
// ONNX export (inside libmithril-onnx.so; callers use io/onnx.h's export_onnx).
#include <string>

#include "io/onnx.h"

namespace mithril::onnx_export {

std::string export_model(const Model& model, const NamedTensors& parameters, const OnnxExportOptions& options);

}  // namespace mithril::onnx_export
