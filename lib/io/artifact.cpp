#include "io/artifact.h"

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/bytes.h"
#include "io/json_util.h"
#include "io/mbin.h"
#include "io/model_json.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "io/torch_file.h"
#include "io/zip.h"

namespace mithril {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string read_prefix(const std::string& path, std::size_t n) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return read_file(path).substr(0, n);  // read_file reports the error with errno
  std::string out(n, '\0');
  std::size_t got = std::fread(out.data(), 1, n, f);
  bool failed = std::ferror(f) != 0;  // e.g. a folder: fopen succeeds, reading fails
  std::fclose(f);
  if (failed) return read_file(path).substr(0, n);  // read_file names the problem
  out.resize(got);
  return out;
}

// An ONNX ModelProto is protobuf: field 1 (ir_version, a small varint) first, then a
// length-delimited field (producer_name, graph, opset_import, ...).
bool looks_like_onnx(const std::string& head) {
  auto byte = [&](std::size_t i) { return i < head.size() ? static_cast<unsigned char>(head[i]) : 0u; };
  return byte(0) == 0x08 && byte(1) >= 1 && byte(1) <= 20 && (byte(2) & 0x07) == 2 && byte(2) <= 0x7a;
}

// Formats people bring that we recognise by their first bytes but do not read, named so the user
// knows what they have: "" when none matches.
std::string foreign_format(const std::string& head, const std::string& path) {
  auto starts = [&](std::string_view magic) { return head.compare(0, magic.size(), magic) == 0; };
  if (starts("GGUF")) return "a GGUF file (llama.cpp's model format)";
  if (starts(std::string_view("\x89HDF\r\n\x1a\n", 8))) return "an HDF5 file (e.g. a Keras .h5 model or weights)";
  if (ends_with(path, ".tflite") || (head.size() >= 8 && head.compare(4, 4, "TFL3") == 0)) return "a TensorFlow Lite model";
  return "";
}

// The kind of a file that is not a zip, from its first bytes (`head`), its size and its name.
ArtifactKind kind_from_head(const std::string& head, const std::string& path) {
  if (head.empty()) throw Error(ErrorKind::format, path + ": empty file");
  if (looks_like_mbin(head.data(), head.size())) return ArtifactKind::mbin;
  if (looks_like_npy(head.data(), head.size())) return ArtifactKind::npy;
  if (looks_like_pickle(head.data(), head.size())) return ArtifactKind::pt;
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) size = std::numeric_limits<uint64_t>::max();
  if (looks_like_safetensors(head.data(), head.size(), size)) return ArtifactKind::safetensors;
  for (char c : json::skip_bom(head)) {  // a UTF-8 byte-order mark may precede a JSON model
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    if (c == '{') return is_safetensors_index_path(path) ? ArtifactKind::safetensors_index : ArtifactKind::structure_json;
    // A JSON string is Python Mithril's bare model name ("Relu"), a model dict too.
    if (c == '"') return ArtifactKind::structure_json;
    break;
  }
  if (looks_like_onnx(head) || ends_with(path, ".onnx")) return ArtifactKind::onnx;
  // A header length out of bounds, a header that is not an object: the reader says which rule broke.
  if (ends_with(path, ".safetensors")) return ArtifactKind::safetensors;
  if (std::string foreign = foreign_format(head, path); !foreign.empty())
    throw Error(ErrorKind::unsupported, fmt::format("{}: {}, a format these tools do not read (they read JSON model dicts, .mithril, "
                                                    ".mbin, .onnx, .npz, .npy, .pt and .safetensors)", path, foreign));
  throw Error(ErrorKind::format, fmt::format("{}: not a model or tensor file (starts with \"{}\"; expected a JSON model dict, "
                                             ".onnx, .npz, .npy, .mithril, .mbin, .pt or .safetensors)", path, printable(std::string_view(head).substr(0, 8))));
}

// A zip is a .mithril, a torch.save file or an .npz, told by its central directory.
ArtifactKind zip_kind(const std::vector<ZipEntry>& entries) {
  if (is_mithril_zip(entries)) return ArtifactKind::mithril;
  if (is_torch_zip(entries)) return ArtifactKind::pt;
  return ArtifactKind::npz;
}

// Reads a zip's directory once, tells its kind from it and reads the members of that kind: a
// corrupt archive is reported by the reader of its real kind (or by the directory reader).
void read_zip(Artifact& a, const unsigned char* data, std::size_t size, const std::string& source,
              const ArtifactLoadOptions& options) {
  std::vector<ZipEntry> entries = read_zip_directory(data, size, source);
  a.kind = zip_kind(entries);
  switch (a.kind) {
    case ArtifactKind::mithril: {
      ModelPackage package = parse_mithril_members(data, entries, source);
      a.structure_json = std::move(package.structure_json);
      a.tensors = std::move(package.parameters);
      a.metadata = std::move(package.metadata);
      a.has_parameters = true;
      a.model = model_from_json_any_version(a.structure_json, source + ": model.json", options);
      break;
    }
    case ArtifactKind::pt: {
      TorchStateDict sd = parse_torch_zip(data, entries, source);
      a.tensors = std::move(sd.tensors);
      a.metadata = std::move(sd.metadata);
      break;
    }
    default: a.tensors = parse_npz_members(data, entries, source); break;
  }
}

// Standard input can be read only once: take all of it, then tell the kind from its bytes.
// An .mbin is read by mapping: it needs a path.
void read_standard_input(Artifact& a, const ArtifactLoadOptions& options) {
  const std::string source = "<stdin>";
  std::string bytes = read_file("-");
  if (looks_like_mbin(bytes.data(), bytes.size()))
    throw Error(ErrorKind::invalid_argument, source + ": an .mbin file is memory-mapped: give its path, not standard input");
  if (looks_like_zip(bytes.data(), bytes.size())) {
    read_zip(a, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), source, options);
    return;
  }
  if (looks_like_npy(bytes.data(), bytes.size())) {
    a.kind = ArtifactKind::npy;
    a.tensors.emplace_back("array", parse_npy(bytes.data(), bytes.size(), source));
  } else if (auto kind = parse_tensor_bytes(bytes, source, a.tensors, a.metadata)) {
    a.kind = *kind;
  } else {
    a.kind = ArtifactKind::structure_json;
    a.structure_json = std::move(bytes);
    a.model = model_from_json_any_version(a.structure_json, source, options);
  }
}

// Reads a file by path, its kind by content.
void read_path(Artifact& a, const std::string& path, const ArtifactLoadOptions& options) {
  std::string head = read_prefix(path, 64);
  if (looks_like_zip(head.data(), head.size())) {  // one mapping and one directory read for kind and contents
    FileBytes bytes(path);
    read_zip(a, bytes.data(), bytes.size(), path, options);
    return;
  }
  a.kind = kind_from_head(head, path);
  switch (a.kind) {
    case ArtifactKind::structure_json:
      a.structure_json = read_file(path);
      a.model = model_from_json_any_version(a.structure_json, path, options);
      break;
    case ArtifactKind::npz:
    case ArtifactKind::mithril: break;  // zips: read above
    case ArtifactKind::npy: {
      std::string name = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
      if (ends_with(name, ".npy")) name = name.substr(0, name.size() - 4);
      a.tensors.emplace_back(name, read_npy(path));
      break;
    }
    case ArtifactKind::mbin: {
      MbinOpenOptions open_options;
      open_options.verify = options.verify;
      open_options.check_tensors = options.check_tensors;
      auto file = MbinFile::open(path, open_options);
      a.structure_json = file->structure_json();
      for (const MbinTensorInfo& info : file->tensors())
        a.tensors.emplace_back(info.name, options.eager ? file->load(info) : file->view(info));
      a.metadata = parse_package_metadata(file->metadata_json(), path + ": metadata");
      if (a.structure_json.empty()) break;  // tensors only
      a.has_parameters = true;
      a.model = model_from_json_any_version(a.structure_json, path + ": structure", options);
      break;
    }
    case ArtifactKind::pt: {  // a pickle stream (a zip is read above): says what it is and refuses it
      TorchStateDict sd = read_torch_file(path);
      a.tensors = std::move(sd.tensors);
      a.metadata = std::move(sd.metadata);
      break;
    }
    case ArtifactKind::safetensors:
    case ArtifactKind::safetensors_index: {
      SafetensorsContents st = a.kind == ArtifactKind::safetensors ? read_safetensors(path) : read_safetensors_index(path);
      a.tensors = std::move(st.tensors);
      a.metadata = std::move(st.metadata);
      break;
    }
    case ArtifactKind::onnx: {
      OnnxModel imported = import_onnx(path, options.onnx);
      a.model = std::move(imported.model);
      a.tensors = std::move(imported.parameters);
      a.metadata = std::move(imported.metadata);
      a.has_parameters = true;
      break;
    }
  }
}

}  // namespace

std::optional<ArtifactKind> parse_tensor_bytes(const std::string& bytes, const std::string& source, NamedTensors& tensors,
                                               std::map<std::string, std::string>& metadata) {
  if (looks_like_zip(bytes.data(), bytes.size())) {
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    auto entries = read_zip_directory(data, bytes.size(), source);
    if (is_torch_zip(entries)) {
      TorchStateDict sd = parse_torch_zip(data, entries, source);
      tensors = std::move(sd.tensors);
      metadata = std::move(sd.metadata);
      return ArtifactKind::pt;
    }
    tensors = parse_npz_members(data, entries, source);
    return ArtifactKind::npz;
  }
  if (looks_like_pickle(bytes.data(), bytes.size())) {
    parse_torch_file(bytes.data(), bytes.size(), source);  // says what it is and refuses it
    return ArtifactKind::pt;
  }
  if (looks_like_safetensors(bytes.data(), bytes.size(), bytes.size())) {
    SafetensorsContents st = parse_safetensors(bytes.data(), bytes.size(), source);
    tensors = std::move(st.tensors);
    metadata = std::move(st.metadata);
    return ArtifactKind::safetensors;
  }
  return std::nullopt;
}

const char* artifact_kind_name(ArtifactKind kind) {
  switch (kind) {
    case ArtifactKind::structure_json: return "structure json";
    case ArtifactKind::npz: return "npz";
    case ArtifactKind::npy: return "npy";
    case ArtifactKind::mithril: return "mithril";
    case ArtifactKind::mbin: return "mbin";
    case ArtifactKind::pt: return "pt";
    case ArtifactKind::safetensors: return "safetensors";
    case ArtifactKind::safetensors_index: return "safetensors index";
    case ArtifactKind::onnx: return "onnx";
  }
  return "?";
}

bool holds_model(ArtifactKind kind) {
  return kind == ArtifactKind::structure_json || kind == ArtifactKind::mithril || kind == ArtifactKind::mbin ||
         kind == ArtifactKind::onnx;
}

bool is_tensor_output(ArtifactKind kind) {
  return kind == ArtifactKind::npz || kind == ArtifactKind::npy || kind == ArtifactKind::pt || kind == ArtifactKind::safetensors ||
         kind == ArtifactKind::mbin;
}

const char* tensor_output_extensions() { return ".npz, .npy, .pt, .safetensors or .mbin"; }

ArtifactKind detect_artifact_kind(const std::string& path) {
  std::string head = read_prefix(path, 64);
  if (looks_like_zip(head.data(), head.size())) {
    FileBytes bytes(path);
    return zip_kind(read_zip_directory(bytes.data(), bytes.size(), path));
  }
  return kind_from_head(head, path);
}

ArtifactKind artifact_kind_for_output(const std::string& path, const std::string& format) {
  if (!format.empty()) {
    for (ArtifactKind kind : {ArtifactKind::structure_json, ArtifactKind::npz, ArtifactKind::npy, ArtifactKind::mithril, ArtifactKind::mbin,
                              ArtifactKind::pt, ArtifactKind::safetensors, ArtifactKind::onnx})
      if (format == (kind == ArtifactKind::structure_json ? "json" : artifact_kind_name(kind))) return kind;
    throw Error(ErrorKind::invalid_argument, "--format '" + format + "': expected json, npz, npy, mithril, mbin, pt, safetensors or onnx");
  }
  if (ends_with(path, ".json")) return ArtifactKind::structure_json;
  if (ends_with(path, ".npz")) return ArtifactKind::npz;
  if (ends_with(path, ".npy")) return ArtifactKind::npy;
  if (ends_with(path, ".mithril")) return ArtifactKind::mithril;
  if (ends_with(path, ".mbin")) return ArtifactKind::mbin;
  if (ends_with(path, ".pt") || ends_with(path, ".pth")) return ArtifactKind::pt;
  if (ends_with(path, ".safetensors")) return ArtifactKind::safetensors;
  if (ends_with(path, ".onnx")) return ArtifactKind::onnx;
  throw Error(ErrorKind::invalid_argument, path + ": cannot tell the output kind from the extension (expected .json, .npz, .npy, "
                                                  ".mithril, .mbin, .onnx, .pt, .pth or .safetensors, or give --format)");
}

std::shared_ptr<Model> model_from_json_any_version(const std::string& json, const std::string& source,
                                                   const ArtifactLoadOptions& options) {
  FromDictOptions dict_options;
  dict_options.allow_unknown_ops = options.allow_unknown_ops;
  if (!options.upgrade) return from_dict(json, source, dict_options);
  return from_dict(options.upgrade(json, source), source, dict_options);
}

Artifact load_artifact(const std::string& path, const ArtifactLoadOptions& options) {
  Artifact a;
  a.path = path;
  if (path == "-") read_standard_input(a, options);
  else read_path(a, path, options);
  if (!options.params_path.empty()) {
    if (!a.model) throw Error(ErrorKind::invalid_argument, path + ": --params given, but this is a tensor file, not a model");
    ArtifactLoadOptions params_options;
    params_options.verify = options.verify;
    params_options.check_tensors = options.check_tensors;
    params_options.eager = options.eager;
    Artifact params = load_artifact(options.params_path, params_options);
    a.tensors = std::move(params.tensors);
    a.has_parameters = true;
  }
  return a;
}

void save_tensors(const std::string& path, const NamedTensors& tensors, bool compress,
                  const std::map<std::string, std::string>& metadata, const std::string& format) {
  ArtifactKind kind = path == "-" && format.empty() ? ArtifactKind::npz : artifact_kind_for_output(path, format);
  if (kind == ArtifactKind::npy) {
    if (tensors.size() != 1)
      throw Error(ErrorKind::invalid_argument, fmt::format("{}: an .npy holds exactly one tensor, got {}; write an .npz", path, tensors.size()));
    write_npy(path, tensors[0].second);
    return;
  }
  switch (kind) {
    case ArtifactKind::npz: return write_npz(path, tensors, compress);
    case ArtifactKind::pt: return write_torch_file(path, tensors);
    case ArtifactKind::safetensors: return write_safetensors(path, tensors, metadata);
    case ArtifactKind::mbin: return write_tensor_mbin(path, tensors);
    default:
      throw Error(ErrorKind::invalid_argument, fmt::format("{}: tensors are written to {} files", path, tensor_output_extensions()));
  }
}

void write_tensor_mbin(const std::string& path, const NamedTensors& tensors) {
  std::map<std::string, std::string> metadata = package_metadata(tensors.size(), {});
  metadata["content"] = "tensors";
  metadata["tensor_count"] = metadata["parameter_count"];
  metadata.erase("parameter_count");
  metadata.erase("model_format_version");
  write_mbin(path, "", package_metadata_json(metadata), tensors);
}

}  // namespace mithril
