#pragma once
// The .mithril physical model file: one file holding the structure, every parameter value and
// metadata, as an open container that standard tools inspect.
//
// Layout: a zip archive (io/zip.h), members in this order:
//   1. "mithril.json"  metadata: {"format": "mithril", "container_version": "1.0",
//                      "model_format_version": "1.0.0", "producer": "mithril-cpp 0.1.0",
//                      "parameter_count": N, "backend_hints": {...}, "created": "..." (only if asked)}
//   2. "model.json"    the model dict (io/model_json.h), byte-identical to what to_dict writes
//   3. "<name>.npy"    one .npy per parameter, named by its dotted path, in parameter order;
//                      stored (or deflated with `compress`), data 64-byte aligned in the file
// So `unzip -l model.mithril` lists it, `unzip -p model.mithril model.json` prints the
// structure, and `numpy.load("model.mithril")["hidden.weight"]` reads a parameter. Writing is
// deterministic unless a creation time is asked for.
#include <map>
#include <string>

#include "io/npz.h"

namespace mithril {

/// What a single-file model artifact (.mithril or .mbin) holds.
struct ModelPackage {
  std::string structure_json;                   ///< the model dict text
  NamedTensors parameters;                      ///< by dotted path, in parameter order
  std::map<std::string, std::string> metadata;  ///< flat string metadata (producer, versions, hints)
};

struct PackageWriteOptions {
  bool compress = false;       ///< deflate the parameter members (.mithril only)
  std::string created;         ///< creation time to record; empty keeps the file reproducible
  std::map<std::string, std::string> backend_hints;  ///< e.g. {"compute_dtype": "float32"}
};

/// The metadata every package records: producer, container and model format versions, the
/// parameter count, backend hints and (if given) the creation time.
std::map<std::string, std::string> package_metadata(std::size_t parameter_count, const PackageWriteOptions& options);

/// The metadata as a JSON object of strings (the "mithril.json" member; .mbin metadata too).
std::string package_metadata_json(const std::map<std::string, std::string>& metadata);

/// Parses package metadata JSON (an object; non-string values kept as compact JSON), checking
/// "format" and the container major version when present.
/// Throws Error(format/unsupported) prefixed with `context`.
std::map<std::string, std::string> parse_package_metadata(const std::string& text, const std::string& context);

/// The "version" of a model dict text ("" when it has none or does not parse).
std::string structure_format_version(const std::string& structure_json);

/// Writes a .mithril file atomically. Throws Error(invalid_argument) for bad parameter names.
void write_mithril_file(const std::string& path, const ModelPackage& package, const PackageWriteOptions& options = {});

/// Reads a .mithril file: checks the container (members present, metadata JSON, every .npy
/// member with its CRC). The structure is returned as text, not yet parsed. Throws Error(format)
/// naming the file and member.
ModelPackage read_mithril_file(const std::string& path);

/// read_mithril_file of an archive whose directory was read already (read_zip_directory).
ModelPackage parse_mithril_members(const unsigned char* archive, const std::vector<ZipEntry>& entries, const std::string& context);

/// True for the entries of a .mithril file (its metadata member first); else an .npz or a torch zip.
bool is_mithril_zip(const std::vector<ZipEntry>& entries);

/// Only the structure text of a .mithril file (no tensor is read).
std::string read_mithril_structure(const std::string& path);

/// Rewrites `path` into `out_path` (may be the same path: atomic) with a new structure text,
/// copying every other member unchanged. Used by migrations.
void replace_mithril_structure(const std::string& path, const std::string& out_path, const std::string& structure_json);

}  // namespace mithril
