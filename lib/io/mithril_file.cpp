#include "io/mithril_file.h"

#include <fmt/format.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json_util.h"
#include "io/model_json.h"
#include "io/npy.h"
#include "io/zip.h"

namespace mithril {
namespace {

constexpr const char* kMetadataMember = "mithril.json";
constexpr const char* kStructureMember = "model.json";
constexpr const char* kContainerVersion = "1.0";
// A structure or metadata member larger than this is refused before it is read.
constexpr uint64_t kMaxJsonMemberBytes = uint64_t{1} << 30;

std::string read_text_member(const unsigned char* archive, const ZipEntry& entry, const std::string& context) {
  if (entry.uncompressed_size > kMaxJsonMemberBytes)
    throw Error(ErrorKind::format, fmt::format("{}: {} bytes, more than the {} allowed", context, entry.uncompressed_size,
                                               kMaxJsonMemberBytes));
  ZipMemberReader reader(archive, entry, context);
  std::string text(static_cast<std::size_t>(entry.uncompressed_size), '\0');
  reader.read(text.data(), text.size());
  reader.finish();
  return text;
}

}  // namespace

std::string package_metadata_json(const std::map<std::string, std::string>& metadata) {
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buffer);
  w.SetIndent(' ', 2);
  w.StartObject();
  for (const auto& [k, v] : metadata) {
    w.Key(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

namespace {

void check_mithril_members(const std::vector<ZipEntry>& entries, const std::string& path) {
  if (entries.size() < 2 || entries[0].name != kMetadataMember || entries[1].name != kStructureMember)
    throw Error(ErrorKind::format, path + ": not a .mithril file: expected members 'mithril.json' then 'model.json' first");
}

struct OpenedArchive {
  FileBytes bytes;
  std::vector<ZipEntry> entries;
  explicit OpenedArchive(const std::string& path) : bytes(path) {
    entries = read_zip_directory(bytes.data(), bytes.size(), path);
    check_mithril_members(entries, path);
  }
};

}  // namespace

std::map<std::string, std::string> parse_package_metadata(const std::string& text, const std::string& context) {
  rapidjson::Document doc = json::parse(text, context);
  if (!doc.IsObject()) throw Error(ErrorKind::format, context + ": expected a JSON object");
  std::map<std::string, std::string> out;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it)
    out[it->name.GetString()] = it->value.IsString() ? it->value.GetString() : json::compact(it->value);
  // Metadata written by others (e.g. an .mbin from another tool) may lack our keys; ours must be right.
  if (!out.count("format")) return out;
  if (out["format"] != "mithril") throw Error(ErrorKind::format, context + ": \"format\" is not \"mithril\"");
  std::string version = out["container_version"];
  if (version.empty() || version.substr(0, version.find('.')) != "1")
    throw Error(ErrorKind::unsupported, fmt::format("{}: container version '{}' is not one this library reads ({})", context,
                                                    version, kContainerVersion));
  return out;
}

std::string structure_format_version(const std::string& structure_json) {
  rapidjson::Document doc;
  doc.Parse(structure_json.data(), structure_json.size());
  if (!doc.HasParseError() && doc.IsObject())
    if (auto it = doc.FindMember("version"); it != doc.MemberEnd() && it->value.IsString()) return it->value.GetString();
  return "";
}

std::map<std::string, std::string> package_metadata(std::size_t parameter_count, const PackageWriteOptions& options) {
  std::map<std::string, std::string> meta = {
      {"format", "mithril"},
      {"container_version", kContainerVersion},
      {"model_format_version", kModelFormatVersion},
      {"producer", std::string("mithril-cpp ") + MITHRIL_VERSION},
      {"parameter_count", std::to_string(parameter_count)},
  };
  for (const auto& [k, v] : options.backend_hints) meta["backend_hints." + k] = v;
  if (!options.created.empty()) meta["created"] = options.created;
  return meta;
}

void write_mithril_file(const std::string& path, const ModelPackage& package, const PackageWriteOptions& options) {
  std::vector<std::string> headers;
  for (const auto& [name, tensor] : package.parameters) {
    if (name == "mithril" || name == "model")
      throw Error(ErrorKind::invalid_argument, path + ": parameter name '" + name + "' is reserved in .mithril files");
    if (std::string why = unsafe_zip_name_reason(name + ".npy"); !why.empty())
      throw Error(ErrorKind::invalid_argument, path + ": parameter '" + name + "': " + why);
    headers.push_back(npy_header_for(tensor, name));
  }
  std::string meta = package_metadata_json(package_metadata(package.parameters.size(), options));
  AtomicFile file(path);
  ZipWriter zip(file);
  zip.add(kMetadataMember, {meta}, false);
  zip.add(kStructureMember, {package.structure_json}, false);
  for (std::size_t i = 0; i < package.parameters.size(); ++i) {
    const Tensor& t = package.parameters[i].second;
    zip.add(package.parameters[i].first + ".npy", {headers[i], std::string_view(static_cast<const char*>(t.data()), t.nbytes())},
            options.compress, kNpyAlignment);
  }
  zip.finish();
  file.commit();
}

ModelPackage parse_mithril_members(const unsigned char* archive, const std::vector<ZipEntry>& entries, const std::string& path) {
  check_mithril_members(entries, path);
  ModelPackage package;
  package.metadata = parse_package_metadata(read_text_member(archive, entries[0], path + ": member 'mithril.json'"),
                                            path + ": member 'mithril.json'");
  if (package.metadata["format"] != "mithril")
    throw Error(ErrorKind::format, path + ": member 'mithril.json': \"format\" is not \"mithril\"");
  package.structure_json = read_text_member(archive, entries[1], path + ": member 'model.json'");
  for (std::size_t i = 2; i < entries.size(); ++i) {
    const ZipEntry& entry = entries[i];
    std::string context = path + ": member '" + entry.name + "'";
    if (entry.name.size() <= 4 || entry.name.compare(entry.name.size() - 4, 4, ".npy") != 0)
      throw Error(ErrorKind::format, context + ": expected a parameter member named '<name>.npy'");
    package.parameters.emplace_back(entry.name.substr(0, entry.name.size() - 4), read_npy_member(archive, entry, context));
  }
  return package;
}

ModelPackage read_mithril_file(const std::string& path) {
  OpenedArchive archive(path);
  return parse_mithril_members(archive.bytes.data(), archive.entries, path);
}

bool is_mithril_zip(const std::vector<ZipEntry>& entries) { return !entries.empty() && entries[0].name == kMetadataMember; }

std::string read_mithril_structure(const std::string& path) {
  OpenedArchive archive(path);
  parse_package_metadata(read_text_member(archive.bytes.data(), archive.entries[0], path + ": member 'mithril.json'"),
                 path + ": member 'mithril.json'");
  return read_text_member(archive.bytes.data(), archive.entries[1], path + ": member 'model.json'");
}

void replace_mithril_structure(const std::string& path, const std::string& out_path, const std::string& structure_json) {
  OpenedArchive archive(path);
  std::string meta_text = read_text_member(archive.bytes.data(), archive.entries[0], path + ": member 'mithril.json'");
  auto meta = parse_package_metadata(meta_text, path + ": member 'mithril.json'");
  if (meta["format"] != "mithril") throw Error(ErrorKind::format, path + ": member 'mithril.json': \"format\" is not \"mithril\"");
  meta["model_format_version"] = structure_format_version(structure_json);
  AtomicFile file(out_path);
  ZipWriter zip(file);
  zip.add(kMetadataMember, {package_metadata_json(meta)}, false);
  zip.add(kStructureMember, {structure_json}, false);
  for (std::size_t i = 2; i < archive.entries.size(); ++i) {
    const ZipEntry& entry = archive.entries[i];
    std::string context = path + ": member '" + entry.name + "'";
    // Re-read through the checked reader (CRC) rather than copying raw bytes blindly.
    Tensor t = read_npy_member(archive.bytes.data(), entry, context);
    std::string name = entry.name.substr(0, entry.name.size() - 4);
    zip.add(entry.name, {npy_header_for(t, name), std::string_view(static_cast<const char*>(t.data()), t.nbytes())},
            entry.method == 8, kNpyAlignment);
  }
  zip.finish();
  file.commit();
}

}  // namespace mithril
