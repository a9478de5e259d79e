// ONNX export: lower each node of our model to ONNX operators and write a ModelProto.
#include "onnx/onnx_export.h"

#include <onnx/onnx_pb.h>

#include "core/error.h"

namespace mithril::onnx_export {

std::string export_model(const Model& model, const NamedTensors&, const OnnxExportOptions&) {
  throw Error(ErrorKind::unsupported, "'" + model.name() + "': exporting to ONNX is not implemented yet");
}

}  // namespace mithril::onnx_export
