#pragma once
// ONNX import (inside libmithril-onnx.so; callers use io/onnx.h's import_onnx).
#include <string>

#include "io/onnx.h"

namespace mithril::onnx_import {

OnnxModel import_model(const std::string& path, const OnnxImportOptions& options);

}  // namespace mithril::onnx_import
