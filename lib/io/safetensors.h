#pragma once
// safetensors files (huggingface/safetensors), read and written; sharded checkpoints read.
//
// Layout (the reference implementation's `SafeTensors::deserialize` / `serialize`):
//   u64 little-endian N | N bytes of JSON header (UTF-8, starts with '{', may be padded with
//   trailing spaces) | data
// The header is an object {name: {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}}
// plus an optional "__metadata__" object of string values. Offsets are relative to the start of
// the data; the tensors' byte ranges, sorted by begin, must tile the data exactly: the first
// begins at 0, each begins where the previous one ends, the last ends at the end of the file (no
// holes, no overlaps, nothing after), and each holds exactly numel * itemsize bytes, raw
// little-endian C order. N is at most kSafetensorsMaxHeaderBytes (100 MB).
//
// Dtype codes: F64 F32 F16 BF16 I64 I32 I16 I8 U64 U32 U16 U8 BOOL; the float8 codes (F8_E4M3,
// F8_E5M2, ...) and any other code are refused by name (Mithril has no float8 dtype), as are
// complex tensors on write (safetensors has no complex code).
//
// Reading maps the file and returns tensors that are zero-copy views of the mapping (they keep it
// alive) whenever the data are aligned for their dtype, copies otherwise. There are no checksums
// in the format; every offset, size and product is checked before use. Tensors come back in the
// header's key order; errors name the file and the tensor.
//
// Writing is deterministic: header keys in the given order, the header padded with spaces so the
// data start at a 64-byte boundary, tensor data placed by decreasing element size (stable) so every
// tensor is aligned for its dtype, written atomically.
//
// Sharded checkpoints ("model.safetensors.index.json": {"metadata": {...}, "weight_map":
// {tensor: shard file}}) are read as one tensor set: every shard (a plain file name or relative path
// in the index's folder, no '..') is read once, every tensor of the map must be in its shard, and
// every tensor of a shard must be in the map.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "io/npz.h"

namespace mithril {

/// Largest JSON header accepted (the reference implementation's MAX_HEADER_SIZE).
inline constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

/// Largest sharded index file accepted.
inline constexpr uint64_t kSafetensorsMaxIndexBytes = 64ull << 20;

struct SafetensorsContents {
  NamedTensors tensors;
  std::map<std::string, std::string> metadata;  ///< "__metadata__" (or the index's "metadata", flattened to text)
};

/// True when the bytes start like a safetensors file: a header length of at most the cap, within
/// `file_size`, followed by '{'. Needs at least 9 bytes.
bool looks_like_safetensors(const void* data, std::size_t size, uint64_t file_size);

/// The safetensors dtype code of `dtype` ("F32"), or nullptr when the format has none (complex).
const char* safetensors_dtype_code(DType dtype);

/// Parses a safetensors file held in memory. With `keep_alive` set (the owner of `data`), aligned
/// tensors are views of `data`; otherwise every tensor is copied. `context` starts every error.
SafetensorsContents parse_safetensors(const void* data, std::size_t size, const std::string& context,
                                      std::shared_ptr<const void> keep_alive = nullptr);

/// Reads a .safetensors file ("-" reads standard input), memory-mapped.
SafetensorsContents read_safetensors(const std::string& path);

/// True for a path naming a sharded index ("*.safetensors.index.json").
bool is_safetensors_index_path(const std::string& path);

/// Reads a sharded checkpoint through its index file.
SafetensorsContents read_safetensors_index(const std::string& path);

/// Writes a .safetensors file atomically ("-" writes standard output). Throws
/// Error(invalid_argument) for an empty or duplicate name or the reserved name "__metadata__",
/// Error(unsupported) naming the first tensor whose dtype the format has no code for, before
/// anything is written.
void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace mithril
