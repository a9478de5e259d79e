#pragma once
// Pieces the tool functions share: parsing the small flag syntaxes (--arg k=v, --shape in=5,10),
// describing written files, and loading operator plugins before any model is read.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/shape.h"
#include "io/artifact.h"
#include "physical/state_dict.h"

namespace mithril::tools {

/// A file a tool wrote (or "-" for standard output).
struct WrittenFile {
  std::string path;
  std::string kind;     ///< artifact kind name ("structure json", "npz", "mithril", "mbin", "npy")
  uint64_t bytes = 0;   ///< size on disk (0 for standard output)
  std::string content;  ///< what it holds, e.g. "structure", "4 parameters", "1 output"
};

/// Parses "key=value" items (of flag `flag`, for messages). Throws Error(invalid_argument) for an
/// item without '=' or with an empty key, or a key given twice.
std::map<std::string, std::string> parse_key_values(const std::vector<std::string>& items, const std::string& flag);

/// Parses "--shape" items "input=5,10" (an empty list after '=' means a 0-d input). Throws
/// Error(invalid_argument) "--shape 'input=5,x': expected NAME=N,N,... with non-negative sizes".
std::map<std::string, Shape> parse_shapes(const std::vector<std::string>& items);

/// --map / --map-file / --torch-linear: how tensor names and layouts of another framework's state
/// dict (e.g. a torch module's) cross into a model or out of it (physical/state_dict.h).
struct MapOptions {
  std::vector<std::string> rules;  ///< --map 'REGEX=REPLACEMENT', in order
  std::string file;                ///< --map-file (its rules come after the --map ones)
  bool torch_linear = false;       ///< --torch-linear

  bool given() const { return !rules.empty() || !file.empty() || torch_linear; }
};

/// The mapping the options describe. Throws Error(invalid_argument) for a bad rule.
StateDictMapping make_mapping(const MapOptions& options);

/// When `artifact` is a model whose parameter values came from the tensor file `params_path`,
/// renames and lays them out by `options` for the model (every unmatched, missing or
/// mis-shaped tensor reported at once, unmatched ones dropped when `allow_extra`). Throws
/// Error(invalid_argument) when mapping options are given without such a file.
void map_parameters_in(Artifact& artifact, const MapOptions& options, const std::string& params_path, bool allow_extra);

/// Loads the plugins given by --plugin, then those of MITHRIL_PLUGINS (ops/plugin.h).
void load_tool_plugins(const std::vector<std::string>& plugins);

/// Load options every tool starts from: older model dicts (earlier formats, Python Mithril
/// dicts) are brought to the current format in memory, as mithril-migrate would write them.
ArtifactLoadOptions tool_load_options();

/// Reads --freeze NAME=FILE values (FILE: an .npy, or a tensor file holding one tensor or one named
/// NAME) into `options.onnx.frozen_inputs`: graph inputs of an ONNX model fixed at import, which
/// operators taking them as shape operands need. Throws Error(invalid_argument) for a bad spec.
void add_frozen_inputs(ArtifactLoadOptions& options, const std::vector<std::string>& specs);

/// The error to report when migrating `json` failed with `e`: for a dict without "version" (read
/// as Python Mithril's) that has this library's model keys, one saying the "version" is missing
/// (and what reading it as Python Mithril said); otherwise `e` itself.
Error missing_version_hint(const std::string& json, const std::string& source, const Error& e);

/// Size of a file in bytes (0 for "-" or a file that cannot be read).
uint64_t file_size_or_zero(const std::string& path);

/// "1.2 KiB", "355 B".
std::string human_bytes(uint64_t bytes);

/// Fills a WrittenFile for `path` after it was written.
WrittenFile written_file(const std::string& path, ArtifactKind kind, const std::string& content);

/// Re-reads the sizes of written files (after an AtomicWriteGroup renamed them into place).
void refresh_sizes(std::vector<WrittenFile>& written);

/// Total element count and byte size of tensors.
int64_t total_numel(const NamedTensors& tensors);
uint64_t total_bytes(const NamedTensors& tensors);

}  // namespace mithril::tools
