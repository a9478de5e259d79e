#pragma once
// mithril-save: create a model (from the built-in zoo or an existing artifact) and write it as
// structure JSON, parameters (.npz/.npy), and/or single-file physical models (.mithril/.mbin).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tools/common.h"

namespace mithril::tools {

struct SaveOptions {
  /// A zoo model name ("simple_mlp") or the path of an existing artifact holding a model. An
  /// existing file always wins; a name that is neither a file nor a zoo model is an error
  /// listing the zoo.
  std::string source;
  std::map<std::string, std::string> args;  ///< zoo arguments (--arg dims=10,50,1)
  std::string source_params;                ///< parameter values for a structure JSON source
  /// Model outputs by extension: .json (structure), .mithril, .mbin, .onnx; "-" writes the structure
  /// JSON to standard output.
  std::vector<std::string> outputs;
  std::string params_out;  ///< parameters .npz (or .npy for one parameter); "-" writes .npz to stdout
  /// Initializer overrides: "SPEC" for every parameter, "PATH=SPEC" for one ("hidden.weight=normal(0.1)").
  /// Overrides replace values the source carries too. SPEC as Initializer::parse.
  std::vector<std::string> init;
  uint64_t seed = 0;       ///< seed of the initializers
  bool compress = false;   ///< deflate .npz / .mithril members
  bool force = false;      ///< replace outputs that are read-only (refused otherwise)
  int opset = 17;          ///< ONNX opset of .onnx outputs (13 to 18)
  std::vector<std::string> plugins;
};

struct SaveReport {
  std::string model;             ///< model name
  std::string source;            ///< "zoo simple_mlp" or "mithril model.mithril"
  std::string parameter_source;  ///< "initializers, seed 0", "model.mithril", "model.mithril + --init overrides, seed 0"
  int64_t parameter_tensors = 0;
  int64_t parameter_count = 0;   ///< elements
  uint64_t seed = 0;
  std::vector<WrittenFile> written;
};

/// Does the whole job of mithril-save. Throws Error(invalid_argument) when there is nothing to
/// write, when two outputs go to standard output, for a bad --init; passes on reader and
/// writer errors (which name the file).
SaveReport save_model_files(const SaveOptions& options);

/// One line per written file: "wrote model.json (structure json, 1.6 KiB): structure of 'simple_mlp'".
std::string format_save_report(const SaveReport& report);
std::string save_report_json(const SaveReport& report);

}  // namespace mithril::tools
