#pragma once
// NumPy .npy files (numpy/lib/format.py), read and written.
//
// Layout:
//   "\x93NUMPY"  6 bytes magic
//   u8 major, u8 minor         1.0, 2.0 or 3.0
//   header length              u16 LE (1.0) or u32 LE (2.0, 3.0)
//   header                     Python dict literal, latin-1 (1.0, 2.0) or UTF-8 (3.0), e.g.
//                              {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
//                              padded with spaces and a final '\n' so the data start 64-byte aligned
//   data                       numel * itemsize bytes, C or Fortran order, byte order from descr;
//                              trailing bytes after them are ignored (as numpy does)
//
// Supported descr: bool '|b1', int '|i1' '<i2' '<i4' '<i8', uint '|u1' '<u2' '<u4' '<u8', float '<f2'
// '<f4' '<f8', complex '<c8' '<c16', each also big-endian ('>') or native ('=', '|'). Everything else
// numpy can store (object/pickle, strings, void, structured, datetime, long double '<f16'/'<c32') is
// refused with Error(unsupported); malformed bytes with Error(format). Reading always yields C order,
// native (little-endian) tensors. Writing produces what numpy.save writes: version 1.0 (2.0 only when
// the header does not fit 1.0), '<' descr, fortran_order False. bfloat16 has no numpy dtype and is
// refused on write.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/tensor.h"

namespace mithril {

/// Longest npy header accepted on read (numpy's own default cap is 10000 for 1.0 headers; 2.0/3.0
/// headers may be longer, but even 64 dimensions of 20 digits fit in 2 KiB).
inline constexpr std::size_t kNpyMaxHeaderSize = 64 * 1024;

/// Most dimensions accepted on read (NPY_MAXDIMS is 32 in numpy 1.x and 64 in numpy 2).
inline constexpr std::size_t kNpyMaxDims = 64;

/// The data start of every .npy we write is a multiple of this (numpy's ARRAY_ALIGN).
inline constexpr std::size_t kNpyAlignment = 64;

/// What an .npy header says.
struct NpyHeader {
  DType dtype = DType::float32;
  Shape shape;                 ///< as written (for Fortran order, still the logical shape)
  bool fortran_order = false;  ///< data stored column-major
  bool byteswap = false;       ///< data stored big-endian (multi-byte types only)
  int version_major = 1;       ///< 1, 2 or 3
  std::size_t data_offset = 0;  ///< bytes from the start of the .npy to the array data
  uint64_t data_bytes = 0;      ///< numel * itemsize, overflow-checked
  std::string descr;            ///< the descr string as found, e.g. "<f4"
};

/// True when `data` starts with the .npy magic.
bool looks_like_npy(const void* data, std::size_t size);

/// The total length (magic + version + length field + header) of the .npy header that starts at
/// `data`, from its first 12 bytes; does not parse the dict. Throws Error(format) for a bad magic,
/// too few bytes, or a header longer than kNpyMaxHeaderSize, and Error(unsupported) for an unknown
/// version. `context` (file and member name) prefixes every message.
std::size_t npy_header_length(const void* data, std::size_t size, const std::string& context);

/// Parses the header at `data` (`size` must cover at least npy_header_length bytes; the array data
/// need not be present: callers check data_offset + data_bytes against what they hold).
NpyHeader parse_npy_header(const void* data, std::size_t size, const std::string& context);

/// Turns the raw array data of `header` (data_bytes at `src`) into C-order native bytes at `dst`
/// (data_bytes long). `src == dst` is allowed unless header.fortran_order with ndim > 1.
void npy_data_to_native(const NpyHeader& header, const void* src, void* dst);

/// Parses a whole .npy held in memory into an owned tensor (one copy). Throws Error(format) when the
/// header claims more data than `size` holds.
Tensor parse_npy(const void* data, std::size_t size, const std::string& context);

/// Reads an .npy file ("-" reads standard input). Errors name the file.
Tensor read_npy(const std::string& path);

/// The header (magic to final '\n') numpy.save writes for `tensor`, byte for byte: its length is a
/// multiple of kNpyAlignment. Throws Error(unsupported) for bfloat16, naming `name` if given.
std::string npy_header_for(const Tensor& tensor, std::string_view name = {});

/// A whole .npy file in memory (header + C-order little-endian data).
std::string serialize_npy(const Tensor& tensor);

/// Writes an .npy file atomically ("-" writes standard output).
void write_npy(const std::string& path, const Tensor& tensor);

/// The numpy descr of a dtype ("<f4", "|b1", ...); Error(unsupported) for bfloat16.
std::string npy_descr(DType dtype);

}  // namespace mithril
