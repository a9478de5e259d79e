#pragma once
// Helpers of the operator unit tests: inference and one reference-kernel run of a built-in
// operator on concrete tensors.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "backends/backend.h"
#include "ops/registry.h"

namespace mithril::test {

/// The operator's inferred output for `inputs`, its attributes completed with defaults.
inline ValueInfo infer(const std::string& op, const std::vector<ValueInfo>& inputs, const Attributes& given = {}) {
  const OpSchema* schema = OpRegistry::global().find(op);
  REQUIRE(schema != nullptr);
  return schema->infer(inputs, OpRegistry::complete_attributes(*schema, given));
}

/// A tensor of `dtype` holding `values` (C order).
inline Tensor make(DType dtype, Shape shape, const std::vector<double>& values) {
  Tensor staging(DType::float64, shape);
  for (std::size_t i = 0; i < values.size(); ++i) staging.mutable_data_as<double>()[i] = values[i];
  return staging.cast(dtype).copy();
}

/// The operator's output on `inputs`: inference, then the reference kernel.
inline Tensor run(const std::string& op, const std::vector<Tensor>& inputs, const Attributes& given = {}) {
  const OpSchema* schema = OpRegistry::global().find(op);
  REQUIRE(schema != nullptr);
  Attributes attrs = OpRegistry::complete_attributes(*schema, given);
  std::vector<ValueInfo> infos;
  for (const Tensor& t : inputs) infos.push_back({t.dtype(), to_sym_shape(t.shape())});
  ValueInfo out_info = schema->infer(infos, attrs);
  Tensor out(out_info.dtype, to_shape(out_info.shape));
  reference_backend().execute(*schema, inputs, attrs, out);
  return out;
}

}  // namespace mithril::test
