#pragma once
// Helpers shared by the io tests: temp folders, files, hex, and running numpy's python.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/error.h"
#include "core/shape.h"
#include "test_util.h"

namespace mithril::test {

/// A fresh folder, removed at scope exit (the one all unit tests share).
using TempDir = mithril::testing::TempDir;

/// A shape as the manifests of testdata/npy write it: "3,4", and "-" for a 0-d array.
inline std::string manifest_shape_text(const Shape& shape) {
  if (shape.empty()) return "-";
  std::string s;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(shape[i]);
  }
  return s;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void spit(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

inline std::string to_hex(const void* data, std::size_t size) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

/// Runs `script` with numpy's python (MITHRIL_PYTHON); returns its exit status, stdout in `out`.
inline int run_python(const TempDir& dir, const std::string& script, std::string& out) {
  std::string script_path = dir.file("script.py");
  spit(script_path, script);
  std::string out_path = dir.file("python.out");
  std::string command = std::string(MITHRIL_PYTHON) + " " + script_path + " > " + out_path + " 2>&1";
  int status = std::system(command.c_str());
  out = slurp(out_path);
  return status;
}

/// The message of the mithril::Error `f` throws, or "" if it throws nothing; fails on other throws.
template <class F>
std::string error_of(F&& f, mithril::ErrorKind* kind = nullptr) {
  try {
    f();
  } catch (const mithril::Error& e) {
    if (kind) *kind = e.kind();
    return e.what();
  }
  return "";
}

}  // namespace mithril::test
