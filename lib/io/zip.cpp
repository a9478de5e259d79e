#include "io/zip.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/bytes.h"

namespace mithril {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr std::size_t kLocalSize = 30, kCentralSize = 46, kEndSize = 22, kZip64EndSize = 56, kZip64LocatorSize = 20;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint16_t kAlignExtraId = 0xD935;  // Android zipalign: u16 alignment, then zero padding
constexpr uint32_t kMax32 = 0xFFFFFFFF;
constexpr uint16_t kMax16 = 0xFFFF;
constexpr uint16_t kFlagEncrypted = 0x0001, kFlagStrongEncryption = 0x0040, kFlagUtf8 = 0x0800;
// 1980-01-01 00:00:00 in MS-DOS format: fixed so equal input gives equal bytes.
constexpr uint16_t kDosDate = (0 << 9) | (1 << 5) | 1, kDosTime = 0;
// Chunk for fused copy+CRC and for zlib's 32-bit length fields.
constexpr std::size_t kChunk = 256 * 1024;
constexpr std::size_t kZlibMaxChunk = std::size_t{1} << 30;

uint16_t u16(const unsigned char* p) { return load_le<uint16_t>(p); }
uint32_t u32(const unsigned char* p) { return load_le<uint32_t>(p); }
uint64_t u64(const unsigned char* p) { return load_le<uint64_t>(p); }
void put16(std::string& s, uint16_t v) { append_le(s, v); }
void put32(std::string& s, uint32_t v) { append_le(s, v); }
void put64(std::string& s, uint64_t v) { append_le(s, v); }

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

uint32_t crc_update(uint32_t crc, const unsigned char* p, std::size_t n) {
  while (n > 0) {
    std::size_t c = std::min(n, kZlibMaxChunk);
    crc = static_cast<uint32_t>(crc32(crc, p, static_cast<uInt>(c)));
    p += c;
    n -= c;
  }
  return crc;
}

}  // namespace

std::string unsafe_zip_name_reason(std::string_view name) {
  if (name.empty()) return "empty member name";
  if (name.find('\0') != std::string_view::npos) return "member name contains a NUL byte";
  if (name[0] == '/' || name[0] == '\\') return "absolute member path " + quoted(name);
  if (name.size() >= 2 && name[1] == ':') return "absolute member path " + quoted(name);
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = name.size();
    if (name.substr(start, end - start) == "..") return "member path " + quoted(name) + " contains '..'";
    start = end + 1;
  }
  return {};
}

namespace {

// Applies a zip64 extra field (0x0001) to the 32-bit fields that are saturated.
void apply_zip64_extra(const unsigned char* extra, std::size_t extra_size, ZipEntry& entry, bool size_saturated,
                       bool csize_saturated, bool offset_saturated, const std::string& context) {
  std::size_t pos = 0;
  while (pos + 4 <= extra_size) {
    uint16_t id = u16(extra + pos);
    uint16_t len = u16(extra + pos + 2);
    if (len > extra_size - pos - 4)
      fail_at(ErrorKind::format, context, "member " + quoted(entry.name) + ": extra field " + hex32(id) + " claims " +
                                           std::to_string(len) + " bytes, " + std::to_string(extra_size - pos - 4) + " present");
    if (id == kZip64ExtraId) {
      const unsigned char* p = extra + pos + 4;
      std::size_t left = len;
      auto take = [&](uint64_t& field, const char* what) {
        if (left < 8)
          fail_at(ErrorKind::format, context, "member " + quoted(entry.name) + ": zip64 extra field lacks the " + what);
        field = u64(p);
        p += 8;
        left -= 8;
      };
      if (size_saturated) take(entry.uncompressed_size, "uncompressed size");
      if (csize_saturated) take(entry.compressed_size, "compressed size");
      if (offset_saturated) take(entry.header_offset, "local header offset");
      return;
    }
    pos += 4 + std::size_t{len};
  }
  if (size_saturated || csize_saturated || offset_saturated)
    fail_at(ErrorKind::format, context, "member " + quoted(entry.name) + ": sizes or offset are 0xffffffff but there is no zip64 extra field");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Reading

bool looks_like_zip(const void* data, std::size_t size) {
  if (size < 4) return false;
  uint32_t sig = u32(static_cast<const unsigned char*>(data));
  return sig == kLocalSig || sig == kEndSig;
}

std::vector<ZipEntry> read_zip_directory(const unsigned char* data, std::size_t size, const std::string& context) {
  if (size == 0) fail_at(ErrorKind::format, context, "empty file, expected a zip archive (.npz)");
  // The end record is the last "PK\5\6" whose comment fits in the file.
  std::size_t end_pos = std::string::npos;
  if (size >= kEndSize) {
    std::size_t lowest = size - kEndSize > kMaxZipCommentSize ? size - kEndSize - kMaxZipCommentSize : 0;
    for (std::size_t pos = size - kEndSize + 1; pos-- > lowest;) {
      if (u32(data + pos) == kEndSig && pos + kEndSize + u16(data + pos + 20) <= size) {
        end_pos = pos;
        break;
      }
    }
  }
  if (end_pos == std::string::npos) {
    if (looks_like_zip(data, size))
      fail_at(ErrorKind::format, context, "truncated zip archive: no end of central directory record in its " +
                                           std::to_string(size) + " bytes");
    fail_at(ErrorKind::format, context, "not a zip archive (no end of central directory record), expected an .npz");
  }
  const unsigned char* end = data + end_pos;
  uint64_t disk = u16(end + 4), cd_disk = u16(end + 6);
  uint64_t count_on_disk = u16(end + 8), count = u16(end + 10);
  uint64_t cd_size = u32(end + 12), cd_offset = u32(end + 16);
  uint64_t directory_limit = end_pos;  // the central directory must end before this offset
  if (end_pos >= kZip64LocatorSize && u32(end - kZip64LocatorSize) == kZip64LocatorSig) {
    const unsigned char* locator = end - kZip64LocatorSize;
    uint64_t z64_pos = u64(locator + 8);
    if (u32(locator + 4) != 0 || u32(locator + 16) > 1) fail_at(ErrorKind::unsupported, context, "multi-disk zip archives are not supported");
    uint64_t locator_pos = end_pos - kZip64LocatorSize;
    if (z64_pos > locator_pos || locator_pos - z64_pos < kZip64EndSize)
      fail_at(ErrorKind::format, context, "zip64 end record offset " + std::to_string(z64_pos) + " is outside the archive (" +
                                           std::to_string(locator_pos) + " bytes before the locator)");
    const unsigned char* z64 = data + z64_pos;
    if (u32(z64) != kZip64EndSig) fail_at(ErrorKind::format, context, "bad zip64 end of central directory signature at offset " + std::to_string(z64_pos));
    disk = u32(z64 + 16);
    cd_disk = u32(z64 + 20);
    count_on_disk = u64(z64 + 24);
    count = u64(z64 + 32);
    cd_size = u64(z64 + 40);
    cd_offset = u64(z64 + 48);
    directory_limit = z64_pos;
  }
  if (disk != 0 || cd_disk != 0 || count_on_disk != count)
    fail_at(ErrorKind::unsupported, context, "multi-disk zip archives are not supported");
  if (cd_offset > directory_limit || cd_size > directory_limit - cd_offset)
    fail_at(ErrorKind::format, context, "central directory (offset " + std::to_string(cd_offset) + ", " + std::to_string(cd_size) +
                                         " bytes) lies outside the " + std::to_string(directory_limit) + " bytes before the end record; truncated or corrupt archive");
  if (count > cd_size / kCentralSize)
    fail_at(ErrorKind::format, context, "end record claims " + std::to_string(count) + " members, the " + std::to_string(cd_size) +
                                         "-byte central directory holds at most " + std::to_string(cd_size / kCentralSize));

  std::vector<ZipEntry> entries;
  entries.reserve(static_cast<std::size_t>(count));
  std::unordered_set<std::string> names;
  names.reserve(static_cast<std::size_t>(count));
  const uint64_t cd_end = cd_offset + cd_size;
  uint64_t pos = cd_offset;
  for (uint64_t i = 0; i < count; ++i) {
    std::string where = "central directory entry " + std::to_string(i);
    if (cd_end - pos < kCentralSize) fail_at(ErrorKind::format, context, where + " runs past the end of the central directory");
    const unsigned char* c = data + pos;
    if (u32(c) != kCentralSig) fail_at(ErrorKind::format, context, where + ": bad signature at offset " + std::to_string(pos));
    uint16_t flags = u16(c + 8);
    ZipEntry e;
    e.method = u16(c + 10);
    e.crc32 = u32(c + 16);
    e.compressed_size = u32(c + 20);
    e.uncompressed_size = u32(c + 24);
    std::size_t name_len = u16(c + 28), extra_len = u16(c + 30), comment_len = u16(c + 32);
    e.header_offset = u32(c + 42);
    if (cd_end - pos - kCentralSize < name_len + extra_len + comment_len)
      fail_at(ErrorKind::format, context, where + ": name, extra and comment run past the end of the central directory");
    e.name.assign(reinterpret_cast<const char*>(c + kCentralSize), name_len);
    apply_zip64_extra(c + kCentralSize + name_len, extra_len, e, e.uncompressed_size == kMax32, e.compressed_size == kMax32,
                      e.header_offset == kMax32, context);
    pos += kCentralSize + name_len + extra_len + comment_len;

    std::string member = "member " + quoted(e.name);
    if (std::string why = unsafe_zip_name_reason(e.name); !why.empty()) fail_at(ErrorKind::format, context, why);
    if (!names.insert(e.name).second) fail_at(ErrorKind::format, context, "duplicate " + member);
    if (flags & (kFlagEncrypted | kFlagStrongEncryption)) fail_at(ErrorKind::unsupported, context, member + " is encrypted");
    if (e.method != 0 && e.method != 8)
      fail_at(ErrorKind::unsupported, context, member + ": compression method " + std::to_string(e.method) +
                                                " is not supported, expected 0 (stored) or 8 (deflated)");
    if (e.method == 0 && e.compressed_size != e.uncompressed_size)
      fail_at(ErrorKind::format, context, member + ": stored member with compressed size " + std::to_string(e.compressed_size) +
                                           " != uncompressed size " + std::to_string(e.uncompressed_size));
    if (e.method == 8 && e.uncompressed_size / kMaxDeflateRatio > e.compressed_size + 64)
      fail_at(ErrorKind::format, context, member + ": claims " + std::to_string(e.uncompressed_size) + " bytes from " +
                                           std::to_string(e.compressed_size) + " compressed ones, more than deflate can expand");

    // The local header must lie before the central directory and repeat the name.
    if (e.header_offset > cd_offset || cd_offset - e.header_offset < kLocalSize)
      fail_at(ErrorKind::format, context, member + ": local header offset " + std::to_string(e.header_offset) +
                                           " is outside the member area (central directory at " + std::to_string(cd_offset) + ")");
    const unsigned char* l = data + e.header_offset;
    if (u32(l) != kLocalSig) fail_at(ErrorKind::format, context, member + ": bad local header signature at offset " + std::to_string(e.header_offset));
    std::size_t local_name_len = u16(l + 26), local_extra_len = u16(l + 28);
    uint64_t header_end = e.header_offset + kLocalSize + local_name_len + local_extra_len;
    if (header_end > cd_offset) fail_at(ErrorKind::format, context, member + ": local header runs into the central directory");
    if (std::string_view(reinterpret_cast<const char*>(l + kLocalSize), local_name_len) != e.name)
      fail_at(ErrorKind::format, context, member + ": local header names it " +
                                           quoted(std::string_view(reinterpret_cast<const char*>(l + kLocalSize), local_name_len)));
    e.data_offset = header_end;
    if (e.compressed_size > cd_offset - header_end)
      fail_at(ErrorKind::format, context, member + ": " + std::to_string(e.compressed_size) + " bytes of data claimed, " +
                                           std::to_string(cd_offset - header_end) + " present before the central directory; truncated archive");
    entries.push_back(std::move(e));
  }

  // Members may not overlap (no zip bombs that reuse one stream, no cyclic offsets).
  std::vector<std::size_t> order(entries.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return entries[a].header_offset < entries[b].header_offset; });
  for (std::size_t k = 1; k < order.size(); ++k) {
    const ZipEntry& prev = entries[order[k - 1]];
    const ZipEntry& next = entries[order[k]];
    if (prev.data_offset + prev.compressed_size > next.header_offset)
      fail_at(ErrorKind::format, context, "members " + quoted(prev.name) + " and " + quoted(next.name) + " overlap");
  }
  return entries;
}

struct ZipMemberReader::Inflater {
  z_stream stream{};
  bool ended = false;
};

ZipMemberReader::ZipMemberReader(const unsigned char* archive, const ZipEntry& entry, std::string context)
    : input_(archive + entry.data_offset),
      input_left_(entry.compressed_size),
      entry_(entry),
      context_(std::move(context)),
      remaining_(entry.uncompressed_size) {
  if (entry.method == 8) {
    inflater_ = std::make_unique<Inflater>();
    if (inflateInit2(&inflater_->stream, -MAX_WBITS) != Z_OK) {
      inflater_.reset();
      throw Error(ErrorKind::io, context_ + ": cannot initialise zlib");
    }
  }
}

ZipMemberReader::~ZipMemberReader() {
  if (inflater_) inflateEnd(&inflater_->stream);
}

void ZipMemberReader::read(void* out, std::size_t size) {
  if (size > remaining_)
    fail_at(ErrorKind::format, context_, "needs " + std::to_string(size) + " more bytes, member holds only " + std::to_string(remaining_));
  auto* dst = static_cast<unsigned char*>(out);
  if (!inflater_) {
    // Copy and checksum in cache-sized chunks so the CRC reads what the copy just wrote.
    for (std::size_t done = 0; done < size;) {
      std::size_t n = std::min(kChunk, size - done);
      std::memcpy(dst + done, input_, n);
      crc_ = static_cast<uint32_t>(crc32(crc_, dst + done, static_cast<uInt>(n)));
      input_ += n;
      input_left_ -= n;
      done += n;
    }
  } else {
    inflate_into(dst, size);
  }
  remaining_ -= size;
}

void ZipMemberReader::inflate_into(unsigned char* out, std::size_t size) {
  z_stream& s = inflater_->stream;
  std::size_t done = 0;
  while (done < size) {
    if (inflater_->ended)
      fail_at(ErrorKind::format, context_, "deflate stream ends after " + std::to_string(entry_.uncompressed_size - remaining_ + done) +
                                            " bytes, the directory declares " + std::to_string(entry_.uncompressed_size));
    if (s.avail_in == 0 && input_left_ > 0) {
      std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(input_left_, kZlibMaxChunk));
      s.next_in = const_cast<Bytef*>(input_);
      s.avail_in = static_cast<uInt>(n);
      input_ += n;
      input_left_ -= n;
    }
    std::size_t want = std::min(size - done, kChunk);  // small steps keep the CRC input in cache
    s.next_out = out + done;
    s.avail_out = static_cast<uInt>(want);
    uInt in_before = s.avail_in;
    int rc = inflate(&s, Z_NO_FLUSH);
    std::size_t produced = want - s.avail_out;
    crc_ = crc_update(crc_, out + done, produced);
    done += produced;
    if (rc == Z_STREAM_END) {
      inflater_->ended = true;
      continue;
    }
    if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT)
      fail_at(ErrorKind::format, context_, std::string("corrupt deflate data (") + (s.msg ? s.msg : "zlib error") + ")");
    if (rc == Z_MEM_ERROR) throw Error(ErrorKind::io, context_ + ": zlib out of memory");
    if (produced == 0 && s.avail_in == in_before && (s.avail_in == 0 && input_left_ == 0))
      fail_at(ErrorKind::format, context_, "deflate data truncated after " + std::to_string(entry_.uncompressed_size - remaining_ + done) +
                                            " of " + std::to_string(entry_.uncompressed_size) + " bytes");
    if (produced == 0 && s.avail_in == in_before) fail_at(ErrorKind::format, context_, "deflate stream makes no progress");
  }
}

void ZipMemberReader::finish() {
  unsigned char scratch[16384];
  while (remaining_ > 0) {
    std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(remaining_, sizeof scratch));
    read(scratch, n);
  }
  if (inflater_ && !inflater_->ended) {
    // The stream must end now: any further output means the member is longer than declared.
    z_stream& s = inflater_->stream;
    for (int guard = 0; guard < 64 && !inflater_->ended; ++guard) {
      if (s.avail_in == 0 && input_left_ > 0) {
        std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(input_left_, kZlibMaxChunk));
        s.next_in = const_cast<Bytef*>(input_);
        s.avail_in = static_cast<uInt>(n);
        input_ += n;
        input_left_ -= n;
      }
      s.next_out = scratch;
      s.avail_out = 1;
      uInt in_before = s.avail_in;
      int rc = inflate(&s, Z_NO_FLUSH);
      if (s.avail_out == 0)
        fail_at(ErrorKind::format, context_, "deflate data hold more than the " + std::to_string(entry_.uncompressed_size) + " bytes the directory declares");
      if (rc == Z_STREAM_END) inflater_->ended = true;
      else if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT)
        fail_at(ErrorKind::format, context_, std::string("corrupt deflate data (") + (s.msg ? s.msg : "zlib error") + ")");
      else if (s.avail_in == in_before && s.avail_in == 0 && input_left_ == 0)
        fail_at(ErrorKind::format, context_, "deflate data truncated (no end of stream)");
    }
    if (!inflater_->ended) fail_at(ErrorKind::format, context_, "deflate stream does not end where the directory says");
  }
  if (crc_ != entry_.crc32)
    fail_at(ErrorKind::format, context_, "crc-32 mismatch: data give " + hex32(crc_) + ", directory says " + hex32(entry_.crc32));
}

// ---------------------------------------------------------------------------------------------
// Writing

void ZipWriter::add(const std::string& name, const std::vector<std::string_view>& pieces, bool compress, std::size_t align) {
  if (std::string why = unsafe_zip_name_reason(name); !why.empty())
    throw Error(ErrorKind::invalid_argument, file_.path() + ": " + why);
  if (name.size() > kMax16) throw Error(ErrorKind::invalid_argument, file_.path() + ": member name longer than 65535 bytes");
  if (!names_.insert(name).second) throw Error(ErrorKind::invalid_argument, file_.path() + ": duplicate member " + quoted(name));

  ZipEntry e;
  e.name = name;
  e.method = compress ? 8 : 0;
  e.header_offset = file_.size();
  std::string compressed;
  for (std::string_view p : pieces) {
    e.crc32 = crc_update(e.crc32, reinterpret_cast<const unsigned char*>(p.data()), p.size());
    e.uncompressed_size += p.size();
  }
  if (compress) {
    z_stream s{};
    if (deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      throw Error(ErrorKind::io, file_.path() + ": cannot initialise zlib");
    std::size_t piece = 0, offset = 0;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      while (s.avail_in == 0 && piece < pieces.size()) {
        std::size_t n = std::min(pieces[piece].size() - offset, kZlibMaxChunk);
        s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(pieces[piece].data() + offset));
        s.avail_in = static_cast<uInt>(n);
        offset += n;
        if (offset == pieces[piece].size()) {
          ++piece;
          offset = 0;
        }
      }
      if (compressed.size() - s.total_out < kChunk) compressed.resize(compressed.size() + std::max(kChunk, compressed.size() / 2));
      s.next_out = reinterpret_cast<Bytef*>(compressed.data() + s.total_out);
      s.avail_out = static_cast<uInt>(std::min(compressed.size() - s.total_out, kZlibMaxChunk));
      rc = deflate(&s, piece == pieces.size() && s.avail_in == 0 ? Z_FINISH : Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        deflateEnd(&s);
        throw Error(ErrorKind::io, file_.path() + ": deflate failed");
      }
    }
    compressed.resize(s.total_out);
    deflateEnd(&s);
    e.compressed_size = compressed.size();
  } else {
    e.compressed_size = e.uncompressed_size;
  }

  bool zip64_sizes = e.uncompressed_size >= kMax32 || e.compressed_size >= kMax32;
  std::string extra;
  if (zip64_sizes) {
    put16(extra, kZip64ExtraId);
    put16(extra, 16);
    put64(extra, e.uncompressed_size);
    put64(extra, e.compressed_size);
  }
  if (!compress && align > 1) {
    std::size_t unpadded = static_cast<std::size_t>(e.header_offset % align) + kLocalSize + name.size() + extra.size();
    std::size_t pad = (align - unpadded % align) % align;
    if (pad != 0) {
      while (pad < 6) pad += align;  // the smallest padding record: id, length, u16 alignment
      put16(extra, kAlignExtraId);
      put16(extra, static_cast<uint16_t>(pad - 4));
      put16(extra, static_cast<uint16_t>(align));
      extra.append(pad - 6, '\0');
    }
  }
  bool utf8 = std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
  std::string local;
  put32(local, kLocalSig);
  put16(local, zip64_sizes ? 45 : 20);
  put16(local, utf8 ? kFlagUtf8 : 0);
  put16(local, e.method);
  put16(local, kDosTime);
  put16(local, kDosDate);
  put32(local, e.crc32);
  put32(local, zip64_sizes ? kMax32 : static_cast<uint32_t>(e.compressed_size));
  put32(local, zip64_sizes ? kMax32 : static_cast<uint32_t>(e.uncompressed_size));
  put16(local, static_cast<uint16_t>(name.size()));
  put16(local, static_cast<uint16_t>(extra.size()));
  local += name;
  local += extra;
  file_.write(local);
  e.data_offset = file_.size();
  if (compress) file_.write(compressed);
  else
    for (std::string_view p : pieces) file_.write(p);
  entries_.push_back(std::move(e));
}

void ZipWriter::finish() {
  const uint64_t cd_offset = file_.size();
  std::string cd;
  for (const ZipEntry& e : entries_) {
    bool big_size = e.uncompressed_size >= kMax32, big_csize = e.compressed_size >= kMax32, big_offset = e.header_offset >= kMax32;
    std::string extra;
    if (big_size || big_csize || big_offset) {
      put16(extra, kZip64ExtraId);
      put16(extra, static_cast<uint16_t>(8 * (big_size + big_csize + big_offset)));
      if (big_size) put64(extra, e.uncompressed_size);
      if (big_csize) put64(extra, e.compressed_size);
      if (big_offset) put64(extra, e.header_offset);
    }
    bool zip64 = !extra.empty();
    bool utf8 = std::any_of(e.name.begin(), e.name.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
    put32(cd, kCentralSig);
    put16(cd, (3 << 8) | (zip64 ? 45 : 20));  // made by: unix
    put16(cd, zip64 ? 45 : 20);
    put16(cd, utf8 ? kFlagUtf8 : 0);
    put16(cd, e.method);
    put16(cd, kDosTime);
    put16(cd, kDosDate);
    put32(cd, e.crc32);
    put32(cd, big_csize ? kMax32 : static_cast<uint32_t>(e.compressed_size));
    put32(cd, big_size ? kMax32 : static_cast<uint32_t>(e.uncompressed_size));
    put16(cd, static_cast<uint16_t>(e.name.size()));
    put16(cd, static_cast<uint16_t>(extra.size()));
    put16(cd, 0);  // comment
    put16(cd, 0);  // disk
    put16(cd, 0);  // internal attributes
    put32(cd, 0100644u << 16);  // regular file, rw-r--r--
    put32(cd, big_offset ? kMax32 : static_cast<uint32_t>(e.header_offset));
    cd += e.name;
    cd += extra;
    if (cd.size() >= (std::size_t{1} << 24)) {
      file_.write(cd);
      cd.clear();
    }
  }
  file_.write(cd);
  const uint64_t cd_end = file_.size();
  const uint64_t cd_size = cd_end - cd_offset;
  const uint64_t count = entries_.size();
  std::string tail;
  bool zip64 = count >= kMax16 || cd_size >= kMax32 || cd_offset >= kMax32;
  if (zip64) {
    put32(tail, kZip64EndSig);
    put64(tail, kZip64EndSize - 12);
    put16(tail, (3 << 8) | 45);
    put16(tail, 45);
    put32(tail, 0);
    put32(tail, 0);
    put64(tail, count);
    put64(tail, count);
    put64(tail, cd_size);
    put64(tail, cd_offset);
    put32(tail, kZip64LocatorSig);
    put32(tail, 0);
    put64(tail, cd_end);
    put32(tail, 1);
  }
  put32(tail, kEndSig);
  put16(tail, 0);
  put16(tail, 0);
  put16(tail, static_cast<uint16_t>(std::min<uint64_t>(count, kMax16)));
  put16(tail, static_cast<uint16_t>(std::min<uint64_t>(count, kMax16)));
  put32(tail, static_cast<uint32_t>(std::min<uint64_t>(cd_size, kMax32)));
  put32(tail, static_cast<uint32_t>(std::min<uint64_t>(cd_offset, kMax32)));
  put16(tail, 0);
  file_.write(tail);
}

}  // namespace mithril
