#include "io/npz.h"

#include <algorithm>
#include <cstring>
#include <unordered_set>
#include <vector>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/npy.h"
#include "io/zip.h"

namespace mithril {
namespace {

constexpr std::string_view kNpySuffix = ".npy";
// Enough for the magic, version and the longest (4-byte) header length field.
constexpr std::size_t kNpyPreambleSize = 12;

}  // namespace

// Reads one member: header first, then the array data straight into the tensor buffer.
Tensor read_npy_member(const unsigned char* archive, const ZipEntry& entry, const std::string& context) {
  ZipMemberReader reader(archive, entry, context);
  std::string head(static_cast<std::size_t>(std::min<uint64_t>(reader.remaining(), kNpyPreambleSize)), '\0');
  reader.read(head.data(), head.size());
  std::size_t header_size = npy_header_length(head.data(), head.size(), context);
  if (header_size > head.size()) {
    std::size_t more = header_size - head.size();
    if (more > reader.remaining())
      throw Error(ErrorKind::format, context + ": truncated: npy header claims " + std::to_string(header_size) +
                                         " bytes, member holds " + std::to_string(head.size() + reader.remaining()));
    head.resize(header_size);
    reader.read(head.data() + kNpyPreambleSize, more);
  }
  NpyHeader header = parse_npy_header(head.data(), head.size(), context);
  // A header shorter than the preamble we read leaves the first data bytes in `head`.
  std::size_t data_in_head = head.size() - header.data_offset;
  uint64_t available = data_in_head + reader.remaining();
  if (header.data_bytes > available)
    throw Error(ErrorKind::format, context + ": header claims " + std::to_string(header.data_bytes) + " bytes of data (" +
                                       header.descr + " " + shape_str(header.shape) + "), member holds " + std::to_string(available));
  Tensor tensor = Tensor::uninitialized(header.dtype, header.shape);
  bool reorder = header.fortran_order && header.shape.size() > 1;
  std::vector<unsigned char> staging;
  auto* raw = static_cast<unsigned char*>(tensor.mutable_data());
  if (reorder) {
    staging.resize(static_cast<std::size_t>(header.data_bytes));
    raw = staging.data();
  }
  std::size_t from_head = std::min<std::size_t>(data_in_head, static_cast<std::size_t>(header.data_bytes));
  if (from_head) std::memcpy(raw, head.data() + header.data_offset, from_head);
  reader.read(raw + from_head, static_cast<std::size_t>(header.data_bytes) - from_head);
  reader.finish();  // CRC and size checks before anyone sees the data
  if (reorder || header.byteswap) npy_data_to_native(header, raw, tensor.mutable_data());
  return tensor;
}

namespace {

std::string key_of(const std::string& member) {
  if (member.size() >= kNpySuffix.size() && member.compare(member.size() - kNpySuffix.size(), kNpySuffix.size(), kNpySuffix) == 0)
    return member.substr(0, member.size() - kNpySuffix.size());
  return member;
}

}  // namespace

bool looks_like_npz(const void* data, std::size_t size) { return looks_like_zip(data, size); }

NamedTensors parse_npz(const void* data, std::size_t size, const std::string& context) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  return parse_npz_members(bytes, read_zip_directory(bytes, size, context), context);
}

NamedTensors parse_npz_members(const unsigned char* bytes, const std::vector<ZipEntry>& entries, const std::string& context) {
  NamedTensors out;
  out.reserve(entries.size());
  for (const ZipEntry& entry : entries) {
    std::string member_context = context + ": member '" + entry.name + "'";
    out.emplace_back(key_of(entry.name), read_npy_member(bytes, entry, member_context));
  }
  return out;
}

NamedTensors read_npz(const std::string& path) {
  FileBytes file(path);
  return parse_npz(file.data(), file.size(), path);
}

void write_npz(const std::string& path, const NamedTensors& tensors, bool compress) {
  // Check every name and dtype before writing anything (matters for standard output).
  std::vector<std::string> headers;
  headers.reserve(tensors.size());
  std::unordered_set<std::string> seen;
  seen.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    std::string member = name + std::string(kNpySuffix);
    if (name.empty()) throw Error(ErrorKind::invalid_argument, path + ": empty tensor name");
    if (std::string why = unsafe_zip_name_reason(member); !why.empty())
      throw Error(ErrorKind::invalid_argument, path + ": tensor '" + name + "': " + why);
    if (!seen.insert(member).second) throw Error(ErrorKind::invalid_argument, path + ": duplicate tensor name '" + name + "'");
    try {
      headers.push_back(npy_header_for(tensor, name));
    } catch (const Error& e) {
      throw e.with_context(path);
    }
  }
  AtomicFile file(path);
  ZipWriter zip(file);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& tensor = tensors[i].second;
    std::string_view data(static_cast<const char*>(tensor.data()), tensor.nbytes());
    zip.add(tensors[i].first + std::string(kNpySuffix), {headers[i], data}, compress, kNpyAlignment);
  }
  zip.finish();
  file.commit();
}

}  // namespace mithril
