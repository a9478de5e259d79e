#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>

#include "core/error.h"
#include "io/mbin.h"
#include "io/mbin_test_util.h"

using namespace mithril;
using namespace mbintest;

// > 4 GiB of parameters through the streaming writer: 64-bit offsets end to end. Needs ~5 GiB of
// disk (skipped below 12 GiB free). Exclude with `test_io "~[large]"`.
TEST_CASE("mbin: a model larger than 4 GiB (streaming writer, 64-bit offsets)", "[mbin][large]") {
  constexpr uint64_t kGiB = uint64_t{1} << 30;
  TempDir dir;
  auto space = std::filesystem::space(dir.path);
  if (space.available < 12 * kGiB) {
    mithril::testing::skip_test("the >4 GiB .mbin test needs 12 GiB free in " + dir.path.string() + ", there are " +
                                std::to_string(space.available / kGiB));
    return;
  }
  const std::string path = dir.file("large.mbin");
  constexpr int kBig = 5;
  constexpr std::size_t kChunk = std::size_t{64} << 20;  // one reused zero buffer
  std::vector<char> zeros(kChunk, 0);
  Tensor tail = pattern_tensor(DType::float32, {1000}, 5);

  auto t0 = std::chrono::steady_clock::now();
  {
    MbinWriter w(path, "{\"large\":true}", "{}");
    for (int i = 0; i < kBig; ++i) {
      w.begin("big." + std::to_string(i), DType::float32, {int64_t(kGiB / 4)});
      for (uint64_t done = 0; done < kGiB; done += kChunk) w.write(zeros.data(), kChunk);
      w.end();
    }
    w.add("tail", tail);
    w.finish();
  }
  auto t1 = std::chrono::steady_clock::now();
  auto f = MbinFile::open(path);
  auto t2 = std::chrono::steady_clock::now();
  REQUIRE(f->file_size() > kBig * kGiB);
  REQUIRE(f->tensors().size() == kBig + 1);
  const MbinTensorInfo* t = f->find("tail");
  REQUIRE(t->offset > (uint64_t{1} << 32));
  REQUIRE(f->find("big.4")->offset > (uint64_t{1} << 32));
  REQUIRE(f->find("big.4")->nbytes == kGiB);
  Tensor v = f->view("tail");
  REQUIRE(v.bitwise_equal(tail));
  REQUIRE(reinterpret_cast<std::uintptr_t>(v.data()) % f->alignment() == 0);
  f->verify("tail");
  f->verify("big.4");
  auto t3 = std::chrono::steady_clock::now();
  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  std::printf("[mbin] %.2f GiB: write+fsync %.0f ms (%.2f GiB/s), open %.3f ms, verify 1 GiB tensor + tail %.0f ms\n",
              double(f->file_size()) / double(kGiB), ms(t0, t1), double(f->file_size()) / double(kGiB) / (ms(t0, t1) / 1e3),
              ms(t1, t2), ms(t2, t3));
  f.reset();
  v = Tensor();
  std::filesystem::remove(path);
}
