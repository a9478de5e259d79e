#pragma once
// NumPy .npz archives (numpy.savez / numpy.savez_compressed), read and written.
//
// Layout: a zip archive (see io/zip.h) whose members are .npy files (see io/npy.h) named
// "<key>.npy"; numpy.savez stores them (method 0), numpy.savez_compressed deflates them (method 8),
// and numpy marks every local header with a zip64 extra field. Keys are our tensor names, e.g.
// "hidden.weight" is stored as member "hidden.weight.npy"; positional numpy arrays are "arr_0", ...
//
// Reading: every member must be an .npy of a supported dtype (see io/npy.h); archive order is kept;
// a ".npy" suffix is dropped from the name. Each tensor is read in one pass straight into its own
// aligned buffer while its CRC-32 is checked. Writing: deterministic bytes (fixed timestamps),
// headers byte-identical with numpy.save, stored members padded so their array data start at a
// 64-byte aligned file offset (numpy ignores the padding), zip64 records where sizes, offsets or
// more than 65534 members need them.
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace mithril {

/// Tensors with their names, in file order.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

struct ZipEntry;

/// Reads one .npy member of a zip archive (validated by read_zip_directory) into a tensor,
/// checking its CRC; `context` names file and member in errors. Containers built on zip (the
/// .mithril file) use it for their tensor members.
Tensor read_npy_member(const unsigned char* archive, const ZipEntry& entry, const std::string& context);

/// True when the bytes start like a zip archive, i.e. what numpy.load treats as an .npz.
bool looks_like_npz(const void* data, std::size_t size);

/// Parses an .npz held in memory. `context` (the file name) starts every error message, e.g.
/// "params.npz: member 'hidden.weight.npy': header claims 4000 bytes of data, member holds 1200".
NamedTensors parse_npz(const void* data, std::size_t size, const std::string& context);

/// The members of an .npz whose directory was read already (read_zip_directory), as tensors.
NamedTensors parse_npz_members(const unsigned char* archive, const std::vector<ZipEntry>& entries, const std::string& context);

/// Reads an .npz file ("-" reads standard input); the file is mapped, not copied.
NamedTensors read_npz(const std::string& path);

/// Writes an .npz atomically ("-" writes standard output): member "<name>.npy" per tensor, stored,
/// or deflated when `compress`. Throws Error(invalid_argument) for an empty, duplicate, absolute or
/// '..' name and Error(unsupported) for bfloat16 tensors, before anything is written.
void write_npz(const std::string& path, const NamedTensors& tensors, bool compress = false);

}  // namespace mithril
