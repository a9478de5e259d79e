// .pt state dicts and .safetensors files: round trips through our writers and readers for every
// dtype each format has, refusals by name for the others, the pickle allow-list, and every
// truncation of a good file refused with an Error (never a crash). Interop with the real torch
// and with a specification-written safetensors reader is in tests/e2e/torch_safetensors.sh.
#include <catch2/catch.hpp>

#include <cstring>

#include "io/artifact.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "io/torch_file.h"
#include "io/zip.h"
#include "io_test_util.h"

using namespace mithril;
using namespace mithril::test;

namespace {

Tensor sample(DType dtype, Shape shape) {
  Tensor t(dtype, shape);
  auto* p = static_cast<unsigned char*>(t.mutable_data());
  for (std::size_t i = 0; i < t.nbytes(); ++i) p[i] = static_cast<unsigned char>(i * 37 + 11);
  if (dtype == DType::bool_)
    for (std::size_t i = 0; i < t.nbytes(); ++i) p[i] &= 1;
  return t;
}

NamedTensors every_dtype(bool (*has)(DType)) {
  NamedTensors out;
  for (int i = 0; i < kDTypeCount; ++i) {
    DType d = static_cast<DType>(i);
    if (has(d)) out.emplace_back(std::string(dtype_name(d)), sample(d, {3, 5}));
  }
  out.emplace_back("scalar", sample(DType::float64, {}));
  out.emplace_back("empty", sample(DType::float32, {0, 4}));
  out.emplace_back("odd.bool", sample(DType::bool_, {3}));  // leaves later tensors unaligned unless placed well
  out.emplace_back("after.odd", sample(DType::float32, {2, 2}));
  return out;
}

void check_same(const NamedTensors& a, const NamedTensors& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first);
    CHECK(a[i].first == b[i].first);
    CHECK(a[i].second.bitwise_equal(b[i].second));
  }
}

// A torch-layout zip with the given data.pkl and one 16-byte storage "0".
std::string torch_zip(const TempDir& dir, const std::string& pickle, const std::string& storage = std::string(16, '\0')) {
  std::string path = dir.file("crafted.pt");
  {
    AtomicFile file(path);
    ZipWriter zip(file);
    zip.add("archive/data.pkl", {pickle}, false);
    zip.add("archive/data/0", {storage}, false);
    zip.add("archive/version", {"3\n"}, false);
    zip.finish();
    file.commit();
  }
  return slurp(path);
}

std::string parse_error(const std::string& bytes) {
  return error_of([&] { parse_torch_file(bytes.data(), bytes.size(), "x.pt"); });
}

}  // namespace

TEST_CASE(".pt: every torch dtype round-trips bit-exactly; uint16/32/64 are refused by name", "[io][torch]") {
  TempDir dir;
  NamedTensors tensors = every_dtype(torch_has_dtype);
  write_torch_file(dir / "a.pt", tensors);
  TorchStateDict back = read_torch_file(dir / "a.pt");
  check_same(tensors, back.tensors);
  CHECK(back.metadata.empty());
  CHECK(detect_artifact_kind(dir / "a.pt") == ArtifactKind::pt);

  std::string message = error_of([&] { write_torch_file(dir / "u.pt", {{"w", sample(DType::uint16, {2})}}); });
  CHECK_THAT(message, Catch::Contains("tensor 'w': dtype uint16 has no PyTorch storage type"));
  CHECK_FALSE(std::filesystem::exists(dir / "u.pt"));
  CHECK_THAT(error_of([&] { write_torch_file(dir / "d.pt", {{"w", sample(DType::int8, {1})}, {"w", sample(DType::int8, {1})}}); }),
             Catch::Contains("duplicate tensor name 'w'"));
}

TEST_CASE(".pt: the pickle allow-list refuses every other global and opcode, by name", "[io][torch]") {
  TempDir dir;
  CHECK_THAT(parse_error(torch_zip(dir, "\x80\x02" "cos\nsystem\n" "X\x02\0\0\0lsR.")), Catch::Contains("global 'os.system' is not allowed"));
  CHECK_THAT(parse_error(torch_zip(dir, "\x80\x02" "cbuiltins\neval\n.")), Catch::Contains("global 'builtins.eval' is not allowed"));
  // STACK_GLOBAL goes through the same allow-list.
  CHECK_THAT(parse_error(torch_zip(dir, std::string("\x80\x04\x8c\x02os\x8c\x06system\x93.", 16))),
             Catch::Contains("global 'os.system' is not allowed"));
  CHECK_THAT(parse_error(torch_zip(dir, "\x80\x02" "i__main__\nA\n.")), Catch::Contains("opcode 0x69 ('i')"));
  CHECK(parse_error(torch_zip(dir, "\x80\x02}.")).empty());
  // A dict that contains itself (through the memo) is refused, not flattened forever.
  CHECK_THAT(parse_error(torch_zip(dir, std::string("\x80\x02}q\0X\x01\0\0\0ah\0s.", 15))), Catch::Contains("nested deeper than"));
  CHECK_THAT(parse_error(torch_zip(dir, "\x80\x02h\x05.")), Catch::Contains("memo entry 5 is read before it is written"));
  CHECK_THAT(parse_error(torch_zip(dir, "\x80\x02u.")), Catch::Contains("MARK"));
  CHECK_THAT(parse_error(torch_zip(dir, "\x80\x02X\xff\xff\xff\x7f")), Catch::Contains("truncated"));
  CHECK_THAT(parse_error(torch_zip(dir, "\x80\x09}.")), Catch::Contains("pickle protocol 9"));
  CHECK_THAT(parse_error(std::string("\x80\x02}.", 4)), Catch::Contains("bare pickle"));
}

TEST_CASE(".pt: every truncation and every single-byte change of a good file is refused cleanly or read", "[io][torch]") {
  TempDir dir;
  write_torch_file(dir / "a.pt", {{"w", sample(DType::float32, {2, 3})}, {"b", sample(DType::int64, {3})}});
  std::string good = slurp(dir / "a.pt");
  for (std::size_t n = 0; n < good.size(); ++n) {
    INFO("truncated to " << n);
    CHECK_FALSE(parse_error(good.substr(0, n)).empty());
  }
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    INFO("byte " << i);
    parse_error(bad);  // either reads or throws mithril::Error; anything else fails the test
  }
}

TEST_CASE("safetensors: every dtype with a code round-trips bit-exactly, zero-copy; complex is refused by name", "[io][safetensors]") {
  TempDir dir;
  NamedTensors tensors = every_dtype([](DType d) { return safetensors_dtype_code(d) != nullptr; });
  write_safetensors(dir / "a.safetensors", tensors, {{"format", "pt"}});
  SafetensorsContents back = read_safetensors(dir / "a.safetensors");
  check_same(tensors, back.tensors);  // header order is the order given
  CHECK(back.metadata == std::map<std::string, std::string>{{"format", "pt"}});
  for (const auto& [name, t] : back.tensors) {
    INFO(name);
    CHECK(t.is_borrowed());  // placed by element size: every tensor aligned, so every one is a view
  }
  CHECK(detect_artifact_kind(dir / "a.safetensors") == ArtifactKind::safetensors);
  std::string good = slurp(dir / "a.safetensors");
  uint64_t n;
  std::memcpy(&n, good.data(), 8);
  CHECK((8 + n) % 64 == 0);

  CHECK_THAT(error_of([&] { write_safetensors(dir / "c.safetensors", {{"z", sample(DType::complex64, {2})}}); }),
             Catch::Contains("tensor 'z': dtype complex64 has no safetensors dtype code"));
  CHECK_THAT(error_of([&] { write_safetensors(dir / "m.safetensors", {{"__metadata__", sample(DType::int8, {2})}}); }),
             Catch::Contains("reserved"));

  for (std::size_t len = 0; len < good.size(); ++len) {
    INFO("truncated to " << len);
    CHECK_FALSE(error_of([&] { parse_safetensors(good.data(), len, "t.safetensors"); }).empty());
  }
}

TEST_CASE("safetensors: an unaligned tensor is copied, an aligned one viewed", "[io][safetensors]") {
  // Header "{...}" padded to 8 bytes: a 3-byte U8 tensor first, then an F32 one at data offset 3.
  std::string header = R"({"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},"b":{"dtype":"F32","shape":[1],"data_offsets":[3,7]}})";
  while ((8 + header.size()) % 8) header += ' ';
  std::string file(8, '\0');
  uint64_t n = header.size();
  std::memcpy(file.data(), &n, 8);
  file += header + std::string("\1\2\3", 3) + std::string("\0\0\x80\x3f", 4);
  auto owner = std::make_shared<std::string>(file);
  std::shared_ptr<const void> keep(owner, owner->data());
  SafetensorsContents c = parse_safetensors(owner->data(), owner->size(), "u.safetensors", keep);
  REQUIRE(c.tensors.size() == 2);
  CHECK(c.tensors[0].second.is_borrowed());
  CHECK_FALSE(c.tensors[1].second.is_borrowed());
  CHECK(c.tensors[1].second.value_at(0) == 1.0);
}

TEST_CASE("tensor files by content and extension: .pt, .safetensors, tensor-only .mbin, sharded index", "[io][artifact]") {
  TempDir dir;
  NamedTensors tensors = {{"a.weight", sample(DType::float32, {2, 3})}, {"a.bias", sample(DType::int64, {3})}};
  for (const char* name : {"t.pt", "t.safetensors", "t.mbin", "t.npz"}) {
    INFO(name);
    save_tensors(dir / name, tensors);
    Artifact a = load_artifact(dir / name);
    CHECK(a.model == nullptr);
    CHECK_FALSE(a.has_parameters);
    NamedTensors got = a.tensors;
    if (std::string(name) == "t.mbin") {  // an .mbin lists its tensors by name
      CHECK(a.metadata.at("content") == "tensors");
      std::swap(got[0], got[1]);
    }
    check_same(tensors, got);
  }
  CHECK(artifact_kind_for_output("x.pth") == ArtifactKind::pt);
  CHECK_THAT(error_of([&] { save_tensors(dir / "t.mithril", tensors); }), Catch::Contains(".npz, .npy, .pt, .safetensors or .mbin"));

  spit(dir / "m.safetensors.index.json", R"({"weight_map": {"a.weight": "t.safetensors", "a.bias": "t.safetensors"}})");
  CHECK(detect_artifact_kind(dir / "m.safetensors.index.json") == ArtifactKind::safetensors_index);
  check_same(tensors, load_artifact(dir / "m.safetensors.index.json").tensors);
}
