// Our writer against the real numpy.load, and numpy's zip64 archives against our reader.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>

#include "io/npy.h"
#include "io/npz.h"
#include "io_test_util.h"

using namespace mithril;
using namespace mithril::test;

namespace {

// Deterministic pseudo-random bytes (bool gets 0/1, the only values numpy bools hold).
Tensor random_tensor(DType dtype, Shape shape, uint64_t seed) {
  Tensor t(dtype, std::move(shape));
  auto* p = static_cast<unsigned char*>(t.mutable_data());
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (std::size_t i = 0; i < t.nbytes(); ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = dtype == DType::bool_ ? static_cast<unsigned char>(x & 1) : static_cast<unsigned char>(x >> 24);
  }
  return t;
}

std::string manifest_line(const std::string& file, const std::string& key, const Tensor& t) {
  std::string hex = t.nbytes() ? to_hex(t.data(), t.nbytes()) : "-";
  return file + " " + key + " " + std::string(dtype_name(t.dtype())) + " " + manifest_shape_text(t.shape()) + " " + hex + "\n";
}

NamedTensors every_dtype_tensors() {
  NamedTensors tensors;
  uint64_t seed = 1;
  const Shape shapes[] = {{2, 3, 4}, {}, {0, 5}, {7}};
  for (int d = 0; d < kDTypeCount; ++d) {
    DType dtype = static_cast<DType>(d);
    if (dtype == DType::bfloat16) continue;
    for (const Shape& shape : shapes) {
      std::string name = "layer." + std::string(dtype_name(dtype)) + ".s" + std::to_string(shape.size()) +
                         (shape.size() == 2 ? "e" : "");
      tensors.emplace_back(name, random_tensor(dtype, shape, seed++));
    }
  }
  return tensors;
}

// Loads our files with numpy and prints them in manifest form; also checks that every .npy is
// byte-identical with numpy.save, that stored members are 64-byte aligned and CRCs are right.
const char* kNumpyCheckScript = R"PY(
import io, os, struct, sys, zipfile
import numpy as np
d = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
lines = []
def rec(f, k, a):
    native = np.ascontiguousarray(a.astype(a.dtype.newbyteorder('<')))
    shape = ','.join(str(x) for x in a.shape) if a.ndim else '-'
    lines.append(f"{f} {k} {a.dtype.name} {shape} {native.tobytes().hex() or '-'}")
for f in ['stored.npz', 'compressed.npz']:
    p = os.path.join(d, f)
    with np.load(p) as z:
        for k in z.files:
            rec(f, k, z[k])
    with zipfile.ZipFile(p) as zf:
        assert zf.testzip() is None, 'bad crc'
        for info in zf.infolist():
            assert info.compress_type == (0 if f == 'stored.npz' else 8), info.compress_type
            if f == 'stored.npz':
                with open(p, 'rb') as fh:
                    fh.seek(info.header_offset)
                    h = fh.read(30)
                    n, e = struct.unpack('<HH', h[26:30])
                    start = info.header_offset + 30 + n + e
                    fh.seek(start)
                    pre = fh.read(10)
                    assert pre[:6] == b'\x93NUMPY' and pre[6] == 1
                    hlen = struct.unpack('<H', pre[8:10])[0]
                    assert (start + 10 + hlen) % 64 == 0, ('unaligned', info.filename, start + 10 + hlen)
for f in sorted(os.listdir(d)):
    if f.endswith('.npy'):
        p = os.path.join(d, f)
        a = np.load(p)
        rec(f, '-', a)
        buf = io.BytesIO()
        np.save(buf, a)
        assert buf.getvalue() == open(p, 'rb').read(), 'not byte-identical with numpy.save: ' + f
print('\n'.join(lines))
print('OK')
)PY";

}  // namespace

TEST_CASE("numpy.load reads our .npz (stored and deflated) and .npy bit-exactly, for every dtype", "[io][npz][numpy]") {
  TempDir dir;
  NamedTensors tensors = every_dtype_tensors();
  write_npz(dir.file("stored.npz"), tensors);
  write_npz(dir.file("compressed.npz"), tensors, /*compress=*/true);
  std::string expected;
  for (const char* file : {"stored.npz", "compressed.npz"})
    for (const auto& [name, t] : tensors) expected += manifest_line(file, name, t);
  std::vector<std::string> npy_lines;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    char file[32];
    std::snprintf(file, sizeof file, "t%03zu.npy", i);
    write_npy(dir.file(file), tensors[i].second);
    npy_lines.push_back(manifest_line(file, "-", tensors[i].second));
  }
  for (const auto& line : npy_lines) expected += line;

  std::string out;
  int status = run_python(dir, std::string(kNumpyCheckScript), out);
  INFO(out.substr(0, 2000));
  REQUIRE(status == 0);
  REQUIRE(out.size() > 3);
  CHECK(out == expected + "OK\n");

  // And our own reader gets back exactly what we wrote.
  for (const char* file : {"stored.npz", "compressed.npz"}) {
    NamedTensors back = read_npz(dir.file(file));
    REQUIRE(back.size() == tensors.size());
    for (std::size_t i = 0; i < back.size(); ++i) {
      CHECK(back[i].first == tensors[i].first);
      CHECK(back[i].second.bitwise_equal(tensors[i].second));
    }
  }
}

TEST_CASE("writing is deterministic and refuses what numpy cannot hold", "[io][npz]") {
  TempDir dir;
  NamedTensors tensors = every_dtype_tensors();
  for (bool compress : {false, true}) {
    write_npz(dir.file("a.npz"), tensors, compress);
    write_npz(dir.file("b.npz"), tensors, compress);
    CHECK(slurp(dir.file("a.npz")) == slurp(dir.file("b.npz")));
  }
  CHECK(serialize_npy(tensors[0].second) == serialize_npy(tensors[0].second));

  ErrorKind kind{};
  NamedTensors bf16 = {{"ok", Tensor(DType::float32, {2})}, {"hidden.weight", Tensor(DType::bfloat16, {2})}};
  std::string message = error_of([&] { write_npz(dir.file("bf.npz"), bf16); }, &kind);
  CHECK(kind == ErrorKind::unsupported);
  CHECK_THAT(message, Catch::Contains("bf.npz: tensor 'hidden.weight': dtype bfloat16 has no numpy equivalent"));
  CHECK_FALSE(std::filesystem::exists(dir.file("bf.npz")));
  CHECK_THAT(error_of([&] { write_npy(dir.file("bf.npy"), Tensor(DType::bfloat16, {2})); }),
             Catch::Contains("bf.npy: dtype bfloat16 has no numpy equivalent"));

  struct BadName {
    std::string name, fragment;
  };
  for (const BadName& b : {BadName{"", "empty tensor name"}, BadName{"/etc/passwd", "absolute member path"},
                           BadName{"../up", "contains '..'"}, BadName{"a/../../b", "contains '..'"},
                           BadName{"dup", "duplicate tensor name 'dup'"}}) {
    NamedTensors named = {{"dup", Tensor(DType::float32, {1})}, {b.name, Tensor(DType::float32, {1})}};
    std::string m = error_of([&] { write_npz(dir.file("names.npz"), named); }, &kind);
    INFO(b.name);
    CHECK_THAT(m, Catch::Contains(b.fragment));
    CHECK(kind == ErrorKind::invalid_argument);
  }
}

TEST_CASE("zip64: numpy's archive with 70000 members reads, and numpy reads ours", "[io][npz][zip64][numpy]") {
  TempDir dir;
  constexpr int kMembers = 70000;  // > 65535: needs the zip64 end records
  std::string out;
  std::string make = "import numpy as np\nnp.savez(r'" + dir.file("numpy64.npz") +
                     "', **{f'a{i}': np.array([i, -i], dtype='<i4') for i in range(" + std::to_string(kMembers) + ")})\n";
  REQUIRE(run_python(dir, make, out) == 0);

  auto start = std::chrono::steady_clock::now();
  NamedTensors tensors = read_npz(dir.file("numpy64.npz"));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  WARN("read " << kMembers << " numpy members in " << seconds << " s");
  REQUIRE(tensors.size() == kMembers);
  bool all_right = true;
  for (int i = 0; i < kMembers; ++i) {
    const Tensor& t = tensors[static_cast<std::size_t>(i)].second;
    std::string expected_name = std::to_string(i).insert(0, 1, 'a');
    all_right = all_right && tensors[static_cast<std::size_t>(i)].first == expected_name &&
                t.dtype() == DType::int32 && t.shape() == Shape{2} && t.data_as<int32_t>()[0] == i && t.data_as<int32_t>()[1] == -i;
  }
  CHECK(all_right);

  // Ours, read back by numpy (zipfile + read_array: NpzFile's per-key lookup is quadratic).
  write_npz(dir.file("ours64.npz"), tensors);
  std::string bytes = slurp(dir.file("ours64.npz"));
  CHECK(bytes.find(std::string("PK\x06\x06", 4)) != std::string::npos);
  CHECK(bytes.find(std::string("PK\x06\x07", 4)) != std::string::npos);
  std::string check = "import io, struct, zipfile, numpy as np\np = r'" + dir.file("ours64.npz") + "'\n" +
                      "z = np.load(p)\nassert len(z.files) == " + std::to_string(kMembers) + "\n"
                      "assert z['a69999'].tolist() == [69999, -69999]\n"
                      "zf = zipfile.ZipFile(p)\ntotal = 0\n"
                      "for i, info in enumerate(zf.infolist()):\n"
                      "    assert info.filename == f'a{i}.npy'\n"
                      "    raw = zf.read(info)  # checks the CRC\n"
                      "    assert raw[-8:] == struct.pack('<ii', i, -i), i\n"
                      "    if i % 997 == 0:\n"
                      "        assert np.lib.format.read_array(io.BytesIO(raw)).tolist() == [i, -i], i\n"
                      "    total += 1\n"
                      "print(total)\n";
  REQUIRE(run_python(dir, check, out) == 0);
  CHECK(out == std::to_string(kMembers) + "\n");
}

TEST_CASE("zip64 extra fields in the central directory (sizes and offset saturated) are honoured", "[io][npz][zip64][numpy]") {
  // Hand-made: one stored member whose central entry keeps its sizes and offset only in a zip64
  // extra field, as writers do above 4 GiB. numpy must accept the file too.
  Tensor t = random_tensor(DType::float64, {3, 2}, 7);
  std::string member = serialize_npy(t);
  uint32_t crc = 0;
  {
    TempDir tmp;  // CRC via our own writer: write once, read the CRC from its central directory
    NamedTensors one = {{"w", t}};
    write_npz(tmp.file("x.npz"), one);
    std::string x = slurp(tmp.file("x.npz"));
    std::size_t cd = x.find(std::string("PK\x01\x02", 4));
    std::memcpy(&crc, x.data() + cd + 16, 4);
  }
  auto le = [](uint64_t v, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
    return s;
  };
  const std::string name = "w.npy";
  std::string zip = std::string("PK\x03\x04", 4) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0x21, 2) + le(crc, 4) +
                    le(member.size(), 4) + le(member.size(), 4) + le(name.size(), 2) + le(0, 2) + name + member;
  std::string extra = le(1, 2) + le(24, 2) + le(member.size(), 8) + le(member.size(), 8) + le(0, 8);
  std::string central = std::string("PK\x01\x02", 4) + le(45, 2) + le(45, 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0x21, 2) +
                        le(crc, 4) + le(0xFFFFFFFF, 4) + le(0xFFFFFFFF, 4) + le(name.size(), 2) + le(extra.size(), 2) +
                        le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(0xFFFFFFFF, 4) + name + extra;
  std::string end = std::string("PK\x05\x06", 4) + le(0, 2) + le(0, 2) + le(1, 2) + le(1, 2) + le(central.size(), 4) +
                    le(zip.size(), 4) + le(0, 2);
  zip += central + end;
  TempDir dir;
  spit(dir.file("z64extra.npz"), zip);
  NamedTensors back = read_npz(dir.file("z64extra.npz"));
  REQUIRE(back.size() == 1);
  CHECK(back[0].first == "w");
  CHECK(back[0].second.bitwise_equal(t));
  std::string out;
  REQUIRE(run_python(dir, "import numpy as np\nz = np.load(r'" + dir.file("z64extra.npz") + "')\nprint(z['w'].shape)\n", out) == 0);
  CHECK(out == "(3, 2)\n");
}
