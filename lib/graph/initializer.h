#pragma once
// Parameter initializers: how a physical model fills a parameter before values are loaded.
//
// Every initializer is deterministic given (seed, parameter path): values are reproducible across
// runs and machines (a fixed 64-bit generator and explicit transforms; no std:: distributions,
// whose output differs between standard libraries).
#include <cstdint>
#include <string>
#include <string_view>

#include "core/tensor.h"

namespace mithril {

struct Initializer {
  enum class Kind { glorot, zeros, ones, normal, uniform };
  Kind kind = Kind::glorot;
  double a = 0.0;  ///< normal: std; uniform: low
  double b = 0.0;  ///< uniform: high

  static Initializer glorot() { return {Kind::glorot, 0, 0}; }
  static Initializer zeros() { return {Kind::zeros, 0, 0}; }
  static Initializer ones() { return {Kind::ones, 0, 0}; }
  static Initializer normal(double std) { return {Kind::normal, std, 0}; }
  static Initializer uniform(double low, double high) { return {Kind::uniform, low, high}; }

  /// "glorot", "zeros", "ones", "normal(0.1)", "uniform(-1,1)".
  std::string str() const;

  /// Parses str()'s forms (also "normal(std=0.1)", "uniform(low=-1,high=1)"). Throws Error(invalid_argument).
  static Initializer parse(std::string_view text);

  bool operator==(const Initializer& o) const { return kind == o.kind && a == o.a && b == o.b; }
};

/// A tensor of `dtype` and `shape` filled by `init`. Glorot uses a normal with
/// std = sqrt(2 / (fan_in + fan_out)) (fan_in = shape[0], fan_out = shape[1], or the size for
/// 1-D), as in the seed. `seed` and `path` (the parameter's dotted name) pick the random stream.
Tensor initialize(const Initializer& init, DType dtype, const Shape& shape, uint64_t seed, std::string_view path);

}  // namespace mithril
