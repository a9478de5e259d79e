#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <set>

#include "core/error.h"
#include "io/mbin.h"
#include "io/mbin_test_util.h"

using namespace mithril;
using namespace mbintest;

namespace {

// Structure/metadata are opaque bytes: include NUL, non-ASCII and invalid UTF-8 to prove it.
constexpr char kStructureBytes[] = "{\"nodes\":[{\"op\":\"gemm\",\"name\":\"l\xC3\xA9yer\"}]}\0tail\xFF";
const std::string kStructure(kStructureBytes, sizeof kStructureBytes - 1);
const std::string kMetadata = "{\"producer\":\"mithril-test\",\"version\":\"0.1\"}";

void check_view(const MbinFile& f, const MbinTensorInfo& info, const Tensor& expected) {
  Tensor v = f.view(info.name);
  REQUIRE(v.is_borrowed());
  REQUIRE(v.bitwise_equal(expected));
  auto p = reinterpret_cast<std::uintptr_t>(v.data());
  auto base = reinterpret_cast<std::uintptr_t>(f.mapped_data());
  REQUIRE(p == base + info.offset);  // points into the mapping
  REQUIRE(p % f.alignment() == 0);
  REQUIRE(info.offset + info.nbytes <= f.index_offset());
}

}  // namespace

TEST_CASE("mbin dtype codes are stable and cover every dtype", "[mbin]") {
  std::set<uint16_t> seen;
  for (int i = 0; i < kDTypeCount; ++i) {
    auto d = static_cast<DType>(i);
    uint16_t code = mbin_dtype_code(d);
    REQUIRE(code != 0);
    REQUIRE(seen.insert(code).second);
    DType back;
    REQUIRE(mbin_dtype_from_code(code, &back));
    REQUIRE(back == d);
  }
  // The table of the spec (schemas/mbin-1.0.md §4): never renumber.
  REQUIRE(mbin_dtype_code(DType::bool_) == 1);
  REQUIRE(mbin_dtype_code(DType::float32) == 12);
  REQUIRE(mbin_dtype_code(DType::bfloat16) == 11);
  REQUIRE(mbin_dtype_code(DType::complex128) == 15);
  DType out;
  REQUIRE_FALSE(mbin_dtype_from_code(0, &out));
  REQUIRE_FALSE(mbin_dtype_from_code(16, &out));
}

TEST_CASE("mbin round trip: every dtype and odd shapes", "[mbin]") {
  TempDir dir;
  std::vector<std::pair<std::string, Tensor>> tensors;
  unsigned seed = 0;
  for (int i = 0; i < kDTypeCount; ++i) {
    auto d = static_cast<DType>(i);
    std::string n(dtype_name(d));
    tensors.emplace_back("t." + n + ".matrix", pattern_tensor(d, {3, 5}, ++seed));
    tensors.emplace_back("t." + n + ".scalar", pattern_tensor(d, {}, ++seed));
    tensors.emplace_back("t." + n + ".empty", pattern_tensor(d, {0}, ++seed));
    tensors.emplace_back("t." + n + ".empty3", pattern_tensor(d, {2, 0, 3}, ++seed));
    tensors.emplace_back("t." + n + ".odd", pattern_tensor(d, {1, 7, 1, 3, 1}, ++seed));
  }
  tensors.emplace_back("ünïcödé/名前", pattern_tensor(DType::float32, {2}, 99));
  tensors.emplace_back("a", pattern_tensor(DType::uint8, {1}, 98));  // 1 byte, sorts first
  std::string path = dir.file("model.mbin");
  write_mbin(path, kStructure, kMetadata, tensors);

  auto f = MbinFile::open(path, {.verify = true});
  REQUIRE(f->structure_json() == kStructure);
  REQUIRE(f->metadata_json() == kMetadata);
  REQUIRE(f->version_major() == 1);
  REQUIRE(f->version_minor() == 0);
  REQUIRE(f->alignment() == 256);
  REQUIRE(f->file_size() == std::filesystem::file_size(path));
  REQUIRE(f->tensors().size() == tensors.size());
  for (std::size_t i = 1; i < f->tensors().size(); ++i) REQUIRE(f->tensors()[i - 1].name < f->tensors()[i].name);

  for (const auto& [name, expected] : tensors) {
    INFO(name);
    const MbinTensorInfo* info = f->find(name);
    REQUIRE(info != nullptr);
    REQUIRE(info->dtype == expected.dtype());
    REQUIRE(info->shape == expected.shape());
    REQUIRE(info->nbytes == expected.nbytes());
    check_view(*f, *info, expected);
    Tensor owned = f->load(name);
    REQUIRE_FALSE(owned.is_borrowed());
    REQUIRE(owned.bitwise_equal(expected));
    if (owned.nbytes()) REQUIRE(owned.data() != f->view(name).data());
    f->verify(name);
  }
  REQUIRE(f->find("nope") == nullptr);
  REQUIRE(f->find("") == nullptr);
  REQUIRE_THROWS_WITH(f->view("nope"), Catch::Contains("model.mbin: no tensor 'nope'"));

  auto all = f->load_all();
  REQUIRE(all.size() == tensors.size());
  REQUIRE(all[0].first == "a");
}

TEST_CASE("mbin views keep the mapping alive after the file object is gone", "[mbin]") {
  TempDir dir;
  std::string path = dir.file("m.mbin");
  Tensor t = pattern_tensor(DType::float64, {10, 10}, 3);
  write_mbin(path, "{}", "{}", {{"w", t}});
  Tensor view;
  {
    auto f = MbinFile::open(path);
    view = f->view("w");
  }
  std::filesystem::remove(path);  // the mapping survives unlinking too
  REQUIRE(view.bitwise_equal(t));
}

TEST_CASE("mbin round trip: one long tensor and 5000 tiny ones", "[mbin]") {
  TempDir dir;
  std::string path = dir.file("big.mbin");
  Tensor big = pattern_tensor(DType::float32, {10'000'000}, 7);
  std::vector<Tensor> tiny;
  {
    MbinWriter w(path, "{\"big\":true}", "{}");
    w.add("big", big);
    for (int i = 0; i < 5000; ++i) {
      tiny.push_back(pattern_tensor(i % 2 ? DType::int32 : DType::float16, {i % 5 + 1}, static_cast<unsigned>(i)));
      w.add("layer." + std::to_string(i) + ".bias", tiny.back());
    }
    w.finish();
  }
  auto t0 = std::chrono::steady_clock::now();
  auto f = MbinFile::open(path);
  auto t1 = std::chrono::steady_clock::now();
  REQUIRE(f->tensors().size() == 5001);
  check_view(*f, *f->find("big"), big);
  for (int i = 0; i < 5000; i += 37) {
    std::string name = "layer." + std::to_string(i) + ".bias";
    check_view(*f, *f->find(name), tiny[static_cast<std::size_t>(i)]);
  }
  f->verify();
  auto t2 = std::chrono::steady_clock::now();
  std::printf("[mbin] 40 MB + 5000 tensors: open %.3f ms, verify %.3f ms, file %llu bytes\n",
              std::chrono::duration<double, std::milli>(t1 - t0).count(),
              std::chrono::duration<double, std::milli>(t2 - t1).count(),
              static_cast<unsigned long long>(f->file_size()));
}

TEST_CASE("mbin output is deterministic and matches an independent builder", "[mbin]") {
  TempDir dir;
  auto content = std::vector<std::pair<std::string, Tensor>>{
      {"z", pattern_tensor(DType::float32, {4, 4}, 1)},
      {"b", pattern_tensor(DType::int64, {3}, 2)},
      {"m", pattern_tensor(DType::bfloat16, {}, 3)},
  };
  for (unsigned log2 : {6u, 8u, 12u}) {
    INFO("alignment 2^" << log2);
    write_mbin(dir.file("1.mbin"), kStructure, kMetadata, content, {.alignment_log2 = log2});
    write_mbin(dir.file("2.mbin"), kStructure, kMetadata, content, {.alignment_log2 = log2});
    REQUIRE(read_bytes(dir.file("1.mbin")) == read_bytes(dir.file("2.mbin")));
    REQUIRE(MbinFile::open(dir.file("1.mbin"))->alignment() == (uint64_t{1} << log2));
  }
  // Streaming pieces give the same bytes as whole tensors.
  {
    MbinWriter w(dir.file("3.mbin"), kStructure, kMetadata, {.alignment_log2 = 12});
    for (const auto& [name, t] : content) {
      w.begin(name, t.dtype(), t.shape());
      auto* p = static_cast<const char*>(t.data());
      for (std::size_t i = 0; i < t.nbytes(); i += 5) w.write(p + i, std::min<std::size_t>(5, t.nbytes() - i));
      w.end();
    }
    w.finish();
    REQUIRE(read_bytes(dir.file("3.mbin")) == read_bytes(dir.file("1.mbin")));
  }
  // The spec-based test builder produces the very same bytes (layout agreement).
  RawMbin raw;
  raw.structure = kStructure;
  raw.metadata = kMetadata;
  raw.align_log2 = 8;
  raw.add("z", {4, 4}, 12, 4);
  raw.add("b", {3}, 5, 8);
  raw.add("m", {}, 11, 2);
  raw.tensors[0].data.assign(static_cast<const char*>(content[0].second.data()), 64);
  raw.tensors[1].data.assign(static_cast<const char*>(content[1].second.data()), 24);
  raw.tensors[2].data.assign(static_cast<const char*>(content[2].second.data()), 2);
  std::swap(raw.tensors[0], raw.tensors[1]);  // records sorted by name: b, m, z
  std::swap(raw.tensors[1], raw.tensors[2]);
  write_mbin(dir.file("4.mbin"), kStructure, kMetadata, content);
  REQUIRE(raw.build() == read_bytes(dir.file("4.mbin")));
}

TEST_CASE("mbin writer refuses bad input and leaves nothing behind", "[mbin]") {
  TempDir dir;
  std::string path = dir.file("w.mbin");
  Tensor t = pattern_tensor(DType::float32, {2}, 1);
  {
    MbinWriter w(path, "{}", "{}");
    w.add("x", t);
    REQUIRE_THROWS_WITH(w.add("x", t), Catch::Contains("duplicate tensor name 'x'"));
    REQUIRE_THROWS_WITH(w.add("", t), Catch::Contains("empty tensor name"));
    REQUIRE_THROWS_WITH(w.add(std::string("a\0b", 3), t), Catch::Contains("not valid UTF-8"));
    REQUIRE_THROWS_WITH(w.add("\xC0\x80", t), Catch::Contains("not valid UTF-8"));
    REQUIRE_THROWS_WITH(w.add(std::string(5000, 'n'), t), Catch::Contains("5000 bytes"));
    w.begin("y", DType::int8, {3});
    REQUIRE_THROWS_WITH(w.write("abcd", 4), Catch::Contains("only 3 left"));
    w.write("ab", 2);
    REQUIRE_THROWS_WITH(w.end(), Catch::Contains("1 bytes missing"));
    REQUIRE_THROWS_WITH(w.finish(), Catch::Contains("while tensor 'y' is open"));
    // destroyed without finish(): no file
  }
  REQUIRE_FALSE(std::filesystem::exists(path));
  for (const auto& e : std::filesystem::directory_iterator(dir.path)) FAIL("left behind: " << e.path());
  REQUIRE_THROWS_WITH(MbinWriter(path, "{}", "{}", {.alignment_log2 = 5}), Catch::Contains("out of range"));
  REQUIRE_THROWS_WITH(MbinWriter("-", "{}", "{}"), Catch::Contains("seekable"));
  REQUIRE_THROWS_WITH(MbinWriter(dir.file("no/such/dir/x.mbin"), "{}", "{}"), Catch::Contains("x.mbin"));
}

TEST_CASE("looks_like_mbin", "[mbin]") {
  const unsigned char good[8] = {0x89, 'M', 'B', 'I', 'N', 0x0D, 0x0A, 0x1A};
  REQUIRE(looks_like_mbin(good, 8));
  REQUIRE_FALSE(looks_like_mbin(good, 7));
  REQUIRE_FALSE(looks_like_mbin("\x93NUMPY\x01\x00", 8));
  REQUIRE_FALSE(looks_like_mbin(nullptr, 0));
}
