#include "io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <numeric>
#include <string_view>
#include <tuple>
#include <unordered_set>

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/bytes.h"
#include "io/json_util.h"
#include "io/npy.h"
#include "io/zip.h"

namespace mithril {
namespace {

constexpr std::size_t kHeaderLengthBytes = 8;
constexpr std::size_t kDataAlignment = 64;  // of the data start in what we write
constexpr const char* kMetadataKey = "__metadata__";

struct Code {
  const char* code;
  DType dtype;
};

constexpr Code kCodes[] = {
    {"F64", DType::float64}, {"F32", DType::float32}, {"F16", DType::float16}, {"BF16", DType::bfloat16},
    {"I64", DType::int64},   {"I32", DType::int32},   {"I16", DType::int16},   {"I8", DType::int8},
    {"U64", DType::uint64},  {"U32", DType::uint32},  {"U16", DType::uint16},  {"U8", DType::uint8},
    {"BOOL", DType::bool_},
};

const Code* code_by_name(std::string_view code) {
  for (const Code& c : kCodes)
    if (code == c.code) return &c;
  return nullptr;
}

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

std::string where(const std::string& context, const std::string& name) { return fmt::format("{}: tensor '{}'", context, name); }

Entry parse_entry(const std::string& name, const rapidjson::Value& v, const std::string& context) {
  std::string at = where(context, name);
  if (!v.IsObject()) throw Error(ErrorKind::format, at + ": header entry is " + json::describe(v) + ", expected an object");
  auto dtype = v.FindMember("dtype");
  auto shape = v.FindMember("shape");
  auto offsets = v.FindMember("data_offsets");
  if (dtype == v.MemberEnd() || shape == v.MemberEnd() || offsets == v.MemberEnd())
    throw Error(ErrorKind::format, at + ": header entry needs \"dtype\", \"shape\" and \"data_offsets\"");
  Entry e;
  e.name = name;
  if (!dtype->value.IsString()) throw Error(ErrorKind::format, at + ": dtype is " + json::describe(dtype->value) + ", expected a string");
  std::string code = dtype->value.GetString();
  const Code* c = code_by_name(code);
  if (!c) {
    std::string why = code.rfind("F8_", 0) == 0 ? "Mithril has no float8 dtype" : "not a safetensors dtype code Mithril reads";
    throw Error(ErrorKind::unsupported, fmt::format("{}: dtype '{}' is not supported ({})", at, code, why));
  }
  e.dtype = c->dtype;
  if (!shape->value.IsArray()) throw Error(ErrorKind::format, at + ": shape is " + json::describe(shape->value) + ", expected an array");
  if (shape->value.Size() > kNpyMaxDims)
    throw Error(ErrorKind::unsupported, fmt::format("{}: {} dimensions (at most {})", at, shape->value.Size(), kNpyMaxDims));
  uint64_t numel = 1;
  for (const auto& d : shape->value.GetArray()) {
    if (!d.IsUint64() || d.GetUint64() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw Error(ErrorKind::format, at + ": shape holds " + json::describe(d) + ", expected non-negative integers");
    e.shape.push_back(static_cast<int64_t>(d.GetUint64()));
    if (__builtin_mul_overflow(numel, d.GetUint64(), &numel)) throw Error(ErrorKind::format, at + ": shape " + shape_str(e.shape) + " overflows");
  }
  if (!offsets->value.IsArray() || offsets->value.Size() != 2 || !offsets->value[0].IsUint64() || !offsets->value[1].IsUint64())
    throw Error(ErrorKind::format, at + ": data_offsets is " + json::describe(offsets->value) + ", expected [begin, end]");
  e.begin = offsets->value[0].GetUint64();
  e.end = offsets->value[1].GetUint64();
  uint64_t nbytes;
  if (e.end < e.begin) throw Error(ErrorKind::format, fmt::format("{}: data_offsets [{}, {}] end before they begin", at, e.begin, e.end));
  if (__builtin_mul_overflow(numel, static_cast<uint64_t>(dtype_size(e.dtype)), &nbytes) || nbytes != e.end - e.begin)
    throw Error(ErrorKind::format, fmt::format("{}: data_offsets [{}, {}] hold {} bytes, {} {} needs {}", at, e.begin, e.end,
                                               e.end - e.begin, code, shape_str(e.shape), nbytes));
  return e;
}

// Shard file names from an index: relative, inside the index's folder.
std::string shard_path(const std::string& index_path, const std::string& file, const std::string& context) {
  if (std::string why = unsafe_zip_name_reason(file); !why.empty())
    throw Error(ErrorKind::format, fmt::format("{}: shard '{}': {}", context, file, why));
  std::filesystem::path dir = std::filesystem::path(index_path).parent_path();
  return (dir / file).string();
}

}  // namespace

bool looks_like_safetensors(const void* data, std::size_t size, uint64_t file_size) {
  if (size < kHeaderLengthBytes + 1) return false;
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t n = load_le<uint64_t>(p);
  return n >= 2 && n <= kSafetensorsMaxHeaderBytes && n <= file_size - kHeaderLengthBytes && p[8] == '{';
}

const char* safetensors_dtype_code(DType dtype) {
  for (const Code& c : kCodes)
    if (c.dtype == dtype) return c.code;
  return nullptr;
}

SafetensorsContents parse_safetensors(const void* data, std::size_t size, const std::string& context,
                                      std::shared_ptr<const void> keep_alive) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  if (size < kHeaderLengthBytes)
    throw Error(ErrorKind::format, fmt::format("{}: {} bytes, too short for a safetensors header length (8 bytes)", context, size));
  uint64_t n = load_le<uint64_t>(bytes);
  if (n > kSafetensorsMaxHeaderBytes)
    throw Error(ErrorKind::format, fmt::format("{}: header length {} exceeds the safetensors limit of {} bytes", context, n, kSafetensorsMaxHeaderBytes));
  if (n > size - kHeaderLengthBytes)
    throw Error(ErrorKind::format, fmt::format("{}: truncated: header length {} but only {} bytes follow", context, n, size - kHeaderLengthBytes));
  std::string_view header(reinterpret_cast<const char*>(bytes + kHeaderLengthBytes), static_cast<std::size_t>(n));
  if (header.empty() || header[0] != '{')
    throw Error(ErrorKind::format, context + ": the header does not start with '{'");
  std::string header_context = context + ": header";
  rapidjson::Document doc = json::parse(header, header_context);
  json::check_no_duplicate_keys(doc, header_context);
  if (!doc.IsObject()) throw Error(ErrorKind::format, header_context + ": expected a JSON object");

  SafetensorsContents out;
  std::vector<Entry> entries;
  for (const auto& m : doc.GetObject()) {
    std::string name(m.name.GetString(), m.name.GetStringLength());
    if (name == kMetadataKey) {
      if (!m.value.IsObject()) throw Error(ErrorKind::format, header_context + ": __metadata__ is " + json::describe(m.value) + ", expected an object of strings");
      for (const auto& kv : m.value.GetObject()) {
        if (!kv.value.IsString())
          throw Error(ErrorKind::format, fmt::format("{}: __metadata__ '{}' is {}, expected a string", header_context,
                                                     kv.name.GetString(), json::describe(kv.value)));
        out.metadata[std::string(kv.name.GetString(), kv.name.GetStringLength())] = std::string(kv.value.GetString(), kv.value.GetStringLength());
      }
      continue;
    }
    if (name.empty()) throw Error(ErrorKind::format, header_context + ": a tensor with an empty name");
    entries.push_back(parse_entry(name, m.value, context));
  }

  // The byte ranges, in offset order, must tile the data exactly.
  uint64_t data_start = kHeaderLengthBytes + n;
  uint64_t data_size = size - data_start;
  std::vector<std::size_t> order(entries.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::tie(entries[a].begin, entries[a].end) < std::tie(entries[b].begin, entries[b].end);
  });
  uint64_t expected = 0;
  for (std::size_t i : order) {
    const Entry& e = entries[i];
    if (e.begin != expected)
      throw Error(ErrorKind::format, fmt::format("{}: data_offsets [{}, {}] {} (expected it to begin at {}: tensors must be contiguous, "
                                                 "without holes or overlaps)", where(context, e.name), e.begin, e.end,
                                                 e.begin < expected ? "overlap the previous tensor" : "leave a hole", expected));
    expected = e.end;
  }
  if (expected != data_size)
    throw Error(ErrorKind::format, fmt::format("{}: the tensors hold {} bytes of data, the file has {} after the header{}", context, expected,
                                               data_size, expected > data_size ? " (truncated)" : " (trailing bytes)"));

  out.tensors.reserve(entries.size());
  for (const Entry& e : entries) {
    const unsigned char* p = bytes + data_start + e.begin;
    std::size_t nbytes = static_cast<std::size_t>(e.end - e.begin);
    if (keep_alive && reinterpret_cast<uintptr_t>(p) % dtype_size(e.dtype) == 0) {
      out.tensors.emplace_back(e.name, Tensor::borrow(e.dtype, e.shape, p, keep_alive));
    } else {
      Tensor t = Tensor::uninitialized(e.dtype, e.shape);
      if (nbytes) std::memcpy(t.mutable_data(), p, nbytes);
      out.tensors.emplace_back(e.name, std::move(t));
    }
  }
  return out;
}

SafetensorsContents read_safetensors(const std::string& path) {
  auto file = std::make_shared<FileBytes>(path);
  std::shared_ptr<const void> keep_alive(file, file->data());
  return parse_safetensors(file->data(), file->size(), path, keep_alive);
}

bool is_safetensors_index_path(const std::string& path) {
  const std::string suffix = ".safetensors.index.json";
  return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
}

SafetensorsContents read_safetensors_index(const std::string& path) {
  std::string text = read_file(path);
  if (text.size() > kSafetensorsMaxIndexBytes)
    throw Error(ErrorKind::format, fmt::format("{}: {} bytes, larger than an index can be ({})", path, text.size(), kSafetensorsMaxIndexBytes));
  rapidjson::Document doc = json::parse(text, path);
  json::check_no_duplicate_keys(doc, path);
  if (!doc.IsObject()) throw Error(ErrorKind::format, path + ": expected a JSON object with \"weight_map\"");
  auto map = doc.FindMember("weight_map");
  if (map == doc.MemberEnd() || !map->value.IsObject())
    throw Error(ErrorKind::format, path + ": weight_map: missing or not an object of tensor name -> shard file");
  SafetensorsContents out;
  if (auto meta = doc.FindMember("metadata"); meta != doc.MemberEnd() && meta->value.IsObject())
    for (const auto& kv : meta->value.GetObject())
      out.metadata[kv.name.GetString()] = kv.value.IsString() ? kv.value.GetString() : json::compact(kv.value);

  std::map<std::string, SafetensorsContents> shards;  // by file name as given
  std::map<std::string, std::map<std::string, const Tensor*>> shard_tensors;
  for (const auto& m : map->value.GetObject()) {
    std::string name(m.name.GetString(), m.name.GetStringLength());
    if (!m.value.IsString())
      throw Error(ErrorKind::format, fmt::format("{}: weight_map['{}'] is {}, expected a shard file name", path, name, json::describe(m.value)));
    std::string file = m.value.GetString();
    if (!shards.count(file)) {
      std::string shard = shard_path(path, file, path);
      SafetensorsContents contents = read_safetensors(shard);
      auto& index = shard_tensors[file];
      for (const auto& [n, t] : contents.tensors) index[n] = &t;
      shards.emplace(file, std::move(contents));
    }
    auto& index = shard_tensors[file];
    auto it = index.find(name);
    if (it == index.end())
      throw Error(ErrorKind::format, fmt::format("{}: tensor '{}' is mapped to shard '{}', which does not hold it", path, name, file));
    out.tensors.emplace_back(name, *it->second);
    index.erase(it);
  }
  for (const auto& [file, rest] : shard_tensors)
    if (!rest.empty())
      throw Error(ErrorKind::format, fmt::format("{}: shard '{}' holds tensor '{}', which the weight_map does not list", path, file, rest.begin()->first));
  return out;
}

void write_safetensors(const std::string& path, const NamedTensors& tensors, const std::map<std::string, std::string>& metadata) {
  std::unordered_set<std::string> seen;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty()) throw Error(ErrorKind::invalid_argument, path + ": empty tensor name");
    if (name == kMetadataKey) throw Error(ErrorKind::invalid_argument, path + ": tensor name '__metadata__' is reserved by the format");
    if (!seen.insert(name).second) throw Error(ErrorKind::invalid_argument, path + ": duplicate tensor name '" + name + "'");
    if (!safetensors_dtype_code(tensor.dtype()))
      throw Error(ErrorKind::unsupported, fmt::format("{}: tensor '{}': dtype {} has no safetensors dtype code", path, name, dtype_name(tensor.dtype())));
  }
  // Data placement: larger elements first, so every tensor starts aligned for its dtype.
  std::vector<std::size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return dtype_size(tensors[a].second.dtype()) > dtype_size(tensors[b].second.dtype());
  });
  std::vector<uint64_t> begin(tensors.size());
  uint64_t offset = 0;
  for (std::size_t i : order) {
    begin[i] = offset;
    offset += tensors[i].second.nbytes();
  }

  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  if (!metadata.empty()) {
    w.Key(kMetadataKey);
    w.StartObject();
    for (const auto& [k, v] : metadata) {
      w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
      w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
    }
    w.EndObject();
  }
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, t] = tensors[i];
    w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
    w.StartObject();
    w.Key("dtype");
    w.String(safetensors_dtype_code(t.dtype()));
    w.Key("shape");
    w.StartArray();
    for (int64_t d : t.shape()) w.Uint64(static_cast<uint64_t>(d));
    w.EndArray();
    w.Key("data_offsets");
    w.StartArray();
    w.Uint64(begin[i]);
    w.Uint64(begin[i] + t.nbytes());
    w.EndArray();
    w.EndObject();
  }
  w.EndObject();
  std::string header(buffer.GetString(), buffer.GetSize());
  std::size_t total = kHeaderLengthBytes + header.size();
  header.append((kDataAlignment - total % kDataAlignment) % kDataAlignment, ' ');
  if (header.size() > kSafetensorsMaxHeaderBytes)
    throw Error(ErrorKind::invalid_argument, fmt::format("{}: the header would be {} bytes, over the format's limit", path, header.size()));
  unsigned char length[kHeaderLengthBytes];
  for (std::size_t i = 0; i < kHeaderLengthBytes; ++i) length[i] = static_cast<unsigned char>((header.size() >> (8 * i)) & 0xff);

  AtomicFile file(path);
  file.write(length, sizeof length);
  file.write(header);
  for (std::size_t i : order) file.write(tensors[i].second.data(), tensors[i].second.nbytes());
  file.commit();
}

}  // namespace mithril
