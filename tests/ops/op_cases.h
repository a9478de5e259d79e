#pragma once
// The per-operator case table: every built-in operator runs each of its cases through inference
// and the reference kernel, and the result is compared with numpy (testdata/ops/numpy_oracle.py).
// registry_test.cpp checks that every operator has at least one case here.
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ops/attribute.h"

namespace mithril::test {

/// One input: explicit values, or pseudo-random ones uniform in [low, high] (rounded for
/// integers, low/high ignored for bool).
struct TensorSpec {
  DType dtype;
  Shape shape;
  double low = -3;
  double high = 3;
  std::vector<double> values = {};
};

struct OpCase {
  std::string op;
  Attributes attrs;
  std::vector<TensorSpec> inputs;
};

const std::vector<OpCase>& op_cases();

/// The input tensor of `spec`; random values come from `seed`, so each case is reproducible.
Tensor make_input(const TensorSpec& spec, uint64_t seed);

/// "add {axis=1} float32[2,3], float32[3]" for failure messages.
std::string describe(const OpCase& c);

}  // namespace mithril::test
