#pragma once
// Replays a fuzz corpus in the ordinary test build (Catch2): every file in testdata/fuzz/<reader>/
// (the crashers the fuzzers ever found, kept forever, and the seed corpus) goes through the same
// target the fuzzer ran (targets.h), which must succeed or throw mithril::Error, nothing else.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <typeinfo>
#include <vector>

#include "fuzz/targets.h"

namespace mithril::fuzz {

using Target = void (*)(const uint8_t* data, std::size_t size);

/// Runs `target` on every file of testdata/fuzz/<reader>/; returns how many were replayed.
inline int replay_corpus(const std::string& reader, Target target) {
  std::filesystem::path dir = std::filesystem::path(MITHRIL_TESTDATA) / "fuzz" / reader;
  REQUIRE(std::filesystem::is_directory(dir));
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  int accepted = 0, refused = 0;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    try {
      target(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      ++accepted;
    } catch (const Error&) {
      ++refused;
    } catch (const std::exception& e) {
      FAIL(path.string() << ": " << typeid(e).name() << ": " << e.what());
    }
  }
  INFO(reader << ": " << accepted << " accepted, " << refused << " refused");
  CHECK(accepted + refused == static_cast<int>(files.size()));
  return accepted + refused;
}

}  // namespace mithril::fuzz
