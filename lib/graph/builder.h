#pragma once
// The builder API: operators as free functions and overloaded arithmetic on Values, mirroring
// the seed's Python API.
//
//   Model model("simple_mlp");
//   Value x = model.input("input", {Dim::any(), Dim::known(10)});
//   Value h = relu(dense(x, 50, "hidden"));
//   model.output("output", dense(h, 1, "output_layer"));
//
// Every function adds one node to the model of its first operand and returns the node's value;
// shape errors are thrown right there.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "graph/model.h"

namespace mithril {

Value add(const Value& a, const Value& b);
Value subtract(const Value& a, const Value& b);
Value multiply(const Value& a, const Value& b);
Value divide(const Value& a, const Value& b);
Value power(const Value& a, const Value& b);
Value matmul(const Value& a, const Value& b);

Value operator+(const Value& a, const Value& b);
Value operator-(const Value& a, const Value& b);
Value operator*(const Value& a, const Value& b);
Value operator/(const Value& a, const Value& b);
Value operator-(const Value& a);
/// With a scalar: the scalar becomes a 0-d constant of the value's dtype.
Value operator+(const Value& a, double b);
Value operator*(const Value& a, double b);
Value operator*(double a, const Value& b);

Value negate(const Value& x);
Value relu(const Value& x);
Value sigmoid(const Value& x);
Value tanh(const Value& x);
Value gelu(const Value& x, bool approximate = false);
Value exp(const Value& x);
Value log(const Value& x);
Value sqrt(const Value& x);
Value softmax(const Value& x, int64_t axis = -1);

Value reshape(const Value& x, const std::vector<int64_t>& shape);
/// Empty `axes` reverses the axes.
Value transpose(const Value& x, const std::vector<int64_t>& axes = {});
Value concat(const std::vector<Value>& xs, int64_t axis = 0);

/// Reductions over `axes` (empty: all axes).
Value sum(const Value& x, const std::vector<int64_t>& axes = {}, bool keepdims = false);
Value mean(const Value& x, const std::vector<int64_t>& axes = {}, bool keepdims = false);
Value max(const Value& x, const std::vector<int64_t>& axes = {}, bool keepdims = false);

/// A scalar constant of `like`'s dtype in `like`'s model.
Value scalar_like(const Value& like, double value);

/// The dense (linear) layer model: input [..., in_features] -> output [..., units], owning
/// `weight` [in_features, units] and `bias` [units]: output = input @ weight + bias.
std::shared_ptr<Model> dense_model(int64_t in_features, int64_t units, DType dtype = DType::float32,
                                   Initializer weight_init = Initializer::glorot(),
                                   Initializer bias_init = Initializer::zeros());

/// Adds a dense layer named `name` as a submodel on `x` (its last dim must be known).
Value dense(const Value& x, int64_t units, const std::string& name,
            Initializer weight_init = Initializer::glorot(), Initializer bias_init = Initializer::zeros());

/// Same as dense(): the seed uses both names.
Value linear(const Value& x, int64_t units, const std::string& name);

}  // namespace mithril
