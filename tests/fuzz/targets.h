#pragma once
// What the fuzzers do with one input, shared by the libFuzzer harnesses (tests/fuzz/*_fuzz.cpp)
// and the replay tests of the ordinary build, so a kept crasher replays exactly what crashed.
//
// Contract of every target: feed the bytes to one reader (and, where it succeeds, to what
// naturally follows: compile, write back, views); return normally or throw mithril::Error.
// Anything else (another exception, a sanitizer report, a broken invariant, which throws
// FuzzInvariantBroken) is a bug.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

// Header-only xxHash: the replay tests link only libmithril, which keeps its xxHash private.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "backends/backend.h"
#include "core/error.h"
#include "io/json_tensors.h"
#include "io/mbin.h"
#include "io/mithril_file.h"
#include "io/model_json.h"
#include "io/npy.h"
#include "io/npz.h"
#include "io/onnx.h"
#include "io/safetensors.h"
#include "io/torch_file.h"
#include "physical/persistence.h"
#include "physical/physical_model.h"
#include "versioning/format_history.h"

namespace mithril::fuzz {

/// A property the library promises broke (not a crash, but as much a bug).
struct FuzzInvariantBroken : std::logic_error {
  using std::logic_error::logic_error;
};

inline std::string_view as_text(const uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// A scratch file holding the input, for readers that take a path; removed at scope exit.
/// Lives in /dev/shm when there is one (fuzzers write one per execution).
class ScratchFile {
 public:
  ScratchFile(const uint8_t* data, std::size_t size, const std::string& suffix) {
    std::filesystem::path dir = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    path_ = (dir / ("mithril-fuzz-" + std::to_string(::getpid()) + suffix)).string();
    std::FILE* f = std::fopen(path_.c_str(), "wb");
    if (!f) throw std::runtime_error("cannot create " + path_);
    bool ok = size == 0 || std::fwrite(data, 1, size, f) == size;
    ok = std::fclose(f) == 0 && ok;
    if (!ok) throw std::runtime_error("cannot write " + path_);
  }
  ~ScratchFile() { std::remove(path_.c_str()); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// parse_npy: the tensor it reads must hold what the header promised.
inline void npy(const uint8_t* data, std::size_t size) {
  Tensor t = parse_npy(data, size, "fuzz.npy");
  if (t.nbytes() != static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype()))
    throw FuzzInvariantBroken("npy: tensor byte size does not match its shape");
  // What we read, we can write back (bfloat16 never comes out of an .npy).
  std::string bytes = serialize_npy(t);
  Tensor again = parse_npy(bytes.data(), bytes.size(), "fuzz.npy (rewritten)");
  if (again.nbytes() != t.nbytes() || std::memcmp(again.data(), t.data(), t.nbytes()) != 0)
    throw FuzzInvariantBroken("npy: serialize_npy(parse_npy(x)) does not read back the same data");
}

/// parse_npz.
inline void npz(const uint8_t* data, std::size_t size) {
  NamedTensors tensors = parse_npz(data, size, "fuzz.npz");
  for (const auto& [name, t] : tensors)
    if (t.nbytes() != static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype()))
      throw FuzzInvariantBroken("npz: tensor '" + name + "' byte size does not match its shape");
}

/// parse_torch_file; what it reads is written back as a .pt and must read back the same.
inline void torch_file(const uint8_t* data, std::size_t size) {
  TorchStateDict sd = parse_torch_file(data, size, "fuzz.pt");
  NamedTensors written;
  for (const auto& [name, t] : sd.tensors) {
    if (t.nbytes() != static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype()))
      throw FuzzInvariantBroken("torch_file: tensor '" + name + "' byte size does not match its shape");
    if (!name.empty()) written.emplace_back(name, t);
  }
  ScratchFile file(nullptr, 0, ".pt");
  write_torch_file(file.path(), written);
  TorchStateDict again = read_torch_file(file.path());
  if (again.tensors.size() != written.size()) throw FuzzInvariantBroken("torch_file: rewrite lost tensors");
  for (std::size_t i = 0; i < written.size(); ++i)
    if (again.tensors[i].first != written[i].first || !again.tensors[i].second.bitwise_equal(written[i].second))
      throw FuzzInvariantBroken("torch_file: tensor '" + written[i].first + "' does not read back the same");
}

/// parse_safetensors (views of the input), then written back and read again.
inline void safetensors(const uint8_t* data, std::size_t size) {
  SafetensorsContents st = parse_safetensors(data, size, "fuzz.safetensors", std::shared_ptr<const void>(data, [](const void*) {}));
  for (const auto& [name, t] : st.tensors)
    if (t.nbytes() != static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype()))
      throw FuzzInvariantBroken("safetensors: tensor '" + name + "' byte size does not match its shape");
  ScratchFile file(nullptr, 0, ".safetensors");
  write_safetensors(file.path(), st.tensors, st.metadata);
  SafetensorsContents again = read_safetensors(file.path());
  if (again.tensors.size() != st.tensors.size() || again.metadata != st.metadata)
    throw FuzzInvariantBroken("safetensors: rewrite lost tensors or metadata");
  for (std::size_t i = 0; i < st.tensors.size(); ++i)
    if (again.tensors[i].first != st.tensors[i].first || !again.tensors[i].second.bitwise_equal(st.tensors[i].second))
      throw FuzzInvariantBroken("safetensors: tensor '" + st.tensors[i].first + "' does not read back the same");
}

/// The checksums an input cannot realistically guess (XXH3 of the index, and of the preamble,
/// which covers the former) are recomputed so the fuzzer reaches the index and tensor checks.
/// Inputs without the magic or the preamble are left alone.
inline std::string mbin_with_fixed_checksums(const uint8_t* data, std::size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (size < kMbinPreambleSize || !looks_like_mbin(data, size)) return bytes;
  uint64_t index_offset, index_size;
  std::memcpy(&index_offset, bytes.data() + 28, 8);
  std::memcpy(&index_size, bytes.data() + 36, 8);
  if (index_offset <= size && index_size <= size - index_offset) {
    uint64_t sum = XXH3_64bits(bytes.data() + index_offset, index_size);
    std::memcpy(bytes.data() + 52, &sum, 8);
  }
  uint32_t pre = static_cast<uint32_t>(XXH3_64bits(bytes.data(), 60));
  std::memcpy(bytes.data() + 60, &pre, 4);
  return bytes;
}

/// MbinFile::open, then verify(), a view and a load of every tensor, and the model it holds.
inline void mbin(const uint8_t* data, std::size_t size) {
  std::string bytes = mbin_with_fixed_checksums(data, size);
  ScratchFile file(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), ".mbin");
  auto f = MbinFile::open(file.path());
  for (const MbinTensorInfo& info : f->tensors()) {
    Tensor v = f->view(info);
    Tensor l = f->load(info.name);
    if (v.nbytes() != info.nbytes || l.nbytes() != info.nbytes ||
        (info.nbytes && std::memcmp(v.data(), l.data(), info.nbytes) != 0))
      throw FuzzInvariantBroken("mbin: view and load of '" + info.name + "' disagree");
  }
  try {
    f->verify();
  } catch (const Error&) {
    // data checksums are not fixed up: a mismatch is the expected outcome; go on
  }
  load_binary(file.path(), reference_backend(), /*eager=*/true);
}

/// read_mithril_file, then the whole model load the tools do.
inline void mithril_file(const uint8_t* data, std::size_t size) {
  ScratchFile file(data, size, ".mithril");
  ModelPackage package = read_mithril_file(file.path());
  read_mithril_structure(file.path());
  load_physical(file.path(), reference_backend(), /*eager=*/true);
}

/// from_dict; what loads is compiled (without filling parameters: declared sizes may be huge
/// legitimately) and written back, and to_dict must be a fixed point.
inline void model_json(const uint8_t* data, std::size_t size) {
  auto model = from_dict(as_text(data, size), "fuzz.json");
  std::string dict = to_dict(*model);
  std::string again = to_dict(*from_dict(dict, "fuzz.json (rewritten)"));
  if (again != dict) throw FuzzInvariantBroken("model_json: to_dict(from_dict(to_dict(m))) != to_dict(m)");
  CompileOptions options;
  options.initialize_parameters = false;
  PhysicalModel::compile(model, reference_backend(), options);
}

/// update_model_dict_version to the current format; a migrated dict is canonical, so it loads.
inline void versioning(const uint8_t* data, std::size_t size) {
  std::string json(as_text(data, size));
  std::string current = versioning::update_model_dict_version(json, kModelFormatVersion, "fuzz.json");
  if (current != json) {
    auto model = from_dict(current, "fuzz.json (migrated)");
    if (to_dict(*model) != current) throw FuzzInvariantBroken("versioning: a migrated dict is not canonical");
  }
}

/// read_json_tensors, and writing the tensors back.
inline void json_tensors(const uint8_t* data, std::size_t size) {
  auto tensors = read_json_tensors(as_text(data, size), "fuzz.json");
  std::string text = write_json_tensors(tensors);
  auto again = read_json_tensors(text, "fuzz.json (rewritten)");
  if (again.size() != tensors.size()) throw FuzzInvariantBroken("json_tensors: rewrite lost tensors");
}

/// import_onnx without ONNX's checker (so every malformed graph the checker would stop reaches our
/// importer too); what imports is compiled, and if it exports, our own export must import again.
inline void onnx(const uint8_t* data, std::size_t size) {
  ScratchFile file(data, size, ".onnx");
  OnnxImportOptions options;
  options.check = false;
  OnnxModel imported = import_onnx(file.path(), options);
  for (const auto& [name, t] : imported.parameters)
    if (t.nbytes() != static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype()))
      throw FuzzInvariantBroken("onnx: initializer '" + name + "' byte size does not match its shape");
  CompileOptions compile;
  compile.initialize_parameters = false;
  PhysicalModel::compile(imported.model, reference_backend(), compile);
  std::string exported = export_onnx(*imported.model, imported.parameters);
  ScratchFile again(reinterpret_cast<const uint8_t*>(exported.data()), exported.size(), ".again.onnx");
  try {
    import_onnx(again.path(), options);
  } catch (const Error& e) {
    throw FuzzInvariantBroken(std::string("onnx: our own export does not import: ") + e.what());
  }
}

}  // namespace mithril::fuzz
