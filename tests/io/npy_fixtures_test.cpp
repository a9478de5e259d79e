// Reads every file testdata/npy/make_fixtures.py wrote with the real numpy and checks dtype, shape
// and bytes against expected.txt.
#include <catch2/catch.hpp>

#include <map>

#include "io/npy.h"
#include "io/npz.h"
#include "io/zip.h"
#include "io_test_util.h"

using namespace mithril;
using namespace mithril::test;

namespace {

struct Expected {
  std::string file, key, dtype, shape, hex;
};

std::vector<Expected> load_expected() {
  std::ifstream in(std::string(MITHRIL_TESTDATA) + "/npy/expected.txt");
  std::vector<Expected> out;
  Expected e;
  while (in >> e.file >> e.key >> e.dtype >> e.shape >> e.hex) out.push_back(e);
  return out;
}

void check(const Expected& e, const Tensor& t) {
  INFO(e.file << " " << e.key);
  CHECK(dtype_name(t.dtype()) == e.dtype);
  CHECK(manifest_shape_text(t.shape()) == e.shape);
  std::string hex = t.nbytes() ? to_hex(t.data(), t.nbytes()) : "-";
  CHECK(hex == e.hex);
  CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % kTensorAlignment == 0);
}

}  // namespace

TEST_CASE("numpy .npy and .npz fixtures read with the right dtype, shape and bytes", "[io][npy]") {
  const std::string dir = std::string(MITHRIL_TESTDATA) + "/npy/";
  std::vector<Expected> expected = load_expected();
  REQUIRE(expected.size() > 70);
  std::map<std::string, NamedTensors> archives;
  std::map<std::string, std::size_t> members_expected;
  int npy_files = 0;
  for (const Expected& e : expected) {
    if (e.key == "-") {
      check(e, read_npy(dir + e.file));
      std::string bytes = slurp(dir + e.file);
      REQUIRE(looks_like_npy(bytes.data(), bytes.size()));
      check(e, parse_npy(bytes.data(), bytes.size(), e.file));
      ++npy_files;
      continue;
    }
    if (!archives.count(e.file)) archives[e.file] = read_npz(dir + e.file);
    ++members_expected[e.file];
    const NamedTensors& tensors = archives[e.file];
    auto it = std::find_if(tensors.begin(), tensors.end(), [&](const auto& nt) { return nt.first == e.key; });
    REQUIRE(it != tensors.end());
    check(e, it->second);
  }
  CHECK(npy_files >= 60);
  for (const auto& [file, count] : members_expected) CHECK(archives[file].size() == count);
  // Archive order is kept: numpy.savez writes keyword arrays first, then positional ones.
  CHECK(archives["savez.npz"].front().first == "hidden.weight");
  CHECK(archives["savez.npz"][1].first == "hidden.bias");
  CHECK(archives["savez.npz"].back().first == "arr_0");
}

TEST_CASE("numpy fixtures: header versions and the empty archive", "[io][npy]") {
  const std::string dir = std::string(MITHRIL_TESTDATA) + "/npy/";
  std::string v2 = slurp(dir + "version_2_0.npy");
  std::string v3 = slurp(dir + "version_3_0.npy");
  CHECK(parse_npy_header(v2.data(), v2.size(), "v2").version_major == 2);
  NpyHeader h3 = parse_npy_header(v3.data(), v3.size(), "v3");
  CHECK(h3.version_major == 3);
  CHECK(h3.fortran_order);
  CHECK(h3.byteswap);
  CHECK(read_npy(dir + "version_1_0.npy").bitwise_equal(read_npy(dir + "version_3_0.npy")));
  CHECK(read_npz(dir + "empty.npz").empty());
  std::string zip = slurp(dir + "savez.npz");
  CHECK(looks_like_npz(zip.data(), zip.size()));
  CHECK_FALSE(looks_like_npz(v2.data(), v2.size()));
  CHECK_FALSE(looks_like_npy(zip.data(), zip.size()));
}

TEST_CASE("valid numpy files with dtypes we do not support are refused clearly", "[io][npy]") {
  const std::string dir = std::string(MITHRIL_TESTDATA) + "/npy/bad/";
  struct Case {
    const char* file;
    const char* fragment;
  };
  const Case cases[] = {
      {"object.npy", "dtype '|O' is not supported (object arrays are pickled)"},
      {"longdouble.npy", "dtype '<f16' is not supported (long double)"},
      {"clongdouble.npy", "dtype '<c32' is not supported (complex long double)"},
      {"unicode.npy", "dtype '<U2' is not supported (string arrays)"},
      {"bytes.npy", "dtype '|S2' is not supported (string arrays)"},
      {"structured.npy", "structured dtypes are not supported"},
      {"datetime.npy", "dtype '<M8[D]' is not supported (datetime arrays)"},
      {"void.npy", "dtype '|V4' is not supported (void/raw bytes)"},
      {"object.npz", "object.npz: member 'obj.npy': dtype '|O' is not supported"},
  };
  for (const Case& c : cases) {
    INFO(c.file);
    ErrorKind kind = ErrorKind::io;
    std::string path = dir + c.file;
    std::string message = error_of(
        [&] {
          if (std::string(c.file).ends_with(".npz")) read_npz(path);
          else read_npy(path);
        },
        &kind);
    CHECK_THAT(message, Catch::Contains(c.fragment));
    CHECK_THAT(message, Catch::Contains(c.file));
    CHECK(kind == ErrorKind::unsupported);
  }
}
