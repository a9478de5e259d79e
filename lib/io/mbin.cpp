// .mbin reader and writer. Specification: schemas/mbin-1.0.md.
#include "io/mbin.h"

#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <numeric>
#include <set>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/bytes.h"
#include "io/mapped_file.h"

static_assert(std::endian::native == std::endian::little,
              "mithril .mbin support requires a little-endian host (big-endian hosts are not supported)");

namespace mithril {
namespace {

// ---- layout constants (spec §2, §3) ----
constexpr uint32_t kByteOrderMark = 0x01020304;
constexpr uint8_t kHashXxh3_64 = 1;
constexpr uint32_t kIndexHeaderSize = 64;  // 1.0 size; readers accept larger
constexpr uint32_t kRecordSize = 48;       // 1.0 size; readers accept larger
constexpr uint64_t kIndexAlignment = 8;
constexpr int64_t kMaxNumel = int64_t{1} << 62;  // same rule as shape_numel

// Preamble field offsets.
constexpr std::size_t kOffMajor = 8, kOffMinor = 10, kOffRequired = 12, kOffOptional = 16, kOffBom = 20,
                      kOffAlign = 24, kOffHash = 25, kOffReserved = 26, kOffIndexOffset = 28, kOffIndexSize = 36,
                      kOffFileSize = 44, kOffIndexChecksum = 52, kOffPreambleChecksum = 60;
// Index header field offsets.
constexpr std::size_t kIhHeaderSize = 0, kIhRecordSize = 4, kIhCount = 8, kIhRecordsOffset = 16,
                      kIhStructOffset = 24, kIhStructSize = 32, kIhMetaOffset = 40, kIhMetaSize = 48;
// Record field offsets.
constexpr std::size_t kRecDataOffset = 0, kRecNbytes = 8, kRecChecksum = 16, kRecNameOffset = 24,
                      kRecDimsOffset = 32, kRecNameSize = 40, kRecDtype = 44, kRecNdim = 46, kRecFlags = 47;

// Writer buffering: small pieces are gathered into one buffer, big ones written directly.
constexpr std::size_t kWriteBufferBytes = std::size_t{8} << 20;
constexpr std::size_t kDirectWriteBytes = std::size_t{1} << 20;
// Chunk for hashing while verifying (keeps the hash loop streaming through the mapping).
constexpr std::size_t kZeroCheckChunk = std::size_t{1} << 16;
// Chunk for copying and hashing in one pass (load()): fits in L2 so the hash reads it from cache.
constexpr std::size_t kCopyHashChunk = std::size_t{1} << 17;

template <class T> void put(unsigned char* p, T v) { std::memcpy(p, &v, sizeof v); }
template <class T> void put(std::string& s, std::size_t at, T v) { std::memcpy(s.data() + at, &v, sizeof v); }

uint64_t xxh3(const void* p, std::size_t n) { return XXH3_64bits(p, n); }

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

// Stable dtype codes (spec §4), indexed by DType.
constexpr uint16_t kCodes[kDTypeCount] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

bool valid_utf8(std::string_view s) {
  std::size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == 0) return false;  // NUL not allowed in names
      ++i;
      continue;
    }
    int len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
    else return false;
    if (n - i < static_cast<std::size_t>(len)) return false;
    for (int k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += static_cast<std::size_t>(len);
  }
  return true;
}

// Empty string when the name is acceptable, else the reason.
std::string name_problem(std::string_view name) {
  if (name.empty()) return "empty tensor name";
  if (name.size() > kMbinMaxNameBytes)
    return "tensor name of " + std::to_string(name.size()) + " bytes (at most " + std::to_string(kMbinMaxNameBytes) +
           " allowed)";
  if (!valid_utf8(name)) return "tensor name is not valid UTF-8 (or contains NUL)";
  return {};
}

// a + b <= limit, overflow-safe.
bool fits(uint64_t a, uint64_t b, uint64_t limit) { return a <= limit && b <= limit - a; }

Error checksum_error(const std::string& path, const MbinTensorInfo& info) {
  return Error(ErrorKind::format, path + ": tensor " + quoted(info.name) + ": checksum mismatch (data corrupted)");
}

}  // namespace

uint16_t mbin_dtype_code(DType dtype) {
  auto i = static_cast<int>(dtype);
  return i >= 0 && i < kDTypeCount ? kCodes[i] : 0;
}

bool mbin_dtype_from_code(uint16_t code, DType* out) {
  for (int i = 0; i < kDTypeCount; ++i)
    if (kCodes[i] == code) {
      *out = static_cast<DType>(i);
      return true;
    }
  return false;
}

bool looks_like_mbin(const void* first_bytes, std::size_t n) {
  return first_bytes && n >= sizeof kMbinMagic && std::memcmp(first_bytes, kMbinMagic, sizeof kMbinMagic) == 0;
}

// =====================================================================================================
// Writer
// =====================================================================================================

struct MbinWriter::Impl {
  struct Record {
    std::string name;
    DType dtype;
    Shape shape;
    uint64_t offset, nbytes, checksum;
  };

  AtomicFile file;
  std::string structure, metadata;
  uint64_t alignment;
  unsigned alignment_log2;
  std::vector<Record> records;
  std::set<std::string, std::less<>> names;
  std::vector<unsigned char> buffer;  // pending bytes not yet handed to the file
  uint64_t pos = 0;                   // logical end of the file (flushed + buffered)
  XXH3_state_t* state = nullptr;
  bool in_tensor = false;
  uint64_t tensor_left = 0;
  bool finished = false;

  Impl(std::string path, std::string s, std::string m, unsigned log2)
      : file(std::move(path)), structure(std::move(s)), metadata(std::move(m)), alignment(uint64_t{1} << log2),
        alignment_log2(log2) {
    buffer.reserve(kWriteBufferBytes);
    state = XXH3_createState();
    if (!state) throw std::bad_alloc();
  }
  ~Impl() { XXH3_freeState(state); }

  Error usage(const std::string& what) const { return Error(ErrorKind::invalid_argument, file.path() + ": " + what); }

  void flush() {
    if (!buffer.empty()) file.write(buffer.data(), buffer.size());
    buffer.clear();
  }
  void append(const void* data, std::size_t n) {
    if (n >= kDirectWriteBytes) {
      flush();
      file.write(data, n);
    } else {
      if (buffer.size() + n > kWriteBufferBytes) flush();
      auto p = static_cast<const unsigned char*>(data);
      buffer.insert(buffer.end(), p, p + n);
    }
    pos += n;
  }
  void pad_to(uint64_t target) {
    uint64_t n = target - pos;
    if (buffer.size() + n > kWriteBufferBytes) flush();
    buffer.resize(buffer.size() + n, 0);  // n < alignment <= 64 KiB
    pos = target;
  }
};

MbinWriter::MbinWriter(std::string path, std::string structure_json, std::string metadata_json,
                       MbinWriteOptions options) {
  if (path == "-")
    throw Error(ErrorKind::invalid_argument, "-: .mbin cannot be written to standard output (the writer needs a seekable file)");
  if (options.alignment_log2 < kMbinMinAlignmentLog2 || options.alignment_log2 > kMbinMaxAlignmentLog2)
    throw Error(ErrorKind::invalid_argument, path + ": .mbin alignment 2^" + std::to_string(options.alignment_log2) +
                                                 " is out of range (2^" + std::to_string(kMbinMinAlignmentLog2) +
                                                 "..2^" + std::to_string(kMbinMaxAlignmentLog2) + ")");
  if (structure_json.size() + metadata_json.size() > kMbinMaxIndexBytes / 2)
    throw Error(ErrorKind::invalid_argument, path + ": structure and metadata JSON (" +
                                                 std::to_string(structure_json.size() + metadata_json.size()) +
                                                 " bytes) exceed the .mbin index cap");
  impl_ = std::make_unique<Impl>(std::move(path), std::move(structure_json), std::move(metadata_json),
                                 options.alignment_log2);
  impl_->pad_to(kMbinPreambleSize);  // placeholder preamble, patched by finish()
}

MbinWriter::~MbinWriter() = default;

uint64_t MbinWriter::bytes_written() const { return impl_->pos; }

void MbinWriter::begin(const std::string& name, DType dtype, const Shape& shape) {
  Impl& w = *impl_;
  if (w.finished) throw w.usage("add after finish()");
  if (w.in_tensor) throw w.usage("begin(" + quoted(name) + ") while tensor " + quoted(w.records.back().name) + " is open");
  if (auto problem = name_problem(name); !problem.empty()) throw w.usage(problem + ": " + quoted(name));
  if (w.names.count(name)) throw w.usage("duplicate tensor name " + quoted(name));
  if (w.records.size() >= kMbinMaxTensors) throw w.usage("more than " + std::to_string(kMbinMaxTensors) + " tensors");
  if (shape.size() > kMbinMaxNdim)
    throw w.usage("tensor " + quoted(name) + ": " + std::to_string(shape.size()) + " dimensions (at most " +
                  std::to_string(kMbinMaxNdim) + ")");
  uint64_t numel = static_cast<uint64_t>(shape_numel(shape));
  uint64_t nbytes;
  if (__builtin_mul_overflow(numel, static_cast<uint64_t>(dtype_size(dtype)), &nbytes))
    throw w.usage("tensor " + quoted(name) + ": too many bytes");
  w.pad_to(align_up(w.pos, w.alignment));
  w.names.insert(name);
  w.records.push_back({name, dtype, shape, w.pos, nbytes, 0});
  XXH3_64bits_reset(w.state);
  w.in_tensor = true;
  w.tensor_left = nbytes;
}

void MbinWriter::write(const void* data, std::size_t nbytes) {
  Impl& w = *impl_;
  if (!w.in_tensor) throw w.usage("write() outside begin()/end()");
  if (nbytes > w.tensor_left)
    throw w.usage("tensor " + quoted(w.records.back().name) + ": " + std::to_string(nbytes) +
                  " bytes written but only " + std::to_string(w.tensor_left) + " left");
  if (nbytes == 0) return;
  XXH3_64bits_update(w.state, data, nbytes);
  w.append(data, nbytes);
  w.tensor_left -= nbytes;
}

void MbinWriter::end() {
  Impl& w = *impl_;
  if (!w.in_tensor) throw w.usage("end() without begin()");
  if (w.tensor_left != 0)
    throw w.usage("tensor " + quoted(w.records.back().name) + ": " + std::to_string(w.tensor_left) +
                  " bytes missing at end()");
  w.records.back().checksum = XXH3_64bits_digest(w.state);
  w.in_tensor = false;
}

void MbinWriter::add(const std::string& name, const Tensor& tensor) {
  begin(name, tensor.dtype(), tensor.shape());
  Impl& w = *impl_;
  // One-shot hash is faster than the streaming state for a whole buffer.
  std::size_t n = tensor.nbytes();
  w.records.back().checksum = xxh3(tensor.data(), n);
  if (n) w.append(tensor.data(), n);
  w.tensor_left = 0;
  w.in_tensor = false;
}

void MbinWriter::finish() {
  Impl& w = *impl_;
  if (w.finished) return;
  if (w.in_tensor) throw w.usage("finish() while tensor " + quoted(w.records.back().name) + " is open");

  // ---- build the index (spec §3) ----
  std::vector<std::size_t> order(w.records.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return w.records[a].name < w.records[b].name; });

  const uint64_t count = w.records.size();
  const uint64_t heap_start = kIndexHeaderSize + count * kRecordSize;
  uint64_t dims_bytes = 0, names_bytes = 0;
  for (const auto& r : w.records) {
    dims_bytes += 8 * r.shape.size();
    names_bytes += r.name.size();
  }
  const uint64_t index_size = heap_start + dims_bytes + w.structure.size() + w.metadata.size() + names_bytes;
  if (index_size > kMbinMaxIndexBytes)
    throw w.usage("the index would be " + std::to_string(index_size) + " bytes (cap " +
                  std::to_string(kMbinMaxIndexBytes) + ")");

  std::string index(index_size, '\0');
  put<uint32_t>(index, kIhHeaderSize, kIndexHeaderSize);
  put<uint32_t>(index, kIhRecordSize, kRecordSize);
  put<uint64_t>(index, kIhCount, count);
  put<uint64_t>(index, kIhRecordsOffset, kIndexHeaderSize);
  uint64_t heap = heap_start;
  std::vector<uint64_t> dims_at(count);
  for (std::size_t k = 0; k < count; ++k) {
    const auto& r = w.records[order[k]];
    dims_at[k] = heap;
    for (int64_t d : r.shape) {
      put<uint64_t>(index, heap, static_cast<uint64_t>(d));
      heap += 8;
    }
  }
  put<uint64_t>(index, kIhStructOffset, heap);
  put<uint64_t>(index, kIhStructSize, w.structure.size());
  std::memcpy(index.data() + heap, w.structure.data(), w.structure.size());
  heap += w.structure.size();
  put<uint64_t>(index, kIhMetaOffset, heap);
  put<uint64_t>(index, kIhMetaSize, w.metadata.size());
  std::memcpy(index.data() + heap, w.metadata.data(), w.metadata.size());
  heap += w.metadata.size();
  for (std::size_t k = 0; k < count; ++k) {
    const auto& r = w.records[order[k]];
    std::size_t rec = kIndexHeaderSize + k * kRecordSize;
    put<uint64_t>(index, rec + kRecDataOffset, r.offset);
    put<uint64_t>(index, rec + kRecNbytes, r.nbytes);
    put<uint64_t>(index, rec + kRecChecksum, r.checksum);
    put<uint64_t>(index, rec + kRecNameOffset, heap);
    put<uint64_t>(index, rec + kRecDimsOffset, dims_at[k]);
    put<uint32_t>(index, rec + kRecNameSize, static_cast<uint32_t>(r.name.size()));
    put<uint16_t>(index, rec + kRecDtype, mbin_dtype_code(r.dtype));
    index[rec + kRecNdim] = static_cast<char>(r.shape.size());
    index[rec + kRecFlags] = 0;
    std::memcpy(index.data() + heap, r.name.data(), r.name.size());
    heap += r.name.size();
  }

  w.pad_to(align_up(w.pos, kIndexAlignment));
  const uint64_t index_offset = w.pos;
  w.append(index.data(), index.size());
  w.flush();

  // ---- preamble (spec §2) ----
  unsigned char pre[kMbinPreambleSize] = {};
  std::memcpy(pre, kMbinMagic, sizeof kMbinMagic);
  put<uint16_t>(pre + kOffMajor, kMbinVersionMajor);
  put<uint16_t>(pre + kOffMinor, kMbinVersionMinor);
  put<uint32_t>(pre + kOffRequired, 0);
  put<uint32_t>(pre + kOffOptional, 0);
  put<uint32_t>(pre + kOffBom, kByteOrderMark);
  pre[kOffAlign] = static_cast<unsigned char>(w.alignment_log2);
  pre[kOffHash] = kHashXxh3_64;
  put<uint16_t>(pre + kOffReserved, 0);
  put<uint64_t>(pre + kOffIndexOffset, index_offset);
  put<uint64_t>(pre + kOffIndexSize, index_size);
  put<uint64_t>(pre + kOffFileSize, w.pos);
  put<uint64_t>(pre + kOffIndexChecksum, xxh3(index.data(), index.size()));
  put<uint32_t>(pre + kOffPreambleChecksum, static_cast<uint32_t>(xxh3(pre, kOffPreambleChecksum)));
  w.file.pwrite(pre, sizeof pre, 0);
  w.file.commit();
  w.finished = true;
}

void write_mbin(const std::string& path, const std::string& structure_json, const std::string& metadata_json,
                const std::vector<std::pair<std::string, Tensor>>& tensors, MbinWriteOptions options) {
  MbinWriter writer(path, structure_json, metadata_json, options);
  for (const auto& [name, tensor] : tensors) writer.add(name, tensor);
  writer.finish();
}

// =====================================================================================================
// Reader
// =====================================================================================================

namespace {

std::string version_str(uint16_t major, uint16_t minor) { return std::to_string(major) + "." + std::to_string(minor); }

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

MbinFile::~MbinFile() = default;

const unsigned char* MbinFile::mapped_data() const { return base_; }

std::shared_ptr<const MbinFile> MbinFile::open(const std::string& path, MbinOpenOptions options) {
  auto fail = [&](const std::string& what) { return Error(ErrorKind::format, path + ": " + what); };
  auto unsupported = [&](const std::string& what) { return Error(ErrorKind::unsupported, path + ": " + what); };

  // ---- map the file (not prefaulted: opening stays O(index), views touch only what is used) ----
  auto mapping = std::make_shared<FileBytes>(path, MapOptions{.populate = false, .regular_only = true});
  const uint64_t real_size = mapping->size();
  if (real_size < sizeof kMbinMagic) throw fail("not an .mbin file: only " + std::to_string(real_size) + " bytes");
  const unsigned char* base = mapping->data();

  // ---- preamble (spec §6 steps 1-7) ----
  if (!looks_like_mbin(base, real_size)) throw fail("not an .mbin file (bad magic)");
  if (real_size < kMbinPreambleSize)
    throw fail("truncated: " + std::to_string(real_size) + " bytes, shorter than the " +
               std::to_string(kMbinPreambleSize) + "-byte preamble");
  uint32_t pre_sum = load_le<uint32_t>(base + kOffPreambleChecksum);
  uint32_t pre_expected = static_cast<uint32_t>(xxh3(base, kOffPreambleChecksum));
  if (pre_sum != pre_expected)
    throw fail("preamble checksum mismatch (found " + hex(pre_sum) + ", computed " + hex(pre_expected) +
               "): header corrupted");
  uint32_t bom = load_le<uint32_t>(base + kOffBom);
  if (bom != kByteOrderMark)
    throw fail(bom == __builtin_bswap32(kByteOrderMark) ? "big-endian (byte-swapped) file: only little-endian .mbin is supported"
                                                        : "bad byte-order mark " + hex(bom) + " (expected 0x1020304)");
  auto self = std::shared_ptr<MbinFile>(new MbinFile());
  MbinFile& f = *self;
  f.path_ = path;
  f.version_major_ = load_le<uint16_t>(base + kOffMajor);
  f.version_minor_ = load_le<uint16_t>(base + kOffMinor);
  if (f.version_major_ != kMbinVersionMajor)
    throw unsupported(".mbin format version " + version_str(f.version_major_, f.version_minor_) +
                      " is not supported (this reader reads " + std::to_string(kMbinVersionMajor) + ".x, up to " +
                      version_str(kMbinVersionMajor, kMbinVersionMinor) + ")");
  f.required_features_ = load_le<uint32_t>(base + kOffRequired);
  f.optional_features_ = load_le<uint32_t>(base + kOffOptional);
  if (uint32_t unknown = f.required_features_ & ~kMbinKnownRequiredFeatures)
    throw unsupported("unknown required feature bits " + hex(unknown) + " (file version " +
                      version_str(f.version_major_, f.version_minor_) + ", this reader supports " +
                      version_str(kMbinVersionMajor, kMbinVersionMinor) + ")");
  if (base[kOffHash] != kHashXxh3_64)
    throw unsupported("unknown hash id " + std::to_string(base[kOffHash]) + " (expected 1 = XXH3-64)");
  unsigned align_log2 = base[kOffAlign];
  if (align_log2 < kMbinMinAlignmentLog2 || align_log2 > kMbinMaxAlignmentLog2)
    throw fail("alignment 2^" + std::to_string(align_log2) + " out of range (2^" +
               std::to_string(kMbinMinAlignmentLog2) + "..2^" + std::to_string(kMbinMaxAlignmentLog2) + ")");
  f.alignment_ = uint64_t{1} << align_log2;
  if (load_le<uint16_t>(base + kOffReserved) != 0) throw fail("non-zero reserved preamble field");
  f.file_size_ = load_le<uint64_t>(base + kOffFileSize);
  if (f.file_size_ != real_size)
    throw fail(f.file_size_ > real_size ? "truncated: header says " + std::to_string(f.file_size_) +
                                              " bytes, file has " + std::to_string(real_size)
                                        : "header says " + std::to_string(f.file_size_) + " bytes, file has " +
                                              std::to_string(real_size) + " (trailing bytes)");
  f.index_offset_ = load_le<uint64_t>(base + kOffIndexOffset);
  f.index_size_ = load_le<uint64_t>(base + kOffIndexSize);
  if (f.index_size_ > kMbinMaxIndexBytes)
    throw fail("index size " + std::to_string(f.index_size_) + " exceeds the cap of " +
               std::to_string(kMbinMaxIndexBytes) + " bytes");
  if (f.index_size_ < kIndexHeaderSize)
    throw fail("index size " + std::to_string(f.index_size_) + " is smaller than the index header");
  if (f.index_offset_ < kMbinPreambleSize || f.index_offset_ % kIndexAlignment != 0 ||
      !fits(f.index_offset_, f.index_size_, real_size) || f.index_offset_ + f.index_size_ != real_size)
    throw fail("index at offset " + std::to_string(f.index_offset_) + " size " + std::to_string(f.index_size_) +
               " does not end the " + std::to_string(real_size) + "-byte file (or is misaligned)");

  // ---- index (spec §6 steps 8-9) ----
  const unsigned char* ix = base + f.index_offset_;
  const uint64_t isize = f.index_size_;
  uint64_t ix_sum = load_le<uint64_t>(base + kOffIndexChecksum);
  uint64_t ix_expected = xxh3(ix, isize);
  if (ix_sum != ix_expected)
    throw fail("index checksum mismatch (found " + hex(ix_sum) + ", computed " + hex(ix_expected) +
               "): index corrupted");
  uint32_t header_size = load_le<uint32_t>(ix + kIhHeaderSize);
  uint32_t record_size = load_le<uint32_t>(ix + kIhRecordSize);
  uint64_t count = load_le<uint64_t>(ix + kIhCount);
  uint64_t records_offset = load_le<uint64_t>(ix + kIhRecordsOffset);
  if (header_size < kIndexHeaderSize || header_size > kMbinMaxIndexHeaderBytes || header_size > isize)
    throw fail("index header size " + std::to_string(header_size) + " out of range (" +
               std::to_string(kIndexHeaderSize) + ".." + std::to_string(kMbinMaxIndexHeaderBytes) + ")");
  if (record_size < kRecordSize || record_size > kMbinMaxRecordBytes)
    throw fail("tensor record size " + std::to_string(record_size) + " out of range (" + std::to_string(kRecordSize) +
               ".." + std::to_string(kMbinMaxRecordBytes) + ")");
  if (count > kMbinMaxTensors)
    throw fail("tensor count " + std::to_string(count) + " exceeds the cap of " + std::to_string(kMbinMaxTensors));
  if (records_offset < header_size || records_offset > isize || count > (isize - records_offset) / record_size)
    throw fail("index declares " + std::to_string(count) + " tensor records of " + std::to_string(record_size) +
               " bytes at offset " + std::to_string(records_offset) + ", past the end of the " +
               std::to_string(isize) + "-byte index");
  const uint64_t heap_start = records_offset + count * record_size;
  auto heap_ref = [&](uint64_t off, uint64_t size) { return off >= heap_start && fits(off, size, isize); };

  uint64_t s_off = load_le<uint64_t>(ix + kIhStructOffset), s_size = load_le<uint64_t>(ix + kIhStructSize);
  uint64_t m_off = load_le<uint64_t>(ix + kIhMetaOffset), m_size = load_le<uint64_t>(ix + kIhMetaSize);
  if (!heap_ref(s_off, s_size))
    throw fail("structure JSON (offset " + std::to_string(s_off) + ", " + std::to_string(s_size) +
               " bytes) lies outside the index heap");
  if (!heap_ref(m_off, m_size))
    throw fail("metadata JSON (offset " + std::to_string(m_off) + ", " + std::to_string(m_size) +
               " bytes) lies outside the index heap");
  f.structure_json_.assign(reinterpret_cast<const char*>(ix + s_off), s_size);
  f.metadata_json_.assign(reinterpret_cast<const char*>(ix + m_off), m_size);

  f.tensors_.resize(count);  // bounded: count * record_size <= index bytes present
  for (uint64_t k = 0; k < count; ++k) {
    const unsigned char* rec = ix + records_offset + k * record_size;
    MbinTensorInfo& t = f.tensors_[k];
    uint64_t name_off = load_le<uint64_t>(rec + kRecNameOffset);
    uint32_t name_size = load_le<uint32_t>(rec + kRecNameSize);
    if (name_size == 0 || name_size > kMbinMaxNameBytes)
      throw fail("tensor record " + std::to_string(k) + ": name length " + std::to_string(name_size) +
                 " out of range (1.." + std::to_string(kMbinMaxNameBytes) + ")");
    if (!heap_ref(name_off, name_size))
      throw fail("tensor record " + std::to_string(k) + ": name (offset " + std::to_string(name_off) + ", " +
                 std::to_string(name_size) + " bytes) lies outside the index");
    std::string_view name(reinterpret_cast<const char*>(ix + name_off), name_size);
    if (!valid_utf8(name)) throw fail("tensor record " + std::to_string(k) + ": name is not valid UTF-8 (or has NUL)");
    t.name.assign(name);
    auto tfail = [&](const std::string& what) { return fail("tensor " + quoted(t.name) + ": " + what); };
    if (k > 0) {
      const std::string& prev = f.tensors_[k - 1].name;
      if (prev == t.name) throw fail("duplicate tensor name " + quoted(t.name));
      if (prev > t.name) throw fail("index not sorted by name (" + quoted(prev) + " before " + quoted(t.name) + ")");
    }
    uint16_t code = load_le<uint16_t>(rec + kRecDtype);
    if (!mbin_dtype_from_code(code, &t.dtype))
      throw Error(ErrorKind::unsupported, path + ": tensor " + quoted(t.name) + ": unknown dtype code " +
                                              std::to_string(code));
    if (uint8_t flags = rec[kRecFlags]) throw Error(ErrorKind::unsupported, path + ": tensor " + quoted(t.name) +
                                                                                 ": unknown flags " + hex(flags));
    unsigned ndim = rec[kRecNdim];
    if (ndim > kMbinMaxNdim)
      throw tfail(std::to_string(ndim) + " dimensions (at most " + std::to_string(kMbinMaxNdim) + ")");
    uint64_t dims_off = load_le<uint64_t>(rec + kRecDimsOffset);
    if (!heap_ref(dims_off, uint64_t{8} * ndim))
      throw tfail("dims (offset " + std::to_string(dims_off) + ") lie outside the index");
    t.shape.resize(ndim);
    uint64_t numel = 1;
    bool overflow = false;
    for (unsigned d = 0; d < ndim; ++d) {
      uint64_t dim = load_le<uint64_t>(ix + dims_off + 8 * d);
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        throw tfail("dimension " + std::to_string(d) + " is " + std::to_string(dim) + " (more than 2^63-1)");
      t.shape[d] = static_cast<int64_t>(dim);
      // Same rule as shape_numel: every running product <= 2^62.
      if (dim != 0 && numel > static_cast<uint64_t>(kMaxNumel) / dim) overflow = true;
      else numel *= dim;
    }
    if (overflow) throw tfail("shape " + shape_str(t.shape) + ": element count overflows");
    t.offset = load_le<uint64_t>(rec + kRecDataOffset);
    t.nbytes = load_le<uint64_t>(rec + kRecNbytes);
    t.checksum = load_le<uint64_t>(rec + kRecChecksum);
    uint64_t expected_bytes;
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(dtype_size(t.dtype)), &expected_bytes))
      throw tfail("shape " + shape_str(t.shape) + ": byte length overflows");
    if (expected_bytes != t.nbytes)
      throw tfail("byte length " + std::to_string(t.nbytes) + " does not match " + std::string(dtype_name(t.dtype)) +
                  shape_str(t.shape) + " (expected " + std::to_string(expected_bytes) + ")");
    if (t.offset % f.alignment_ != 0)
      throw tfail("data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                  std::to_string(f.alignment_));
    if (t.offset < kMbinPreambleSize || !fits(t.offset, t.nbytes, f.index_offset_))
      throw tfail("data [" + std::to_string(t.offset) + ", +" + std::to_string(t.nbytes) +
                  ") lies outside the data region [64, " + std::to_string(f.index_offset_) + ")");
  }

  // Overlaps: sort by offset (O(n log n) on the index only).
  std::vector<uint32_t> by_offset(count);
  std::iota(by_offset.begin(), by_offset.end(), 0u);
  std::sort(by_offset.begin(), by_offset.end(), [&](uint32_t a, uint32_t b) {
    return f.tensors_[a].offset != f.tensors_[b].offset ? f.tensors_[a].offset < f.tensors_[b].offset
                                                        : f.tensors_[a].nbytes < f.tensors_[b].nbytes;
  });
  const MbinTensorInfo* prev = nullptr;
  for (uint32_t i : by_offset) {
    const MbinTensorInfo& t = f.tensors_[i];
    if (t.nbytes == 0) continue;
    if (prev && prev->offset + prev->nbytes > t.offset)
      throw fail("tensors " + quoted(prev->name) + " and " + quoted(t.name) + " overlap");
    prev = &t;
  }

  f.mapping_ = std::shared_ptr<const void>(mapping, base);
  f.base_ = base;
  f.check_tensors_ = options.check_tensors;
  f.checked_ = std::make_unique<std::atomic<bool>[]>(count);  // bounded like tensors_
  if (options.verify) f.verify();
  return self;
}

const MbinTensorInfo* MbinFile::find(std::string_view name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const MbinTensorInfo& t, std::string_view n) { return std::string_view(t.name) < n; });
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

const MbinTensorInfo& MbinFile::require(std::string_view name) const {
  if (const MbinTensorInfo* t = find(name)) return *t;
  throw Error(ErrorKind::invalid_argument, path_ + ": no tensor " + quoted(name));
}

// The record of this file that `info` names: callers may pass copies (a sorted vector of
// tensors()), and a copy must not be able to point the view at other bytes.
const MbinTensorInfo& MbinFile::own(const MbinTensorInfo& info) const {
  if (!tensors_.empty() && &info >= tensors_.data() && &info < tensors_.data() + tensors_.size()) return info;
  const MbinTensorInfo& t = require(info.name);
  if (t.offset != info.offset || t.nbytes != info.nbytes || t.dtype != info.dtype || t.shape != info.shape)
    throw Error(ErrorKind::invalid_argument, path_ + ": tensor " + quoted(info.name) + ": record does not belong to this file");
  return t;
}

void MbinFile::check_before_use(const MbinTensorInfo& info) const {
  if (!check_tensors_) return;
  std::atomic<bool>& done = checked_[static_cast<std::size_t>(&info - tensors_.data())];
  if (done.load(std::memory_order_acquire)) return;
  verify_one(info);
}

Tensor MbinFile::view(std::string_view name) const { return view(require(name)); }

Tensor MbinFile::view(const MbinTensorInfo& record) const {
  const MbinTensorInfo& info = own(record);
  check_before_use(info);
  return Tensor::borrow(info.dtype, info.shape, base_ + info.offset, mapping_);
}

Tensor MbinFile::load(std::string_view name) const { return load(require(name)); }

Tensor MbinFile::load(const MbinTensorInfo& record) const {
  const MbinTensorInfo& info = own(record);
  Tensor t = Tensor::uninitialized(info.dtype, info.shape);
  if (!info.nbytes) {
    check_before_use(info);
    return t;
  }
  auto* dst = static_cast<unsigned char*>(t.mutable_data());
  const unsigned char* src = base_ + info.offset;
  std::atomic<bool>& done = checked_[static_cast<std::size_t>(&info - tensors_.data())];
  if (!check_tensors_ || done.load(std::memory_order_acquire)) {
    std::memcpy(dst, src, info.nbytes);
    return t;
  }
  // Hash each chunk while it is still in cache from the copy: one pass over memory, not two.
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(), &XXH3_freeState);
  if (!state) throw Error(ErrorKind::io, path_ + ": out of memory for a hash state");
  XXH3_64bits_reset(state.get());
  for (uint64_t p = 0; p < info.nbytes;) {
    std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(info.nbytes - p, kCopyHashChunk));
    std::memcpy(dst + p, src + p, n);
    XXH3_64bits_update(state.get(), dst + p, n);
    p += n;
  }
  if (XXH3_64bits_digest(state.get()) != info.checksum) throw checksum_error(path_, info);
  done.store(true, std::memory_order_release);
  return t;
}

std::vector<std::pair<std::string, Tensor>> MbinFile::load_all() const {
  std::vector<std::pair<std::string, Tensor>> out;
  out.reserve(tensors_.size());
  for (const auto& t : tensors_) out.emplace_back(t.name, load(t));
  return out;
}

void MbinFile::verify_one(const MbinTensorInfo& info) const {
  uint64_t sum = xxh3(base_ + info.offset, info.nbytes);
  if (sum != info.checksum) throw checksum_error(path_, info);
  checked_[static_cast<std::size_t>(&info - tensors_.data())].store(true, std::memory_order_release);
}

void MbinFile::verify(std::string_view name) const { verify_one(require(name)); }

void MbinFile::verify() const {
  std::vector<const MbinTensorInfo*> order;
  order.reserve(tensors_.size());
  for (const auto& t : tensors_) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) {
    return a->offset != b->offset ? a->offset < b->offset : a->nbytes < b->nbytes;
  });
  // Padding: every byte of [64, index_offset) outside a tensor must be zero.
  auto check_zero = [&](uint64_t from, uint64_t to, const MbinTensorInfo* after) {
    static const unsigned char zeros[kZeroCheckChunk] = {};
    for (uint64_t p = from; p < to;) {
      std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(to - p, kZeroCheckChunk));
      if (std::memcmp(base_ + p, zeros, n) != 0) {
        uint64_t bad = p;
        while (base_[bad] == 0) ++bad;
        throw Error(ErrorKind::format, path_ + ": non-zero padding byte at offset " + std::to_string(bad) +
                                           (after ? " after tensor " + quoted(after->name) : std::string(" before the first tensor")) +
                                           " (file corrupted)");
      }
      p += n;
    }
  };
  uint64_t pos = kMbinPreambleSize;
  const MbinTensorInfo* last = nullptr;
  for (const MbinTensorInfo* t : order) {
    if (t->nbytes == 0) {
      verify_one(*t);
      continue;
    }
    check_zero(pos, t->offset, last);
    verify_one(*t);
    pos = t->offset + t->nbytes;
    last = t;
  }
  check_zero(pos, index_offset_, last);
}

}  // namespace mithril
