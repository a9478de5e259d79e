#pragma once
// mithril-convert: rewrite an artifact as another kind. Model artifacts go between structure
// JSON + parameters, .mithril and .mbin; the parameters of any model artifact can be dumped to
// .npz/.npy; a bare tensor file (.npz/.npy) is rewritten as .npz (optionally deflated) or .npy.
#include <string>
#include <vector>

#include "io/artifact.h"
#include "tools/common.h"

namespace mithril::tools {

struct ConvertOptions {
  std::string input;        ///< any artifact; "-" reads a structure JSON from standard input
  std::string params_path;  ///< parameters for a structure JSON input
  /// The output, kind by extension: .json (structure), .mithril, .mbin, .onnx, .npz/.npy (tensors).
  /// "-" writes the structure JSON of a model, or an .npz of a tensor file, to standard output.
  std::string output;
  std::string params_out;    ///< also dump the parameters (or a tensor file's tensors) here (.npz/.npy; "-": .npz on stdout)
  bool compress = false;     ///< deflate .npz / .mithril members
  bool allow_extra = false;  ///< ignore tensors that are not parameters of the model
  /// .mbin input: also check the padding between tensors. Every tensor's checksum is checked
  /// anyway (always: a conversion must not give corrupted values fresh, valid checksums).
  bool verify = false;
  bool force = false;        ///< replace outputs that are read-only (refused otherwise)
  std::string format;        ///< kind of `output` when its name does not tell (-o /dev/null): json, npz, npy, mithril, mbin
  /// Extract the part of the model between these values (graph/extract.h) and write only it,
  /// with exactly the parameters it uses. Both lists must be given together.
  std::vector<std::string> extract_inputs;
  std::vector<std::string> extract_outputs;
  /// With --params: how that file's tensor names and layouts become the model's. Without: how the
  /// model's parameters are named and laid out in the tensor files written (-o, --params-out).
  std::vector<std::string> freeze;  ///< --freeze NAME=FILE: ONNX graph inputs fixed at import (add_frozen_inputs)
  /// --shape NAME=N,N: declare an input's shape in the model written (an ONNX export needs every
  /// input's rank; Python Mithril dicts declare none).
  std::vector<std::string> shapes;
  MapOptions map;
  std::vector<std::string> plugins;
  std::string backend = "cpu";  ///< the model is compiled (validated) for this backend
  int opset = 17;               ///< an .onnx output's opset (13 to 18)
};

struct ConvertReport {
  std::string input;
  ArtifactKind input_kind = ArtifactKind::structure_json;
  std::string model;                 ///< empty for a tensor file (the extracted part's name when extracting)
  int64_t tensor_count = 0;          ///< parameters (or tensors) carried over
  std::vector<std::string> ignored;  ///< extra tensors dropped with allow_extra
  std::vector<WrittenFile> written;
};

/// Does the whole job of mithril-convert. Parameters are validated against the structure before
/// anything is written (a converted model always loads). Throws Error(invalid_argument) for
/// impossible requests (a model output from a tensor file, a physical model without parameter
/// values), naming the file.
ConvertReport convert_artifact(const ConvertOptions& options);

std::string format_convert_report(const ConvertReport& report);
std::string convert_report_json(const ConvertReport& report);

}  // namespace mithril::tools
