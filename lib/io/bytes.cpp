#include "io/bytes.h"

#include <cstdio>

namespace mithril {

std::string printable(std::string_view text, std::size_t max) {
  std::string out;
  for (char c : text.substr(0, max)) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    }
  }
  if (text.size() > max) out += "...";
  return out;
}

std::string quoted(std::string_view name) {
  // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on "'" + std::string.
  std::string out = "'";
  out += printable(name);
  out += '\'';
  return out;
}

}  // namespace mithril
