#pragma once
// A small ZIP reader and writer for .npz archives (PKWARE APPNOTE 6.3), over a whole file's bytes (io/mapped_file.h).
//
// Layout handled:
//   per member:  local header "PK\3\4" (30 B + name + extra) | data (stored or raw deflate)
//                [data descriptor, ignored: sizes come from the central directory]
//   central directory: one "PK\1\2" entry (46 B + name + extra + comment) per member
//   [zip64 end of central directory "PK\6\6" (56 B) + zip64 locator "PK\6\7" (20 B)]
//   end of central directory "PK\5\6" (22 B + comment up to 64 KiB)
//   Zip64 extra fields (ID 0x0001) carry sizes/offsets >= 4 GiB; numpy puts one on every local header.
//
// The reader trusts nothing: every offset, length and count is checked against the bytes present
// (with overflow checks) before use, members may not overlap, names must be unique, relative and
// free of '..', CRC-32 and sizes are verified while the member is read. Only stored (0) and deflated
// (8) members are supported; encrypted and multi-disk archives are refused. All failures are
// Error(format) or Error(unsupported) naming `context` (the file).
//
// The writer is deterministic (fixed 1980-01-01 timestamps, fixed attributes), writes zip64 records
// only where a size, offset or the member count needs them, and can pad a stored member's local
// header (extra field 0xD935, as Android's zipalign) so its data start at an aligned file offset.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "io/mapped_file.h"

namespace mithril {

class AtomicFile;

/// Deflate cannot expand data by more than this factor; larger claimed sizes are refused as corrupt
/// (so a crafted header cannot make the reader allocate much more than the file justifies).
inline constexpr uint64_t kMaxDeflateRatio = 1032;

/// Longest archive comment (the end record is searched for within this many bytes of the end).
inline constexpr std::size_t kMaxZipCommentSize = 0xFFFF;

/// One member as the central directory describes it (after zip64 fields are applied).
struct ZipEntry {
  std::string name;            ///< as stored (UTF-8 or CP437 bytes)
  uint16_t method = 0;         ///< 0 stored, 8 deflated
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t header_offset = 0;  ///< local header
  uint64_t data_offset = 0;    ///< first byte of the (compressed) data
};

/// Why `name` is not a safe member name (empty, NUL byte, absolute path, a '..' component), or an
/// empty string when it is fine.
std::string unsafe_zip_name_reason(std::string_view name);

/// True when the bytes start like a zip archive ("PK\3\4", or "PK\5\6" for an empty archive).
bool looks_like_zip(const void* data, std::size_t size);

/// The members of the archive at `data`, in central directory order, fully validated as described
/// above (the member data themselves are checked by ZipMemberReader).
std::vector<ZipEntry> read_zip_directory(const unsigned char* data, std::size_t size, const std::string& context);

/// Reads the uncompressed bytes of one member sequentially, accumulating its CRC-32.
class ZipMemberReader {
 public:
  /// `archive` must hold the member's data (guaranteed for entries from read_zip_directory).
  /// `context` names the member in errors, e.g. "params.npz: member 'w.npy'".
  ZipMemberReader(const unsigned char* archive, const ZipEntry& entry, std::string context);
  ~ZipMemberReader();
  ZipMemberReader(const ZipMemberReader&) = delete;
  ZipMemberReader& operator=(const ZipMemberReader&) = delete;

  /// Uncompressed bytes not read yet (per the directory).
  uint64_t remaining() const { return remaining_; }

  /// Reads exactly `size` bytes; Error(format) if the member (or its deflate stream) ends first.
  void read(void* out, std::size_t size);

  /// Skips what is left, then checks that the data end exactly at the declared size and that the
  /// CRC-32 matches. Must be called once all wanted bytes are read.
  void finish();

 private:
  void inflate_into(unsigned char* out, std::size_t size);

  const unsigned char* input_;
  uint64_t input_left_;
  const ZipEntry& entry_;
  std::string context_;
  uint64_t remaining_;
  uint32_t crc_ = 0;
  struct Inflater;
  std::unique_ptr<Inflater> inflater_;
};

/// Writes a zip archive member by member into an AtomicFile, then the central directory.
class ZipWriter {
 public:
  explicit ZipWriter(AtomicFile& file) : file_(file) {}

  /// Adds a member holding the concatenation of `pieces`. `compress` deflates it (zlib default
  /// level, as Python's zipfile); otherwise, with `align` > 1, the local header is padded so the
  /// data start at a multiple of `align` in the file. Throws Error(invalid_argument) for an empty,
  /// duplicate or over-long name.
  void add(const std::string& name, const std::vector<std::string_view>& pieces, bool compress, std::size_t align = 1);

  /// Writes the central directory and end records. The caller then commits the file.
  void finish();

 private:
  AtomicFile& file_;
  std::vector<ZipEntry> entries_;
  std::unordered_set<std::string> names_;  // for the duplicate check
};

}  // namespace mithril
