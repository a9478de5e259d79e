#include <catch2/catch.hpp>

#include <functional>

#include "core/error.h"
#include "io/mbin.h"
#include "io/alloc_probe.h"
#include "io/mbin_test_util.h"

using namespace mithril;
using namespace mbintest;

namespace {

// Opens and verifies; returns the error message, or "" if both succeeded.
std::string open_and_verify(const std::string& path, ErrorKind* kind = nullptr, bool* at_open = nullptr) {
  std::shared_ptr<const MbinFile> f;
  try {
    f = MbinFile::open(path);
  } catch (const Error& e) {
    if (kind) *kind = e.kind();
    if (at_open) *at_open = true;
    return e.what();
  }
  try {
    f->verify();
  } catch (const Error& e) {
    if (kind) *kind = e.kind();
    if (at_open) *at_open = false;
    return e.what();
  }
  return {};
}

// A small valid model: three tensors, 64-byte alignment so the file stays small.
std::string small_model(const TempDir& dir) {
  std::string path = dir.file("small.mbin");
  write_mbin(path, "{\"graph\":[1,2,3]}", "{\"producer\":\"t\"}",
             {{"hidden.weight", pattern_tensor(DType::float32, {3, 5}, 1)},
              {"hidden.bias", pattern_tensor(DType::float32, {5}, 2)},
              {"scale", pattern_tensor(DType::float16, {}, 3)},
              {"empty", pattern_tensor(DType::int8, {0, 4}, 4)}},
             {.alignment_log2 = 6});
  return path;
}

}  // namespace

TEST_CASE("mbin: every single flipped byte is detected by open or verify", "[mbin][corruption]") {
  TempDir dir;
  const std::string good = read_bytes(small_model(dir));
  REQUIRE(open_and_verify(dir.file("small.mbin")).empty());
  const std::string path = dir.file("flipped.mbin");
  std::size_t at_open = 0, at_verify = 0;
  for (unsigned char mask : {0x01, 0x80, 0xFF}) {
    for (std::size_t i = 0; i < good.size(); ++i) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      write_bytes(path, bad);
      bool opened_failed = false;
      std::string msg = open_and_verify(path, nullptr, &opened_failed);
      INFO("byte " << i << " of " << good.size() << " xor " << int(mask));
      REQUIRE_FALSE(msg.empty());
      REQUIRE(msg.rfind(path + ": ", 0) == 0);  // names the file
      (opened_failed ? at_open : at_verify)++;
    }
  }
  // Data bytes are caught by verify and name the tensor.
  auto f = MbinFile::open(dir.file("small.mbin"));
  const MbinTensorInfo* w = f->find("hidden.weight");
  std::string bad = good;
  bad[w->offset + 7] ^= 0x10;
  write_bytes(path, bad);
  REQUIRE(open_and_verify(path) == path + ": tensor 'hidden.weight': checksum mismatch (data corrupted)");
  REQUIRE_THROWS_WITH(MbinFile::open(path, {.verify = true}), Catch::Contains("tensor 'hidden.weight': checksum"));
  REQUIRE_NOTHROW(MbinFile::open(path)->verify("hidden.bias"));
  WARN("flipped " << good.size() << " bytes x3 masks: " << at_open << " caught at open, " << at_verify << " at verify");
}

TEST_CASE("mbin: view and load check each tensor's checksum before handing it out", "[mbin][corruption]") {
  TempDir dir;
  const std::string good = read_bytes(small_model(dir));
  auto intact = MbinFile::open(dir.file("small.mbin"));
  const MbinTensorInfo* w = intact->find("hidden.weight");
  std::string bad = good;
  bad[w->offset + w->nbytes - 1] ^= 0x01;  // the last byte: a check that stops early misses it
  const std::string path = dir.file("flipped.mbin");
  write_bytes(path, bad);
  const std::string expected = path + ": tensor 'hidden.weight': checksum mismatch (data corrupted)";

  // open stays O(index): the corrupted data is not read.
  auto f = MbinFile::open(path);
  REQUIRE(f->checks_tensors());
  REQUIRE_THROWS_WITH(f->view("hidden.weight"), expected);
  REQUIRE_THROWS_WITH(f->load("hidden.weight"), expected);
  REQUIRE_THROWS_WITH(f->load_all(), expected);
  // A failed check is not remembered as a pass.
  REQUIRE_THROWS_WITH(f->view(*f->find("hidden.weight")), expected);
  // The other tensors are intact and usable.
  REQUIRE(f->view("hidden.bias").bitwise_equal(intact->view("hidden.bias")));
  REQUIRE(f->load("scale").bitwise_equal(intact->view("scale")));
  REQUIRE(f->view("empty").numel() == 0);
  // A copy of a record is looked up by name: it cannot skip the check or point at other bytes.
  MbinTensorInfo copy = *f->find("hidden.weight");
  REQUIRE_THROWS_WITH(f->view(copy), expected);
  copy.offset = f->find("hidden.bias")->offset;
  REQUIRE_THROWS_WITH(f->view(copy), Catch::Contains("record does not belong to this file"));

  // The explicit opt-out hands out the bytes as they are.
  auto raw = MbinFile::open(path, {.check_tensors = false});
  REQUIRE_FALSE(raw->checks_tensors());
  Tensor v = raw->view("hidden.weight");
  REQUIRE(static_cast<const unsigned char*>(v.data())[w->nbytes - 1] ==
          static_cast<unsigned char>(bad[w->offset + w->nbytes - 1]));
  REQUIRE_NOTHROW(raw->load_all());
  // ... but an explicit verify still checks.
  REQUIRE_THROWS_WITH(raw->verify("hidden.weight"), expected);

  // Intact: view and load (hashed while copying) agree with each other, repeatedly (checked once).
  for (int round = 0; round < 2; ++round)
    for (const auto& t : intact->tensors()) REQUIRE(intact->load(t).bitwise_equal(intact->view(t)));
}

TEST_CASE("mbin: a tensor larger than the copy-and-hash chunk is checked as a whole", "[mbin][corruption]") {
  TempDir dir;
  const std::string path = dir.file("big.mbin");
  write_mbin(path, "{}", "{}", {{"big", pattern_tensor(DType::float32, {3, 100000}, 9)}});  // 1.2 MB: many chunks
  std::string bytes = read_bytes(path);
  auto f = MbinFile::open(path);
  const MbinTensorInfo& t = *f->find("big");
  REQUIRE(f->load("big").bitwise_equal(f->view("big")));
  for (uint64_t at : {t.offset, t.offset + (uint64_t{1} << 17), t.offset + t.nbytes - 1}) {
    std::string bad = bytes;
    bad[at] ^= 0x40;
    write_bytes(dir.file("bad.mbin"), bad);
    INFO("flipped byte " << at - t.offset << " of the tensor");
    REQUIRE_THROWS_WITH(MbinFile::open(dir.file("bad.mbin"))->load("big"), Catch::Contains("tensor 'big': checksum mismatch"));
  }
}

TEST_CASE("mbin: truncation at every length fails at open", "[mbin][corruption]") {
  TempDir dir;
  const std::string good = read_bytes(small_model(dir));
  const std::string path = dir.file("cut.mbin");
  for (std::size_t n = 0; n < good.size(); ++n) {
    write_bytes(path, good.substr(0, n));
    INFO("length " << n);
    REQUIRE_THROWS_AS(MbinFile::open(path), Error);
  }
  write_bytes(path, good.substr(0, good.size() - 1));
  REQUIRE_THROWS_WITH(MbinFile::open(path), Catch::Contains("truncated: header says"));
  write_bytes(path, good + "x");
  REQUIRE_THROWS_WITH(MbinFile::open(path), Catch::Contains("trailing bytes"));
  REQUIRE_THROWS_WITH(MbinFile::open(dir.file("missing.mbin")), Catch::Contains("missing.mbin: cannot open"));
  REQUIRE_THROWS_WITH(MbinFile::open(dir.path.string()), Catch::Contains("is a directory"));
}

TEST_CASE("mbin: crafted malformed files are refused with a precise message", "[mbin][crafted]") {
  // Base: a valid file from the spec-based builder (records sorted: a, b, c).
  auto base = [] {
    RawMbin r;
    r.add("a", {4, 4});
    r.add("b", {3}, 5, 8);  // int64
    r.add("c", {2});
    return r;
  };
  struct Case {
    const char* what;
    std::function<void(RawMbin&)> mutate;
    const char* fragment;  // expected in the message ("" = must open and verify)
    ErrorKind kind = ErrorKind::format;
    bool at_verify = false;
  };
  const uint64_t huge = uint64_t{1} << 60;
  std::vector<Case> cases = {
      {"valid base", [](RawMbin&) {}, ""},
      {"bad magic", [](RawMbin& r) { r.pokes.push_back({1, 'X'}); }, "not an .mbin file (bad magic)"},
      {"future major version", [](RawMbin& r) { r.major = 2; r.minor = 3; },
       ".mbin format version 2.3 is not supported (this reader reads 1.x, up to 1.0)", ErrorKind::unsupported},
      {"major version 0", [](RawMbin& r) { r.major = 0; }, "version 0.0 is not supported", ErrorKind::unsupported},
      {"unknown required feature bit", [](RawMbin& r) { r.required = 0x4; },
       "unknown required feature bits 0x4 (file version 1.0, this reader supports 1.0)", ErrorKind::unsupported},
      {"newer minor, unknown optional bit, bigger header and records -> opens",
       [](RawMbin& r) {
         r.minor = 9;
         r.optional_bits = 0x80000001;
         r.header_size = 96;
         r.record_size = 80;
       },
       ""},
      {"big-endian byte-order mark", [](RawMbin& r) { r.bom = 0x04030201; }, "big-endian (byte-swapped) file"},
      {"garbage byte-order mark", [](RawMbin& r) { r.bom = 7; }, "bad byte-order mark 0x7"},
      {"preamble checksum", [](RawMbin& r) { r.seal = false; r.pokes.push_back({9, 1}); }, "preamble checksum mismatch"},
      {"unknown hash id", [](RawMbin& r) { r.hash_id = 2; }, "unknown hash id 2", ErrorKind::unsupported},
      {"alignment too small", [](RawMbin& r) { r.align_log2 = 3; }, "alignment 2^3 out of range"},
      {"reserved preamble field", [](RawMbin& r) { r.reserved = 1; }, "non-zero reserved preamble field"},
      {"file size larger than the file", [](RawMbin& r) { r.file_size = 100000; }, "truncated: header says 100000 bytes"},
      {"index size claiming 2^60", [&](RawMbin& r) { r.index_size = huge; }, "index size 1152921504606846976 exceeds the cap"},
      {"index past the end", [](RawMbin& r) { r.index_size = 1 << 20; }, "does not end the"},
      {"index offset misaligned", [](RawMbin& r) { r.index_offset = 65; }, "does not end the"},
      {"index checksum", [](RawMbin& r) { r.seal_index = false; }, "index checksum mismatch (found 0x0, computed"},
      {"tensor count 2^60", [&](RawMbin& r) { r.count = huge; }, "tensor count 1152921504606846976 exceeds the cap"},
      {"tensor count past the index", [](RawMbin& r) { r.count = 1000; }, "index declares 1000 tensor records of 48 bytes"},
      {"records offset past the index", [](RawMbin& r) { r.records_offset = 1 << 20; }, "index declares 3 tensor records"},
      {"index header size too small", [](RawMbin& r) { r.header_size = 32; }, "index header size 32 out of range"},
      {"record size too small", [](RawMbin& r) { r.record_size = 40; }, "tensor record size 40 out of range"},
      {"structure JSON outside the heap", [](RawMbin& r) { r.structure_size = 1 << 20; }, "structure JSON"},
      {"structure JSON inside the records", [](RawMbin& r) { r.structure_offset = 64; }, "structure JSON (offset 64"},
      {"overlapping tensors", [](RawMbin& r) { r.tensors[2].offset = r.tensors[1].offset; }, "tensors 'c' and 'b' overlap"},
      {"offset past end", [](RawMbin& r) { r.tensors[1].offset = uint64_t{1} << 40; },
       "tensor 'b': data [1099511627776, +24) lies outside the data region"},
      {"offset + nbytes wraps", [](RawMbin& r) {
         r.tensors[0].offset = uint64_t(-256);
       }, "tensor 'a': data [18446744073709551360"},
      {"offset inside the preamble", [](RawMbin& r) { r.tensors[0].offset = 0; }, "lies outside the data region [64,"},
      {"misaligned offset", [](RawMbin& r) { r.tensors[1].offset += 64; },
       "tensor 'b': data offset 576 is not a multiple of the alignment 256"},
      {"nbytes != numel * size", [](RawMbin& r) { r.tensors[0].nbytes = 60; },
       "tensor 'a': byte length 60 does not match float32[4,4] (expected 64)"},
      {"huge ndim", [](RawMbin& r) { r.tensors[0].ndim = 200; }, "tensor 'a': 200 dimensions (at most 64)"},
      {"dims outside the index", [](RawMbin& r) { r.tensors[0].dims_offset = 1 << 20; }, "tensor 'a': dims (offset"},
      {"dims inside the records", [](RawMbin& r) { r.tensors[0].dims_offset = 64; }, "tensor 'a': dims (offset 64)"},
      {"shape product overflow", [](RawMbin& r) { r.tensors[0].dims = {uint64_t{1} << 40, uint64_t{1} << 40}; },
       "tensor 'a': shape [1099511627776,1099511627776]: element count overflows"},
      {"dimension above int64", [](RawMbin& r) { r.tensors[0].dims = {uint64_t(-1)}; }, "(more than 2^63-1)"},
      {"byte length overflow", [](RawMbin& r) { r.tensors[0].dims = {uint64_t{1} << 61, 1}; r.tensors[0].dtype = 15; },
       "tensor 'a': shape [2305843009213693952,1]: byte length overflows"},
      {"name length past the index", [](RawMbin& r) { r.tensors[2].name_size = 4000; },
       "tensor record 2: name (offset"},
      {"name length zero", [](RawMbin& r) { r.tensors[0].name_size = 0; }, "tensor record 0: name length 0 out of range"},
      {"name length above the cap", [](RawMbin& r) { r.tensors[0].name_size = 5000; }, "name length 5000 out of range"},
      {"name not UTF-8", [](RawMbin& r) { r.tensors[1].name = "\xFF"; }, "tensor record 1: name is not valid UTF-8"},
      {"name with NUL", [](RawMbin& r) { r.tensors[1].name = std::string("b\0", 2); }, "name is not valid UTF-8"},
      {"duplicate names", [](RawMbin& r) { r.tensors[1].name = "a"; }, "duplicate tensor name 'a'"},
      {"names not sorted", [](RawMbin& r) { std::swap(r.tensors[0].name, r.tensors[1].name); },
       "index not sorted by name ('b' before 'a')"},
      {"unknown dtype code", [](RawMbin& r) { r.tensors[1].dtype = 99; }, "tensor 'b': unknown dtype code 99",
       ErrorKind::unsupported},
      {"unknown record flags", [](RawMbin& r) { r.tensors[1].flags = 2; }, "tensor 'b': unknown flags 0x2",
       ErrorKind::unsupported},
      {"data checksum", [](RawMbin& r) { r.tensors[1].checksum = 42; }, "tensor 'b': checksum mismatch (data corrupted)",
       ErrorKind::format, true},
      {"non-zero padding", [](RawMbin& r) { r.pokes.push_back({400, 1}); },
       "non-zero padding byte at offset 400 after tensor 'a'", ErrorKind::format, true},
      {"non-zero padding before the first tensor", [](RawMbin& r) { r.pokes.push_back({64, 9}); },
       "non-zero padding byte at offset 64 before the first tensor", ErrorKind::format, true},
  };

  TempDir dir;
  for (const Case& c : cases) {
    INFO(c.what);
    RawMbin r = base();
    c.mutate(r);
    std::string path = dir.file("crafted.mbin");
    write_bytes(path, r.build());
    ErrorKind kind{};
    bool at_open = false;
    std::string msg = open_and_verify(path, &kind, &at_open);
    INFO("message: " << msg);
    if (std::string(c.fragment).empty()) {
      REQUIRE(msg.empty());
      continue;
    }
    REQUIRE_THAT(msg, Catch::StartsWith(path + ": ") && Catch::Contains(c.fragment));
    REQUIRE(kind == c.kind);
    REQUIRE(at_open == !c.at_verify);
  }

  // The newer-minor file really reads: values, optional bits, version.
  RawMbin r = base();
  r.minor = 9;
  r.optional_bits = 0x80000001;
  r.header_size = 96;
  r.record_size = 80;
  write_bytes(dir.file("newer.mbin"), r.build());
  auto f = MbinFile::open(dir.file("newer.mbin"), {.verify = true});
  REQUIRE(f->version_minor() == 9);
  REQUIRE(f->optional_features() == 0x80000001);
  REQUIRE(f->structure_json() == r.structure);
  Tensor b = f->view("b");
  REQUIRE(b.dtype() == DType::int64);
  REQUIRE(std::memcmp(b.data(), r.tensors[1].data.data(), 24) == 0);
}

TEST_CASE("mbin: a 200-byte file declaring enormous counts allocates nothing big", "[mbin][crafted]") {
  TempDir dir;
  {  // The probe sees allocations made inside libmithril (a valid 100 KB structure string).
    RawMbin r;
    r.structure = std::string(100000, ' ');
    write_bytes(dir.file("probe.mbin"), r.build());
    AllocProbe probe;
    MbinFile::open(dir.file("probe.mbin"));
    REQUIRE(probe.largest() >= 100000);
  }
  struct Tiny {
    const char* what;
    std::function<void(RawMbin&)> mutate;
  };
  std::vector<Tiny> cases = {
      {"count = cap", [](RawMbin& r) { r.count = uint64_t{1} << 24; }},
      {"count 2^60", [](RawMbin& r) { r.count = uint64_t{1} << 60; }},
      {"index 2^60", [](RawMbin& r) { r.index_size = uint64_t{1} << 60; }},
      {"structure 2^60", [](RawMbin& r) { r.structure_size = uint64_t{1} << 60; }},
      {"name 2^32-1", [](RawMbin& r) { r.tensors[0].name_size = 0xFFFFFFFF; }},
      {"ndim 255", [](RawMbin& r) { r.tensors[0].ndim = 255; }},
      {"dims 2^62 each", [](RawMbin& r) { r.tensors[0].dims = {uint64_t{1} << 62, uint64_t{1} << 62}; }},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    RawMbin r;
    r.align_log2 = 6;
    r.structure = "{}";
    r.metadata = "{}";
    r.add("x", {1});
    c.mutate(r);
    std::string bytes = r.build();
    REQUIRE(bytes.size() <= 256);
    std::string path = dir.file("tiny.mbin");
    write_bytes(path, bytes);
    AllocProbe probe;
    REQUIRE_THROWS_AS(MbinFile::open(path), Error);
    REQUIRE(probe.largest() < 4096);
  }
}

TEST_CASE("mbin: random resealed mutations of preamble and index never crash", "[mbin][corruption]") {
  // Checksums are recomputed after mutating, so these bytes reach the structural validators. Each
  // outcome must be a clean open (then views and verify are safe to call) or a mithril::Error.
  TempDir dir;
  const std::string good = read_bytes(small_model(dir));
  const uint64_t index_offset = get<uint64_t>(good, 28);
  const std::string path = dir.file("fuzz.mbin");
  uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int opened = 0, refused = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string bad = good;
    int edits = 1 + static_cast<int>(next() % 4);
    for (int e = 0; e < edits; ++e) {
      // Mostly index bytes, sometimes preamble fields.
      std::size_t at = next() % 4 == 0 ? 8 + next() % 52 : index_offset + next() % (good.size() - index_offset);
      uint64_t r = next();
      bad[at] = static_cast<char>(r % 3 == 0 ? 0xFF : r % 3 == 1 ? 0 : static_cast<unsigned char>(r >> 8));
    }
    reseal(bad);
    write_bytes(path, bad);
    try {
      auto f = MbinFile::open(path);
      for (const auto& t : f->tensors()) (void)f->view(t.name).nbytes();
      try {
        f->verify();
      } catch (const Error&) {
      }
      ++opened;
    } catch (const Error&) {
      ++refused;
    }
  }
  WARN("random resealed mutations: " << refused << " refused, " << opened << " still valid");
  REQUIRE(refused > 0);
}
