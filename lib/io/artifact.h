#pragma once
// Artifacts: every kind of file the tools read and write, behind one interface.
//
//   structure .json   a model dict (io/model_json.h)
//   .npz / .npy       tensors only (io/npz.h, io/npy.h): parameters, inputs or outputs
//   .mithril          structure + parameters + metadata in a zip (io/mithril_file.h)
//   .mbin             structure + parameters + metadata, memory-mapped (io/mbin.h); or tensors
//                     only (empty structure, metadata "content": "tensors")
//   .pt / .pth        tensors only: a torch.save'd state dict (io/torch_file.h)
//   .safetensors      tensors only (io/safetensors.h); "*.safetensors.index.json" names a sharded set
//   .onnx             an ONNX model: imported on read, exported on write (io/onnx.h)
//
// Kinds are recognised by content (magic bytes, zip members) when the file exists, and by
// extension for files about to be written.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "graph/model.h"
#include "io/mithril_file.h"
#include "io/npz.h"
#include "io/onnx.h"

namespace mithril {

enum class ArtifactKind { structure_json, npz, npy, mithril, mbin, pt, safetensors, safetensors_index, onnx };

/// "structure json", "npz", "npy", "mithril", "mbin", "pt", "safetensors", "safetensors index", "onnx".
const char* artifact_kind_name(ArtifactKind kind);

/// The kind of an existing file, by its first bytes (and zip members). Throws Error(io) if it
/// cannot be read, Error(format) if it is none of the kinds (naming the file and what it starts with).
ArtifactKind detect_artifact_kind(const std::string& path);

/// The kind a file about to be written should have: `format` when given ("json", "npz", "npy",
/// "mithril", "mbin", "pt", "safetensors": the tools' --format, for outputs without an extension
/// such as /dev/null), else by extension (.json .npz .npy .mithril .mbin .pt .pth .safetensors).
/// Throws Error(invalid_argument) listing the known extensions (and --format).
ArtifactKind artifact_kind_for_output(const std::string& path, const std::string& format = "");

/// True for kinds that hold a model (structure json, .mithril, .mbin, .onnx).
bool holds_model(ArtifactKind kind);

/// True for the kinds save_tensors writes: .npz, .npy, .pt, .safetensors and tensor-only .mbin.
bool is_tensor_output(ArtifactKind kind);

/// The extensions of tensor outputs, for messages: ".npz, .npy, .pt, .safetensors or .mbin".
const char* tensor_output_extensions();

struct Artifact {
  ArtifactKind kind = ArtifactKind::structure_json;
  std::string path;
  std::shared_ptr<Model> model;  ///< null for tensor files
  std::string structure_json;    ///< the dict text as stored (empty for tensor files)
  NamedTensors tensors;          ///< parameters (model kinds, plus a --params file) or the tensors of a tensor file
  bool has_parameters = false;   ///< a model kind that carries parameter values (.mithril, .mbin, or --params given)
  std::map<std::string, std::string> metadata;
};

struct ArtifactLoadOptions {
  std::string params_path;  ///< parameters for a structure json (.npz/.npy/.mithril/.mbin)
  bool verify = false;      ///< .mbin: check every checksum and the padding at open
  /// .mbin: check each tensor's checksum before it is handed out (false: --no-verify, raw speed).
  /// npz and .mithril members are always CRC-checked while they are read.
  bool check_tensors = true;
  bool eager = false;       ///< .mbin: copy tensors instead of viewing the mapping
  bool allow_unknown_ops = false;  ///< keep nodes of unregistered operators opaque (see FromDictOptions)
  /// Brings an older model dict (e.g. a Python Mithril dict, which has no "version") to the
  /// current format in memory before it is parsed; the tools pass the format history's
  /// update_model_dict_version. Unset: such dicts are refused with from_dict's message.
  std::function<std::string(const std::string& json, const std::string& source)> upgrade;
  OnnxImportOptions onnx;  ///< how an .onnx input is imported
};

/// Reads any artifact and parses its model (if any). Does not check parameters against the
/// structure (see physical/persistence.h). Errors name the file.
Artifact load_artifact(const std::string& path, const ArtifactLoadOptions& options = {});

/// Parses a model dict, upgrading it in memory first when options.upgrade is set. `source` names it.
std::shared_ptr<Model> model_from_json_any_version(const std::string& json, const std::string& source,
                                                   const ArtifactLoadOptions& options = {});

/// Parses a tensor file held in memory whose kind its bytes tell: an .npz, a torch.save zip (a
/// legacy or bare pickle is refused with what it is) or a .safetensors file (copied: the bytes
/// are not kept). Returns the kind, or nullopt (nothing read) for bytes that are none of these.
/// `.npy` bytes are not handled here (their tensor name comes from the caller).
std::optional<ArtifactKind> parse_tensor_bytes(const std::string& bytes, const std::string& source, NamedTensors& tensors,
                                               std::map<std::string, std::string>& metadata);

/// Writes tensors to a tensor file, kind by extension ("-": .npz on standard output): an .npz
/// (optionally deflated), an .npy (exactly one tensor), a .pt state dict, a .safetensors file or
/// a tensor-only .mbin. Dtypes the format cannot hold are refused by name before anything is written.
/// `metadata` (string to string) goes where the format has a place for it: a safetensors
/// "__metadata__". `format` as artifact_kind_for_output.
void save_tensors(const std::string& path, const NamedTensors& tensors, bool compress = false,
                  const std::map<std::string, std::string>& metadata = {}, const std::string& format = "");

/// Writes a tensor-only .mbin (no structure; metadata "content": "tensors").
void write_tensor_mbin(const std::string& path, const NamedTensors& tensors);

}  // namespace mithril
