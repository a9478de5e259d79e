// ONNX import: parse and check the ModelProto with ONNX's own library, then map it onto our model.
#include "onnx/onnx_import.h"

#include <fstream>
#include <sstream>

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include "core/error.h"

namespace mithril::onnx_import {

OnnxModel import_model(const std::string& path, const OnnxImportOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, path + ": cannot be read");
  onnx::ModelProto proto;
  if (!proto.ParseFromIstream(&in)) throw Error(ErrorKind::format, path + ": not a valid ONNX model (its protobuf does not parse)");
  if (options.check) {
    try {
      onnx::checker::check_model(proto);
    } catch (const std::exception& e) {
      throw Error(ErrorKind::format, path + ": ONNX checker: " + e.what());
    }
  }
  throw Error(ErrorKind::unsupported, path + ": importing ONNX graphs is not implemented yet");
}

}  // namespace mithril::onnx_import
