#include "io/artifact.h"

#include <cctype>
#include <cstdio>

#include <fmt/format.h>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json_util.h"
#include "io/mbin.h"
#include "io/model_json.h"
#include "io/npy.h"
#include "io/zip.h"

namespace mithril {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string printable_prefix(const std::string& bytes) {
  std::string out;
  for (char c : bytes.substr(0, 8)) out += std::isprint(static_cast<unsigned char>(c)) ? std::string(1, c) : fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
  return out;
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

// Standard input can be read only once: take all of it, then tell the kind from its bytes.
// Containers that are read by mapping or by member (.mbin, .mithril) need a path.
void read_standard_input(Artifact& a, const ArtifactLoadOptions& options) {
  const std::string source = "<stdin>";
  std::string bytes = read_file("-");
  if (looks_like_mbin(bytes.data(), bytes.size()))
    throw Error(ErrorKind::invalid_argument, source + ": an .mbin file is memory-mapped: give its path, not standard input");
  if (looks_like_zip(bytes.data(), bytes.size())) {
    auto entries = read_zip_directory(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), source);
    if (!entries.empty() && entries[0].name == "mithril.json")
      throw Error(ErrorKind::invalid_argument, source + ": a .mithril file is read by member: give its path, not standard input");
    a.kind = ArtifactKind::npz;
    a.tensors = parse_npz(bytes.data(), bytes.size(), source);
  } else if (looks_like_npy(bytes.data(), bytes.size())) {
    a.kind = ArtifactKind::npy;
    a.tensors.emplace_back("array", parse_npy(bytes.data(), bytes.size(), source));
  } else {
    a.kind = ArtifactKind::structure_json;
    a.structure_json = std::move(bytes);
    a.model = model_from_json_any_version(a.structure_json, source, options);
  }
}

// Reads a file by path, its kind by content.
void read_path(Artifact& a, const std::string& path, const ArtifactLoadOptions& options) {
  a.kind = detect_artifact_kind(path);
  switch (a.kind) {
    case ArtifactKind::structure_json:
      a.structure_json = read_file(path);
      a.model = model_from_json_any_version(a.structure_json, path, options);
      break;
    case ArtifactKind::npz: a.tensors = read_npz(path); break;
    case ArtifactKind::npy: {
      std::string name = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
      if (ends_with(name, ".npy")) name = name.substr(0, name.size() - 4);
      a.tensors.emplace_back(name, read_npy(path));
      break;
    }
    case ArtifactKind::mithril: {
      ModelPackage package = read_mithril_file(path);
      a.structure_json = std::move(package.structure_json);
      a.tensors = std::move(package.parameters);
      a.metadata = std::move(package.metadata);
      a.has_parameters = true;
      a.model = model_from_json_any_version(a.structure_json, path + ": model.json", options);
      break;
    }
    case ArtifactKind::mbin: {
      MbinOpenOptions open_options;
      open_options.verify = options.verify;
      open_options.check_tensors = options.check_tensors;
      auto file = MbinFile::open(path, open_options);
      a.structure_json = file->structure_json();
      a.has_parameters = true;
      for (const MbinTensorInfo& info : file->tensors())
        a.tensors.emplace_back(info.name, options.eager ? file->load(info) : file->view(info));
      a.metadata = parse_package_metadata(file->metadata_json(), path + ": metadata");
      a.model = model_from_json_any_version(a.structure_json, path + ": structure", options);
      break;
    }
  }
}

}  // namespace

const char* artifact_kind_name(ArtifactKind kind) {
  switch (kind) {
    case ArtifactKind::structure_json: return "structure json";
    case ArtifactKind::npz: return "npz";
    case ArtifactKind::npy: return "npy";
    case ArtifactKind::mithril: return "mithril";
    case ArtifactKind::mbin: return "mbin";
  }
  return "?";
}

bool holds_model(ArtifactKind kind) {
  return kind == ArtifactKind::structure_json || kind == ArtifactKind::mithril || kind == ArtifactKind::mbin;
}

ArtifactKind detect_artifact_kind(const std::string& path) {
  std::string head = read_prefix(path, 64);
  if (head.empty()) throw Error(ErrorKind::format, path + ": empty file");
  if (looks_like_mbin(head.data(), head.size())) return ArtifactKind::mbin;
  if (looks_like_npy(head.data(), head.size())) return ArtifactKind::npy;
  if (looks_like_zip(head.data(), head.size())) return looks_like_mithril_file(path) ? ArtifactKind::mithril : ArtifactKind::npz;
  if (json::starts_like_object(head)) return ArtifactKind::structure_json;
  throw Error(ErrorKind::format, fmt::format("{}: not a model or tensor file (starts with \"{}\"; expected a JSON model dict, "
                                             ".npz, .npy, .mithril or .mbin)", path, printable_prefix(head)));
}

ArtifactKind artifact_kind_for_output(const std::string& path, const std::string& format) {
  if (!format.empty()) {
    for (ArtifactKind kind : {ArtifactKind::structure_json, ArtifactKind::npz, ArtifactKind::npy, ArtifactKind::mithril, ArtifactKind::mbin})
      if (format == (kind == ArtifactKind::structure_json ? "json" : artifact_kind_name(kind))) return kind;
    throw Error(ErrorKind::invalid_argument, "--format '" + format + "': expected json, npz, npy, mithril or mbin");
  }
  if (ends_with(path, ".json")) return ArtifactKind::structure_json;
  if (ends_with(path, ".npz")) return ArtifactKind::npz;
  if (ends_with(path, ".npy")) return ArtifactKind::npy;
  if (ends_with(path, ".mithril")) return ArtifactKind::mithril;
  if (ends_with(path, ".mbin")) return ArtifactKind::mbin;
  throw Error(ErrorKind::invalid_argument,
              path + ": cannot tell the output kind from the extension (expected .json, .npz, .npy, .mithril or .mbin, "
                     "or give --format)");
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

void save_tensors(const std::string& path, const NamedTensors& tensors, bool compress, const std::string& format) {
  ArtifactKind kind = path == "-" && format.empty() ? ArtifactKind::npz : artifact_kind_for_output(path, format);
  if (kind == ArtifactKind::npy) {
    if (tensors.size() != 1)
      throw Error(ErrorKind::invalid_argument, fmt::format("{}: an .npy holds exactly one tensor, got {}; write an .npz", path, tensors.size()));
    write_npy(path, tensors[0].second);
    return;
  }
  if (kind != ArtifactKind::npz)
    throw Error(ErrorKind::invalid_argument, path + ": tensors are written to .npz or .npy files");
  write_npz(path, tensors, compress);
}

}  // namespace mithril
