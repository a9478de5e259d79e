#pragma once
// .mbin: mithril's binary model format (structure JSON + metadata JSON + named tensors), built to be
// memory-mapped. Full specification: schemas/mbin-1.0.md. Layout of a file:
//
//   1. Preamble, 64 bytes, frozen layout: magic 89 4D 42 49 4E 0D 0A 1A, u16 version major/minor,
//      u32 required/optional feature bits, u32 byte-order mark 0x01020304, u8 log2(alignment),
//      u8 hash id (1 = XXH3-64), u16 reserved, u64 index offset, u64 index size, u64 file size,
//      u64 XXH3-64 of the index, u32 low half of XXH3-64 of preamble bytes 0..59.
//   2. Zero padding to the data alignment (default 256 bytes).
//   3. Tensor data, raw little-endian C order, in the order they were added; each tensor starts at
//      a multiple of the alignment; zero padding between tensors.
//   4. Zero padding to a multiple of 8, then the index: a 64-byte header (its own size, record size,
//      tensor count, where the records and JSON strings are), one 48-byte record per tensor sorted
//      by name (absolute u64 data offset, u64 byte length, u64 XXH3-64 of the data, name and dims
//      references, u16 dtype code, u8 ndim, u8 flags), then a heap of dims, JSON strings and names.
//   5. End of file = index offset + index size = the file size recorded in the preamble.
//
// Contract:
// - MbinFile::open maps the file read-only and validates the preamble, the index checksum and every
//   record (bounds, overlaps, alignment, sizes with checked arithmetic, unique sorted UTF-8 names)
//   in O(index) time without touching tensor data. It never allocates memory sized by an unchecked
//   number from the file.
// - view() returns a zero-copy Tensor::borrow into the mapping (the view keeps the mapping alive);
//   load() returns an owned copy. Both check the tensor's XXH3-64 the first time it is taken (by
//   default; MbinOpenOptions::check_tensors = false opts out), so no value of a corrupted tensor
//   reaches the caller: the cost is one pass over that tensor's bytes, paid once per tensor and
//   only for the tensors used. verify() checks every checksum and the zero padding.
// - Every failure is a mithril::Error: kind format (corrupt, truncated, malformed), unsupported
//   (newer major version, unknown required feature, unknown dtype code) or io, with a one-line
//   message naming the file, and the tensor where there is one.
// - Little-endian hosts only (checked at compile time).
// - A mapped file must not be truncated or rewritten in place while mapped (SIGBUS); MbinWriter never
//   does that: it writes a new file and renames it.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "core/tensor.h"

namespace mithril {

/// Format version this library writes and reads (a reader reads any 1.x file, see the spec §7).
inline constexpr uint16_t kMbinVersionMajor = 1;
inline constexpr uint16_t kMbinVersionMinor = 0;

/// The 8 magic bytes at offset 0.
inline constexpr unsigned char kMbinMagic[8] = {0x89, 'M', 'B', 'I', 'N', 0x0D, 0x0A, 0x1A};

/// Size of the frozen preamble.
inline constexpr std::size_t kMbinPreambleSize = 64;

/// Default data alignment written (log2): 256 bytes.
inline constexpr unsigned kMbinDefaultAlignmentLog2 = 8;
/// Accepted range of log2(alignment): 64 B .. 64 KiB.
inline constexpr unsigned kMbinMinAlignmentLog2 = 6;
inline constexpr unsigned kMbinMaxAlignmentLog2 = 16;

/// Caps checked by readers and writers (spec §6).
inline constexpr uint64_t kMbinMaxIndexBytes = uint64_t{1} << 30;  ///< the index (incl. the JSON strings)
inline constexpr uint64_t kMbinMaxTensors = uint64_t{1} << 24;
inline constexpr unsigned kMbinMaxNdim = 64;
inline constexpr uint32_t kMbinMaxNameBytes = 4096;
inline constexpr uint32_t kMbinMaxRecordBytes = 4096;       ///< record_size accepted from newer minors
inline constexpr uint32_t kMbinMaxIndexHeaderBytes = 4096;  ///< header_size accepted from newer minors

/// Feature bits known to this reader (none are defined in 1.0).
inline constexpr uint32_t kMbinKnownRequiredFeatures = 0;

/// The stable dtype code of .mbin files (spec §4), and back (0 = not a known code).
uint16_t mbin_dtype_code(DType dtype);
bool mbin_dtype_from_code(uint16_t code, DType* out);

/// True when the first n bytes start with the .mbin magic (n >= 8).
bool looks_like_mbin(const void* first_bytes, std::size_t n);

/// One tensor of an opened file (numbers as validated from its index record).
struct MbinTensorInfo {
  std::string name;
  DType dtype = DType::float32;
  Shape shape;
  uint64_t offset = 0;    ///< absolute offset of the data in the file (a multiple of the alignment)
  uint64_t nbytes = 0;    ///< numel * dtype size
  uint64_t checksum = 0;  ///< XXH3-64 of the data
};

struct MbinWriteOptions {
  unsigned alignment_log2 = kMbinDefaultAlignmentLog2;  ///< kMbinMinAlignmentLog2..kMbinMaxAlignmentLog2
};

/// Streaming writer. Tensors are written to disk as they are added (hashed on the fly, buffered into
/// large writes); the index is written by finish(), which then patches the preamble and atomically
/// renames the temporary file over `path`. Memory use is O(buffer + index), not O(model). If the
/// writer is destroyed without finish() (e.g. after an exception), nothing is left under `path`.
/// Output bytes are deterministic (no timestamps). Not thread-safe.
class MbinWriter {
 public:
  /// Throws Error(io) if the temporary file cannot be created, Error(invalid_argument) for a bad
  /// alignment, JSON strings larger than the index cap, or "-" (standard output is not seekable).
  MbinWriter(std::string path, std::string structure_json, std::string metadata_json, MbinWriteOptions options = {});
  ~MbinWriter();
  MbinWriter(const MbinWriter&) = delete;
  MbinWriter& operator=(const MbinWriter&) = delete;

  /// Adds a whole tensor. Names must be unique, valid UTF-8 without NUL, 1..kMbinMaxNameBytes bytes
  /// (else Error(invalid_argument)).
  void add(const std::string& name, const Tensor& tensor);

  /// Adds a tensor piece by piece (for tensors not held in memory at once): begin(), then write()
  /// exactly numel * dtype size bytes in order, then end().
  void begin(const std::string& name, DType dtype, const Shape& shape);
  void write(const void* data, std::size_t nbytes);
  void end();

  /// Writes the index, patches the preamble, fsyncs and renames into place. Throws Error(io).
  void finish();

  /// Bytes written so far (data and padding; the final file size after finish()).
  uint64_t bytes_written() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Writes a whole model in one call (MbinWriter::add for each tensor in order, then finish()).
void write_mbin(const std::string& path, const std::string& structure_json, const std::string& metadata_json,
                const std::vector<std::pair<std::string, Tensor>>& tensors, MbinWriteOptions options = {});

struct MbinOpenOptions {
  bool verify = false;  ///< also check every data checksum and the padding at open (reads all the data)
  /// view() and load() check a tensor's checksum the first time it is taken (Error(format) naming
  /// the file and tensor on a mismatch). false: hand out the bytes unchecked (--no-verify).
  bool check_tensors = true;
};

/// An opened, validated, memory-mapped .mbin file. Immutable and safe to share between threads.
class MbinFile {
 public:
  /// Maps and validates `path` (spec §6). O(index) work; no tensor data is read unless
  /// options.verify. Throws Error(io / format / unsupported) naming the file.
  static std::shared_ptr<const MbinFile> open(const std::string& path, MbinOpenOptions options = {});

  ~MbinFile();
  MbinFile(const MbinFile&) = delete;
  MbinFile& operator=(const MbinFile&) = delete;

  const std::string& path() const { return path_; }
  const std::string& structure_json() const { return structure_json_; }
  const std::string& metadata_json() const { return metadata_json_; }

  /// All tensors, sorted by name (byte-wise).
  const std::vector<MbinTensorInfo>& tensors() const { return tensors_; }

  /// The tensor called `name`, or nullptr. Binary search.
  const MbinTensorInfo* find(std::string_view name) const;

  /// A zero-copy read-only view into the mapping; it keeps the mapping alive. Unless the file was
  /// opened with check_tensors = false, the tensor's checksum is checked first (once per tensor;
  /// Error(format) "model.mbin: tensor 'w': checksum mismatch (data corrupted)"). Throws
  /// Error(invalid_argument) naming the file and tensor if there is no such tensor; `info` is looked
  /// up by name, so a copy of a record cannot point elsewhere.
  Tensor view(std::string_view name) const;
  Tensor view(const MbinTensorInfo& info) const;

  /// An owned, writable copy, checked like view() (hashed while it is copied: one pass).
  Tensor load(std::string_view name) const;
  Tensor load(const MbinTensorInfo& info) const;

  /// Whether view()/load() check checksums (the open option check_tensors).
  bool checks_tensors() const { return check_tensors_; }

  /// Every tensor as an owned copy, in tensors() order.
  std::vector<std::pair<std::string, Tensor>> load_all() const;

  /// Checks every data checksum and that all padding between tensors is zero. Throws Error(format)
  /// naming the file and the first bad tensor (in file order), e.g.
  /// "model.mbin: tensor 'w': checksum mismatch (data corrupted)".
  void verify() const;
  /// Checks the checksum of one tensor (always, whatever check_tensors says).
  void verify(std::string_view name) const;

  uint16_t version_major() const { return version_major_; }
  uint16_t version_minor() const { return version_minor_; }
  uint32_t required_features() const { return required_features_; }
  uint32_t optional_features() const { return optional_features_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t file_size() const { return file_size_; }
  uint64_t index_offset() const { return index_offset_; }
  uint64_t index_size() const { return index_size_; }

  /// The mapped bytes of the whole file (read-only).
  const unsigned char* mapped_data() const;

 private:
  MbinFile() = default;
  const MbinTensorInfo& require(std::string_view name) const;
  const MbinTensorInfo& own(const MbinTensorInfo& info) const;
  void verify_one(const MbinTensorInfo& info) const;
  void check_before_use(const MbinTensorInfo& info) const;

  std::string path_;
  std::shared_ptr<const void> mapping_;  // owns the mmap; its get() is the base address
  const unsigned char* base_ = nullptr;
  std::string structure_json_;
  std::string metadata_json_;
  std::vector<MbinTensorInfo> tensors_;
  bool check_tensors_ = true;
  // checked_[i]: tensors_[i]'s checksum matched (set once; racing threads at worst hash twice).
  std::unique_ptr<std::atomic<bool>[]> checked_;
  uint16_t version_major_ = 0;
  uint16_t version_minor_ = 0;
  uint32_t required_features_ = 0;
  uint32_t optional_features_ = 0;
  uint64_t alignment_ = 0;
  uint64_t file_size_ = 0;
  uint64_t index_offset_ = 0;
  uint64_t index_size_ = 0;
};

}  // namespace mithril
