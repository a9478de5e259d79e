// Malformed .npy/.npz files: one table of corruption kinds, each must give a one-line
// mithril::Error naming the file with the expected fragment, never a crash or another exception.
// The corrupt files are built here from good ones (our writer, then byte patches).
#include <catch2/catch.hpp>

#include <cstring>
#include <functional>

#include "io/atomic_file.h"
#include "io/npy.h"
#include "io/npz.h"
#include "io/zip.h"
#include "io_test_util.h"

using namespace mithril;
using namespace mithril::test;

namespace {

// An .npy whose header dict is `dict` (padded like numpy's), followed by `data`.
std::string npy_with_dict(const std::string& dict, const std::string& data = "", int major = 1) {
  std::size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  for (std::size_t i = 0; i < prefix - 8; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  return out + header + data;
}

std::string floats(std::size_t n) { return std::string(n * 4, '\x01'); }

// A zip of raw member bytes written by our ZipWriter.
std::string zip_of(const std::vector<std::pair<std::string, std::string>>& members, bool compress = false) {
  TempDir dir;
  std::string path = dir.file("z.zip");
  AtomicFile file(path);
  ZipWriter zip(file);
  for (const auto& [name, bytes] : members) zip.add(name, {bytes}, compress, 64);
  zip.finish();
  file.commit();
  return slurp(path);
}

std::string good_npz(bool compress) {
  return zip_of({{"hidden.weight.npy", npy_with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (10,), }", floats(10))},
                 {"hidden.bias.npy", npy_with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", floats(3))}},
                compress);
}

std::size_t find_nth(const std::string& s, const std::string& what, int n) {
  std::size_t pos = 0;
  for (int i = 0; i <= n; ++i) {
    pos = s.find(what, i ? pos + 1 : 0);
    REQUIRE(pos != std::string::npos);
  }
  return pos;
}
void put32(std::string& s, std::size_t pos, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[pos + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
void put16(std::string& s, std::size_t pos, uint16_t v) {
  s[pos] = static_cast<char>(v & 0xFF);
  s[pos + 1] = static_cast<char>(v >> 8);
}
const std::string kCentral("PK\x01\x02", 4), kLocal("PK\x03\x04", 4), kEnd("PK\x05\x06", 4);

std::string replaced(std::string s, const std::string& from, const std::string& to, bool all = true) {
  REQUIRE(from.size() == to.size());
  std::size_t pos = 0, count = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    ++count;
    if (!all) break;
  }
  REQUIRE(count > 0);
  return s;
}

struct Malformed {
  std::string what;       // the kind of corruption
  std::string file;       // file name to write (its extension picks read_npy or read_npz)
  std::function<std::string()> bytes;
  std::string fragment;   // expected in the message
  ErrorKind kind = ErrorKind::format;
};

const std::string kW = "{'descr': '<f4', 'fortran_order': False, 'shape': (10,), }";

std::vector<Malformed> malformed_cases() {
  std::vector<Malformed> cases = {
      {"empty .npz", "e.npz", [] { return std::string(); }, "e.npz: empty file, expected a zip archive"},
      {"empty .npy", "e.npy", [] { return std::string(); }, "e.npy: empty, expected an .npy array"},
      {"not a zip", "text.npz", [] { return std::string(200, 'x'); }, "text.npz: not a zip archive"},
      {"npy given to the npz reader", "n.npz", [] { return npy_with_dict(kW, floats(10)); }, "n.npz: not a zip archive"},
      {"bad npy magic", "m.npy", [] { return std::string("\x93NUMPX\x01\x00", 8) + std::string(100, ' '); }, "m.npy: bad magic"},
      {"bad npy magic in a member", "m.npz", [] { return zip_of({{"a.npy", "PK not an array at all"}}); },
       "m.npz: member 'a.npy': bad magic 'PK not'"},
      {"npy shorter than its magic", "s.npy", [] { return std::string("\x93NUM", 4); }, "shorter than the .npy magic"},
      {"npy version 4.0", "v.npy", [] { return std::string("\x93NUMPY\x04\x00\x10\x00", 10) + std::string(16, ' '); },
       "v.npy: npy version 4.0 is not supported", ErrorKind::unsupported},
      {"npy header length beyond the file", "h.npy", [] { return std::string("\x93NUMPY\x01\x00\xff\xff{'descr'", 17); },
       "h.npy: truncated: npy header claims 65545 bytes, 17 present"},
      {"npy header length over the cap", "c.npy", [] { return std::string("\x93NUMPY\x02\x00\xff\xff\xff\x7f", 12); },
       "c.npy: npy header claims 2147483647 bytes, at most 65536 are accepted"},
      {"header claims more data (npy)", "d.npy", [] { return npy_with_dict(kW, floats(3)); },
       "d.npy: header claims 40 bytes of data (<f4 [10]), file holds 12"},
      {"header claims more data (npz member)", "params.npz",
       [] { return zip_of({{"hidden.weight.npy", npy_with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (1000,), }", floats(300))}}); },
       "params.npz: member 'hidden.weight.npy': header claims 4000 bytes of data (<f4 [1000]), member holds 1200"},
      {"huge shape (2**40, 2**40)", "huge.npy",
       [] { return npy_with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }"); },
       "huge.npy: npy header shape [1099511627776,1099511627776] of <f4 is too large"},
      {"4 TiB shape without the data", "big.npz",
       [] { return zip_of({{"w.npy", npy_with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }", floats(2))}}); },
       "big.npz: member 'w.npy': header claims 4398046511104 bytes of data"},
      {"dimension beyond int64", "i.npy", [] { return npy_with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }"); },
       "dimension in 'shape' too large"},
      {"unknown dtype '<f16'", "ld.npy", [] { return npy_with_dict("{'descr': '<f16', 'fortran_order': False, 'shape': (1,), }", std::string(16, 0)); },
       "ld.npy: dtype '<f16' is not supported (long double)", ErrorKind::unsupported},
      {"unknown dtype '<x4'", "x.npy", [] { return npy_with_dict("{'descr': '<x4', 'fortran_order': False, 'shape': (1,), }", floats(1)); },
       "x.npy: dtype '<x4' is not supported (unknown dtype)", ErrorKind::unsupported},
      {"object array '|O' in a member", "o.npz",
       [] { return zip_of({{"obj.npy", npy_with_dict("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", "\x80\x04junk")}}); },
       "o.npz: member 'obj.npy': dtype '|O' is not supported (object arrays are pickled)", ErrorKind::unsupported},
      {"structured dtype", "st.npy", [] { return npy_with_dict("{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1,), }", floats(1)); },
       "st.npy: structured dtypes are not supported", ErrorKind::unsupported},
      {"header dict: missing key", "k.npy", [] { return npy_with_dict("{'descr': '<f4', 'fortran_order': False}"); },
       "k.npy: bad npy header: missing key 'shape'"},
      {"header dict: extra key", "k2.npy", [] { return npy_with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}"); },
       "bad npy header: unexpected key 'x'"},
      {"header dict: repeated key", "k3.npy", [] { return npy_with_dict("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}"); },
       "bad npy header: key 'descr' appears twice"},
      {"header dict: not a dict", "k4.npy", [] { return npy_with_dict("[1, 2, 3]"); }, "bad npy header: found '[1, 2, 3]"},
      {"header dict: unterminated string", "k5.npy", [] { return npy_with_dict("{'descr: 12"); }, "bad npy header: unterminated string"},
      {"header dict: shape not a tuple", "k6.npy", [] { return npy_with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (5)}"); },
       "'shape' is an integer in parentheses"},
      {"header dict: negative dimension", "k7.npy", [] { return npy_with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}"); },
       "negative dimension"},
      {"header dict: fortran_order not a bool", "k8.npy", [] { return npy_with_dict("{'descr': '<f4', 'fortran_order': 0, 'shape': ()}"); },
       "expected True or False for 'fortran_order'"},
      {"header dict: junk after the dict", "k9.npy", [] { return npy_with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': ()} x"); },
       "expected the end of the header"},
      {"header dict: nested tuples", "k10.npy", [] { return npy_with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': " + std::string(3000, '(') + "}"); },
       "expected a dimension"},
      {"header dict: too many dimensions", "k11.npy",
       [] {
         std::string shape = "(";
         for (int i = 0; i < 65; ++i) shape += "1, ";
         return npy_with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ")}", floats(1));
       },
       "more than 64 dimensions"},
      {"truncated npz: 4 bytes", "t4.npz", [] { return good_npz(false).substr(0, 4); }, "t4.npz: truncated zip archive"},
      {"truncated npz: 40 bytes", "t40.npz", [] { return good_npz(false).substr(0, 40); }, "t40.npz: truncated zip archive"},
      {"truncated npz: half", "th.npz", [] { std::string s = good_npz(true); return s.substr(0, s.size() / 2); }, "th.npz: truncated zip archive"},
      {"truncated npz: last byte missing", "t1.npz", [] { std::string s = good_npz(false); return s.substr(0, s.size() - 1); }, "t1.npz: truncated zip archive"},
      {"truncated npz: data cut, directory kept", "tc.npz",
       [] {
         std::string s = good_npz(false);
         std::size_t cd = s.find(kCentral);
         return s.substr(0, 200) + s.substr(cd);  // member data cut; offsets now wrong
       },
       "tc.npz: central directory"},
      {"bad crc (stored)", "crc.npz",
       [] {
         std::string s = good_npz(false);
         s[s.find("\n\x01\x01\x01") + 1] = '\x02';
         return s;
       },
       "crc.npz: member 'hidden.weight.npy': crc-32 mismatch"},
      {"bad crc (deflated data)", "crcz.npz",
       [] {
         std::string s = good_npz(true);
         std::size_t cd = find_nth(s, kCentral, 0);
         put32(s, cd + 16, 0x12345678);
         return s;
       },
       "crcz.npz: member 'hidden.weight.npy': crc-32 mismatch: data give"},
      {"corrupt deflate stream", "defl.npz",
       [] {
         std::string s = good_npz(true);
         std::size_t data = find_nth(s, kLocal, 0) + 30 + 17;  // no extra field on deflated members
         s[data] = '\xff';
         s[data + 1] = '\xff';
         return s;
       },
       "defl.npz: member 'hidden.weight.npy': "},
      {"deflated member shorter than declared", "short.npz",
       [] {
         std::string s = good_npz(true);
         std::size_t cd = find_nth(s, kCentral, 0);
         put32(s, cd + 24, 128 + 40 + 5);
         return s;
       },
       "short.npz: member 'hidden.weight.npy': deflate stream ends after 168 bytes, the directory declares 173"},
      {"deflated member longer than declared", "long.npz",
       [] {
         std::string s = good_npz(true);
         put32(s, find_nth(s, kCentral, 0) + 24, 128 + 40 - 8);
         return s;
       },
       "long.npz: member 'hidden.weight.npy': header claims 40 bytes of data (<f4 [10]), member holds 32"},
      {"implausible deflate ratio", "bomb.npz",
       [] {
         std::string s = good_npz(true);
         put32(s, find_nth(s, kCentral, 0) + 24, 0xFFFFFFF0u);
         return s;
       },
       "bomb.npz: member 'hidden.weight.npy': claims 4294967280 bytes from"},
      {"duplicate member", "dup.npz",
       [] { return replaced(zip_of({{"aa.npy", npy_with_dict(kW, floats(10))}, {"ab.npy", npy_with_dict(kW, floats(10))}}), "ab.npy", "aa.npy"); },
       "dup.npz: duplicate member 'aa.npy'"},
      {"absolute member path", "abs.npz", [] { return replaced(zip_of({{"xetc.npy", npy_with_dict(kW, floats(10))}}), "xetc.npy", "/etc.npy"); },
       "abs.npz: absolute member path '/etc.npy'"},
      {"'..' member path", "dots.npz", [] { return replaced(zip_of({{"ab/c.npy", npy_with_dict(kW, floats(10))}}), "ab/c.npy", "../c.npy"); },
       "dots.npz: member path '../c.npy' contains '..'"},
      {"local and central names differ", "names.npz",
       [] { return replaced(zip_of({{"aa.npy", npy_with_dict(kW, floats(10))}}), "aa.npy", "ab.npy", /*all=*/false); },
       "names.npz: member 'aa.npy': local header names it 'ab.npy'"},
      {"central directory offset beyond the file", "cdo.npz",
       [] {
         std::string s = good_npz(false);
         put32(s, s.rfind(kEnd) + 16, 0x7FFFFFFF);
         return s;
       },
       "cdo.npz: central directory (offset 2147483647"},
      {"member count bomb", "count.npz",
       [] {
         std::string s = good_npz(false);
         put16(s, s.rfind(kEnd) + 8, 0xFFFE);
         put16(s, s.rfind(kEnd) + 10, 0xFFFE);
         return s;
       },
       "count.npz: end record claims 65534 members"},
      {"local header offset beyond the members", "lho.npz",
       [] {
         std::string s = good_npz(false);
         put32(s, find_nth(s, kCentral, 1) + 42, 0xFFFFFFF0u);
         return s;
       },
       "lho.npz: member 'hidden.bias.npy': local header offset 4294967280 is outside"},
      {"overlapping members", "overlap.npz",
       [] {
         std::string s = good_npz(false);
         std::size_t cd = find_nth(s, kCentral, 0);
         put32(s, cd + 20, 128 + 40 + 64);  // first member now claims the second one's bytes
         put32(s, cd + 24, 128 + 40 + 64);
         return s;
       },
       "overlap.npz: members 'hidden.weight.npy' and 'hidden.bias.npy' overlap"},
      {"member claims data past the directory", "past.npz",
       [] {
         std::string s = good_npz(false);
         std::size_t cd = find_nth(s, kCentral, 1);
         put32(s, cd + 20, 100000);
         put32(s, cd + 24, 100000);
         return s;
       },
       "past.npz: member 'hidden.bias.npy': 100000 bytes of data claimed"},
      {"extra field longer than its entry", "extra.npz",
       [] {
         // A member > 0xFFFFFFFF would need zip64; fake the saturated size without the extra field.
         std::string s = good_npz(false);
         std::size_t cd = find_nth(s, kCentral, 0);
         put32(s, cd + 24, 0xFFFFFFFFu);
         return s;
       },
       "extra.npz: member 'hidden.weight.npy': sizes or offset are 0xffffffff but there is no zip64 extra field"},
      {"zip64 locator pointing nowhere", "z64.npz",
       [] {
         std::string s = good_npz(false);
         std::size_t end = s.rfind(kEnd);
         std::string locator("PK\x06\x07\0\0\0\0\xf0\xff\xff\xff\0\0\0\0\x01\0\0\0", 20);
         return s.substr(0, end) + locator + s.substr(end);
       },
       "z64.npz: zip64 end record offset 4294967280 is outside the archive"},
      {"encrypted member", "enc.npz",
       [] {
         std::string s = good_npz(false);
         put16(s, find_nth(s, kCentral, 0) + 8, 1);
         return s;
       },
       "enc.npz: member 'hidden.weight.npy' is encrypted", ErrorKind::unsupported},
      {"unknown compression method", "bz.npz",
       [] {
         std::string s = good_npz(false);
         put16(s, find_nth(s, kCentral, 0) + 10, 12);
         return s;
       },
       "bz.npz: member 'hidden.weight.npy': compression method 12 is not supported", ErrorKind::unsupported},
  };
  return cases;
}

}  // namespace

TEST_CASE("malformed files give a clear one-line error naming the file", "[io][npz][malformed]") {
  TempDir dir;
  for (const Malformed& c : malformed_cases()) {
    INFO(c.what);
    std::string path = dir.file(c.file);
    spit(path, c.bytes());
    ErrorKind kind = ErrorKind::io;
    std::string message = error_of(
        [&] {
          if (c.file.ends_with(".npz")) read_npz(path);
          else read_npy(path);
        },
        &kind);
    INFO(message);
    REQUIRE_FALSE(message.empty());
    CHECK(message.rfind(path + ": ", 0) == 0);
    CHECK_THAT(message, Catch::Contains(c.fragment));
    CHECK(kind == c.kind);
    CHECK(message.find('\n') == std::string::npos);
  }
}

static bool same_tensors(const NamedTensors& a, const NamedTensors& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].first != b[i].first || !a[i].second.bitwise_equal(b[i].second)) return false;
  return true;
}

TEST_CASE("every single-byte corruption and truncation of an archive is an Error or decodes to the original", "[io][npz][malformed]") {
  // Each byte of the archive (stored and deflated) is flipped with three masks. A flip the reader
  // accepts must decode to exactly the original names and tensors: it hit a byte no check covers
  // and no value depends on (timestamps, version-made-by, attributes, ...). Every truncation is refused.
  int refused = 0, unchanged = 0, truncations = 0;
  std::vector<std::string> changed;
  for (bool compress : {false, true}) {
    const std::string good = good_npz(compress);
    const NamedTensors original = parse_npz(good.data(), good.size(), "good.npz");
    REQUIRE(original.size() == 2);
    for (std::size_t len = 0; len < good.size(); ++len) {
      std::string message = error_of([&] { parse_npz(good.data(), len, "fuzz.npz"); });
      CHECK(message.rfind("fuzz.npz: ", 0) == 0);
      ++truncations;
    }
    for (std::size_t i = 0; i < good.size(); ++i)
      for (unsigned char mask : {0x01, 0x80, 0xFF}) {
        std::string bad = good;
        bad[i] = static_cast<char>(static_cast<unsigned char>(bad[i]) ^ mask);
        try {
          NamedTensors got = parse_npz(bad.data(), bad.size(), "fuzz.npz");
          if (same_tensors(got, original)) ++unchanged;
          else changed.push_back((compress ? "deflated" : "stored") + std::string(" archive, byte ") + std::to_string(i) +
                                 " ^ " + std::to_string(mask));
        } catch (const Error& e) {
          ++refused;
          CHECK(std::string(e.what()).rfind("fuzz.npz: ", 0) == 0);
        }
      }
  }
  WARN(truncations << " truncations refused; of the flipped bytes " << refused << " refused, " << unchanged
                   << " accepted with the original tensors, " << changed.size() << " accepted with other tensors");
  for (const std::string& c : changed) FAIL_CHECK("accepted, but decodes to other tensors: " << c);
  CHECK(refused > 0);
}

// A bare .npy has no checksum, and numpy reads its data from the header's end, ignoring what follows
// the array. So besides the data bytes (any value is a value) these header bytes can change and
// still give a valid, different array: the byte-order and kind characters of the dtype ('<' for
// '>', 'f'/'i'/'u' for 'c': the same item size), the shape's digits (a smaller shape reads a
// prefix of the data) and the header length (the data starts elsewhere; the dict still parses).
TEST_CASE("every single-byte corruption of an .npy is an Error, the original array, or a change the format cannot see", "[io][npy][malformed]") {
  const std::string dict = "{'descr': '>c8', 'fortran_order': True, 'shape': (2, 3), }";
  std::string data;
  for (int i = 0; i < 48; ++i) data += static_cast<char>(0x11 + i);
  const std::string good = npy_with_dict(dict, data);
  const std::size_t data_start = good.size() - data.size();
  const Tensor original = parse_npy(good.data(), good.size(), "ok.npy");
  REQUIRE(original.shape() == Shape{2, 3});
  REQUIRE(original.dtype() == DType::complex64);
  const std::size_t order_at = good.find(">c8"), kind_at = order_at + 1, rows_at = good.find("(2, 3)") + 1,
                    columns_at = rows_at + 3, header_length_at = 8;
  int refused = 0, unchanged = 0, data_changes = 0, header_changes = 0;
  for (std::size_t i = 0; i < good.size(); ++i)
    for (int v = 0; v < 256; v += 7) {
      std::string bad = good;
      bad[i] = static_cast<char>(v);
      Tensor got;
      try {
        got = parse_npy(bad.data(), bad.size(), "fuzz.npy");
      } catch (const Error& e) {
        ++refused;
        CHECK(std::string(e.what()).rfind("fuzz.npy: ", 0) == 0);
        continue;
      }
      INFO("byte " << i << " = " << v);
      if (bad == good || got.bitwise_equal(original)) {
        ++unchanged;
      } else if (i >= data_start) {
        // A data byte: the same dtype and shape, and only the element holding that byte differs.
        ++data_changes;
        REQUIRE(got.dtype() == original.dtype());
        REQUIRE(got.shape() == original.shape());
        std::size_t fortran_index = (i - data_start) / 8, c_index = (fortran_index % 2) * 3 + fortran_index / 2;
        const auto* g = static_cast<const unsigned char*>(got.data());
        const auto* o = static_cast<const unsigned char*>(original.data());
        for (std::size_t e = 0; e < 6; ++e)
          CHECK((std::memcmp(g + 8 * e, o + 8 * e, 8) == 0) == (e != c_index));
      } else {
        ++header_changes;
        if (i == order_at) {
          CHECK(got.dtype() == original.dtype());
          CHECK(got.shape() == original.shape());
        } else if (i == kind_at) {
          CHECK(dtype_size(got.dtype()) == 8);
          CHECK(got.shape() == original.shape());
        } else if (i == rows_at || i == columns_at) {
          CHECK(got.dtype() == original.dtype());
          CHECK(got.numel() < original.numel());
        } else if (i == header_length_at) {
          // The same array read from where the new length puts the data.
          std::size_t start = 10 + static_cast<unsigned char>(bad[8]) + 256 * static_cast<unsigned char>(bad[9]);
          REQUIRE(start + data.size() <= bad.size());
          std::string shifted = npy_with_dict(dict, bad.substr(start, data.size()));
          CHECK(got.bitwise_equal(parse_npy(shifted.data(), shifted.size(), "shifted.npy")));
        } else {
          FAIL_CHECK("accepted with another array, at a header byte the format covers");
        }
      }
    }
  int truncations = 0;
  for (std::size_t len = 0; len < good.size(); ++len, ++truncations)
    CHECK(error_of([&] { parse_npy(good.data(), len, "fuzz.npy"); }).rfind("fuzz.npy: ", 0) == 0);
  WARN(refused << " corruptions refused, " << unchanged << " decode to the original array, " << data_changes
               << " change one element's value, " << header_changes
               << " change the byte order, dtype kind, shape or data start; "
               << truncations << " truncations refused");
  CHECK(refused > 0);
  CHECK(data_changes > 0);
}
