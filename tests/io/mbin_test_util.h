#pragma once
#include "test_util.h"
// Helpers shared by the .mbin tests: temporary folders, byte-level file access, deterministic tensor
// contents, and RawMbin, an independent byte-level builder of .mbin files written from the spec
// (schemas/mbin-1.0.md) that can also produce every kind of malformed file.
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/atomic_file.h"

namespace mbintest {

namespace fs = std::filesystem;

using mithril::testing::TempDir;

inline std::string read_bytes(const std::string& path) { return mithril::read_file(path); }

inline void write_bytes(const std::string& path, const std::string& bytes) {
  // Unlink first: truncating an existing file makes ext4 flush it on close (auto_da_alloc), slow.
  std::error_code ec;
  fs::remove(path, ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// A tensor with deterministic, dtype-agnostic byte contents (bools are 0/1).
inline mithril::Tensor pattern_tensor(mithril::DType dtype, mithril::Shape shape, unsigned seed) {
  mithril::Tensor t(dtype, std::move(shape));
  auto* p = static_cast<unsigned char*>(t.mutable_data());
  for (std::size_t i = 0; i < t.nbytes(); ++i) {
    unsigned char b = static_cast<unsigned char>((i * 131u + seed * 17u + (i >> 8)) & 0xFF);
    p[i] = dtype == mithril::DType::bool_ ? (b & 1) : b;
  }
  return t;
}

template <class T> void put(std::string& s, std::size_t at, T v) { std::memcpy(s.data() + at, &v, sizeof v); }
template <class T> T get(const std::string& s, std::size_t at) {
  T v;
  std::memcpy(&v, s.data() + at, sizeof v);
  return v;
}

/// Recomputes the index checksum and the preamble checksum of a file image (after editing fields).
inline void reseal(std::string& bytes, bool index_too = true) {
  uint64_t index_offset = get<uint64_t>(bytes, 28), index_size = get<uint64_t>(bytes, 36);
  if (index_too && index_offset <= bytes.size() && index_size <= bytes.size() - index_offset)
    put<uint64_t>(bytes, 52, XXH3_64bits(bytes.data() + index_offset, index_size));
  put<uint32_t>(bytes, 60, static_cast<uint32_t>(XXH3_64bits(bytes.data(), 60)));
}

/// Byte-level .mbin builder following the spec, with every field overridable.
struct RawMbin {
  struct Tensor {
    std::string name;
    uint16_t dtype = 12;  // float32
    std::vector<uint64_t> dims;
    std::string data;  // written at `offset` (if it fits in the data region)
    uint64_t offset = 0;
    std::optional<uint64_t> nbytes, checksum, name_offset, dims_offset;
    std::optional<uint32_t> name_size;
    std::optional<uint8_t> ndim;
    uint8_t flags = 0;
  };

  uint16_t major = 1, minor = 0;
  uint32_t required = 0, optional_bits = 0, bom = 0x01020304;
  uint8_t align_log2 = 8, hash_id = 1;
  uint16_t reserved = 0;
  uint32_t header_size = 64, record_size = 48;
  std::optional<uint64_t> count, records_offset, index_offset, index_size, file_size;
  std::optional<uint64_t> structure_offset, structure_size;
  std::string structure = "{\"s\":1}", metadata = "{\"m\":2}";
  uint64_t data_end = 0;  // end of the data region (0: just after the last tensor)
  std::vector<Tensor> tensors;  // in record order
  std::vector<std::pair<uint64_t, unsigned char>> pokes;  // absolute bytes set after building
  bool seal = true;        // recompute the checksums after building
  bool seal_index = true;  // ... including the index checksum (else it stays 0)

  /// Appends a float32 tensor at the next aligned offset with pattern data.
  void add(const std::string& name, std::vector<uint64_t> dims, uint16_t dtype = 12, std::size_t elem = 4) {
    uint64_t a = uint64_t{1} << align_log2;
    uint64_t pos = 64;
    for (const auto& t : tensors) pos = std::max<uint64_t>(pos, t.offset + t.data.size());
    pos = (pos + a - 1) / a * a;
    Tensor t;
    t.name = name;
    t.dtype = dtype;
    t.dims = dims;
    uint64_t n = elem;
    for (uint64_t d : dims) n *= d;
    t.data.resize(n);
    for (uint64_t i = 0; i < n; ++i) t.data[i] = static_cast<char>((i * 7 + name.size()) & 0xFF);
    t.offset = pos;
    tensors.push_back(t);
  }

  std::string build() const {
    uint64_t end = std::max<uint64_t>(64, data_end);
    for (const auto& t : tensors)
      if (t.offset < (uint64_t{1} << 32)) end = std::max<uint64_t>(end, t.offset + t.data.size());
    uint64_t ioff = (end + 7) / 8 * 8;
    std::string out(ioff, '\0');
    for (const auto& t : tensors)
      if (t.offset + t.data.size() <= ioff) std::memcpy(out.data() + t.offset, t.data.data(), t.data.size());

    // index
    uint64_t n = tensors.size();
    uint64_t rec0 = records_offset.value_or(header_size);
    uint64_t heap = header_size + n * record_size;
    std::string ix(heap, '\0');
    for (std::size_t i = 64; i < header_size; ++i) ix[i] = static_cast<char>(0xA5);  // unknown tail bytes
    std::vector<uint64_t> dims_at, name_at;
    for (const auto& t : tensors) {
      dims_at.push_back(ix.size());
      for (uint64_t d : t.dims) ix.append(reinterpret_cast<const char*>(&d), 8);
    }
    uint64_t s_at = ix.size();
    ix += structure;
    uint64_t m_at = ix.size();
    ix += metadata;
    for (const auto& t : tensors) {
      name_at.push_back(ix.size());
      ix += t.name;
    }
    put<uint32_t>(ix, 0, header_size);
    put<uint32_t>(ix, 4, record_size);
    put<uint64_t>(ix, 8, count.value_or(n));
    put<uint64_t>(ix, 16, rec0);
    put<uint64_t>(ix, 24, structure_offset.value_or(s_at));
    put<uint64_t>(ix, 32, structure_size.value_or(structure.size()));
    put<uint64_t>(ix, 40, m_at);
    put<uint64_t>(ix, 48, metadata.size());
    for (std::size_t k = 0; k < n; ++k) {
      const auto& t = tensors[k];
      std::size_t r = header_size + k * record_size;
      put<uint64_t>(ix, r + 0, t.offset);
      put<uint64_t>(ix, r + 8, t.nbytes.value_or(t.data.size()));
      put<uint64_t>(ix, r + 16, t.checksum.value_or(XXH3_64bits(t.data.data(), t.data.size())));
      put<uint64_t>(ix, r + 24, t.name_offset.value_or(name_at[k]));
      put<uint64_t>(ix, r + 32, t.dims_offset.value_or(dims_at[k]));
      put<uint32_t>(ix, r + 40, t.name_size.value_or(static_cast<uint32_t>(t.name.size())));
      put<uint16_t>(ix, r + 44, t.dtype);
      ix[r + 46] = static_cast<char>(t.ndim.value_or(static_cast<uint8_t>(t.dims.size())));
      ix[r + 47] = static_cast<char>(t.flags);
      for (std::size_t i = 48; i < record_size; ++i) ix[r + i] = static_cast<char>(0x5A);  // unknown tail
    }
    out += ix;
    put<uint32_t>(out, 0, 0);
    const unsigned char magic[8] = {0x89, 'M', 'B', 'I', 'N', 0x0D, 0x0A, 0x1A};
    std::memcpy(out.data(), magic, 8);
    put<uint16_t>(out, 8, major);
    put<uint16_t>(out, 10, minor);
    put<uint32_t>(out, 12, required);
    put<uint32_t>(out, 16, optional_bits);
    put<uint32_t>(out, 20, bom);
    out[24] = static_cast<char>(align_log2);
    out[25] = static_cast<char>(hash_id);
    put<uint16_t>(out, 26, reserved);
    put<uint64_t>(out, 28, index_offset.value_or(ioff));
    put<uint64_t>(out, 36, index_size.value_or(ix.size()));
    put<uint64_t>(out, 44, file_size.value_or(out.size()));
    for (auto [at, b] : pokes) out[at] = static_cast<char>(b);
    if (seal) reseal(out, seal_index);
    return out;
  }
};

}  // namespace mbintest
