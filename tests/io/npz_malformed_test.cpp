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

TEST_CASE("every single-byte corruption and truncation of an archive is an Error, never a crash", "[io][npz][malformed]") {
  int errors = 0, accepted = 0;
  for (bool compress : {false, true}) {
    const std::string good = good_npz(compress);
    auto attempt = [&](const std::string& bytes) {
      try {
        parse_npz(bytes.data(), bytes.size(), "fuzz.npz");
        ++accepted;
      } catch (const Error& e) {
        ++errors;
        REQUIRE(std::string(e.what()).rfind("fuzz.npz: ", 0) == 0);
      }
    };
    for (std::size_t len = 0; len < good.size(); ++len) attempt(good.substr(0, len));
    for (std::size_t i = 0; i < good.size(); ++i)
      for (unsigned char v : {0x00, 0xFF, 0x80}) {
        std::string bad = good;
        bad[i] = static_cast<char>(static_cast<unsigned char>(bad[i]) ^ v ? v : 0x01);
        attempt(bad);
      }
  }
  WARN(errors << " corrupt variants refused, " << accepted << " accepted (corruption in padding, timestamps, ...)");
  CHECK(errors > 1000);
}

TEST_CASE("every single-byte corruption of an .npy is an Error or a valid array", "[io][npy][malformed]") {
  std::string good = npy_with_dict("{'descr': '>c8', 'fortran_order': True, 'shape': (2, 3), }", std::string(48, '\x11'));
  REQUIRE(parse_npy(good.data(), good.size(), "ok.npy").shape() == Shape{2, 3});
  for (std::size_t i = 0; i < good.size(); ++i)
    for (int v = 0; v < 256; v += 7) {
      std::string bad = good;
      bad[i] = static_cast<char>(v);
      try {
        parse_npy(bad.data(), bad.size(), "fuzz.npy");
      } catch (const Error& e) {
        REQUIRE(std::string(e.what()).rfind("fuzz.npy: ", 0) == 0);
      }
    }
  for (std::size_t len = 0; len < good.size(); ++len) {
    try {
      parse_npy(good.data(), len, "fuzz.npy");
    } catch (const Error&) {
    }
  }
}
