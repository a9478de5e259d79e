#pragma once
// Internal to lib/io: the byte-level helpers every reader and writer of untrusted bytes shares:
// little-endian loads and stores, a bounds-checked cursor, and the message helpers (a file's
// context, a name quoted with its control bytes escaped).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/error.h"

namespace mithril {

/// Throws Error(kind) "CONTEXT: WHAT" (CONTEXT: the file, or file plus member).
[[noreturn]] inline void fail_at(ErrorKind kind, const std::string& context, const std::string& what) {
  throw Error(kind, context + ": " + what);
}

/// The unsigned little-endian integer at `p` (any alignment, any host byte order).
template <class T>
T load_le(const unsigned char* p) {
  static_assert(std::is_unsigned_v<T>);
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>(v | (T{p[i]} << (8 * i)));
  return v;
}

/// Appends `v` to `out` as little-endian bytes.
template <class T>
void append_le(std::string& out, T v) {
  static_assert(std::is_unsigned_v<T>);
  for (std::size_t i = 0; i < sizeof(T); ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

/// `text` for a message: bytes outside printable ASCII as \xNN, cut after `max` bytes ("...").
std::string printable(std::string_view text, std::size_t max = 200);

/// 'name' for a message, printable() inside quotes.
std::string quoted(std::string_view name);

/// A cursor over bytes that never reads past the end: every read checks what is left first and
/// fails with Error(format) "CONTEXT: truncated: N bytes claimed at byte P, L left".
class ByteReader {
 public:
  ByteReader(std::string_view bytes, std::string context) : bytes_(bytes), context_(std::move(context)) {}

  std::size_t offset() const { return pos_; }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  bool at_end() const { return pos_ == bytes_.size(); }
  const std::string& context() const { return context_; }

  /// The next `n` bytes.
  std::string_view take(uint64_t n) {
    if (n > remaining())
      fail(ErrorKind::format, "truncated: " + std::to_string(n) + " bytes claimed at byte " + std::to_string(pos_) + ", " +
                                  std::to_string(remaining()) + " left");
    std::string_view out = bytes_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return out;
  }
  unsigned char byte() { return static_cast<unsigned char>(take(1)[0]); }
  /// An unsigned integer of `n` (1..8) little-endian or big-endian bytes.
  uint64_t le(unsigned n) {
    std::string_view p = take(n);
    uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) v |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
    return v;
  }
  uint64_t be(unsigned n) {
    std::string_view p = take(n);
    uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
  }
  /// The bytes up to (not including) `delimiter`, which is consumed; nullopt (nothing consumed)
  /// when no delimiter follows within `max` bytes.
  std::optional<std::string_view> until(char delimiter, std::size_t max) {
    std::size_t end = bytes_.find(delimiter, pos_);
    if (end == std::string_view::npos || end - pos_ > max) return std::nullopt;
    std::string_view out = bytes_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return out;
  }

  [[noreturn]] void fail(ErrorKind kind, const std::string& what) const { fail_at(kind, context_, what); }

 private:
  std::string_view bytes_;
  std::string context_;
  std::size_t pos_ = 0;
};

}  // namespace mithril
