#pragma once
// PyTorch state dict files (torch.save, zip format of torch >= 1.6), read and written without
// Python and without running pickle code.
//
// Layout (torch/serialization.py `_save`, caffe2 PyTorchStreamWriter): a zip archive whose
// members all sit under one folder, the "archive name" (torch uses the file's stem, or
// "archive"):
//   <archive>/data.pkl     the object, pickled (protocol 2), tensors as persistent ids
//   <archive>/data/<key>   one member per storage: raw little-endian elements, numel * itemsize bytes
//   <archive>/version      the record format version ("3\n")
//   [<archive>/byteorder]  "little" or "big" (torch >= 2.1)
// A tensor is pickled as REDUCE of torch._utils._rebuild_tensor_v2 with the arguments
// (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]) and the
// storage as the persistent id ('storage', torch.<Type>Storage, key, location, numel). Several
// tensors may share a storage (views, tied weights) at any offset and with any strides.
//
// Reading interprets the opcodes of that pickle subset (the protocol 2 opcodes plus the
// protocol 3/4 framing ones Python emits for the same objects) on a stack machine that only
// builds plain data: dicts and OrderedDicts (nested), lists, tuples, strings, ints, floats,
// bools, None and tensors. Globals are resolved against an explicit allow-list
// (collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_parameter and the typed
// storage classes); any other global or opcode is refused with an Error(unsupported) that names
// it. No code is ever executed. Every length, count, offset and stride product is checked against
// the bytes present before anything is allocated; every storage member's CRC-32 is checked
// before its values are used (io/zip.h).
//
// The object read is flattened into named tensors: nested dicts join their keys with '.'
// ({"model": {"0.weight": t}} gives "model.0.weight"), lists and tuples use indices; ints,
// floats, strings, bools and None are kept as text metadata (e.g. "epoch" -> "3").
//
// Writing produces what torch.save(OrderedDict(tensors)) writes with torch 1.13 (pickle protocol
// 2, one storage per tensor, storage data 64-byte aligned in the file), which
// torch.load(path, weights_only=True) reads back bit-exactly. Dtypes torch has no storage type
// for (uint16, uint32, uint64) are refused by name before anything is written.
//
// Legacy (pre-1.6, a bare pickle stream) files and TorchScript archives (torch.jit.save) are
// refused with a message saying what they are.
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "io/npz.h"

namespace mithril {

/// Deepest nesting of containers accepted in a pickled object (flattening recurses over it).
inline constexpr int kTorchMaxNesting = 64;

/// Most objects one data.pkl may build (a state dict takes about 30 per tensor, so this allows some
/// 35,000 tensors): bounds the unpickler's memory (~200 bytes an object) whatever the file claims.
inline constexpr std::size_t kTorchMaxPickleObjects = std::size_t{1} << 20;

struct TorchStateDict {
  NamedTensors tensors;                         ///< flattened names, in pickle order
  std::map<std::string, std::string> metadata;  ///< non-tensor leaves as text ("None", "True", "3", "0.5", strings)
};

/// True when the bytes start like a pickle stream (what torch.save wrote before torch 1.6 and
/// what an arbitrary pickle is): opcode PROTO with a version 2..5.
bool looks_like_pickle(const void* data, std::size_t size);

/// True for the entries of a zip archive that torch.save wrote (a "<archive>/data.pkl" member).
bool is_torch_zip(const std::vector<ZipEntry>& entries);

/// Parses a torch.save zip file held in memory. `context` (the file name) starts every error,
/// e.g. "sd.pt: data.pkl: global 'os.system' is not allowed". Throws Error(format) for corrupt
/// files, Error(unsupported) for opcodes, globals and dtypes outside the subset.
TorchStateDict parse_torch_file(const void* data, std::size_t size, const std::string& context);

/// The state dict of a torch.save zip whose directory was read already (read_zip_directory).
TorchStateDict parse_torch_zip(const unsigned char* archive, const std::vector<ZipEntry>& entries, const std::string& context);

/// Reads a .pt/.pth file ("-" reads standard input).
TorchStateDict read_torch_file(const std::string& path);

/// The dtypes a torch 1.13 storage type exists for.
bool torch_has_dtype(DType dtype);

/// Writes `tensors` as a torch.save'd OrderedDict, atomically ("-" writes standard output).
/// Throws Error(invalid_argument) for empty or duplicate names and Error(unsupported) naming the
/// first tensor whose dtype torch cannot hold, before anything is written.
void write_torch_file(const std::string& path, const NamedTensors& tensors);

}  // namespace mithril
