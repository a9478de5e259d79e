// Activation functions and softmax. All of them are floating-point only: their integer versions
// would be either meaningless (sigmoid) or a silent truncation.
#include <string>

#include "core/error.h"
#include "ops/families.h"
#include "ops/shape_inference.h"

namespace mithril {

namespace {

InferFn same_as_floating_input(const std::string& name) {
  return [name](const std::vector<ValueInfo>& in, const Attributes&) {
    require_floating(name, in[0].dtype);
    return in[0];
  };
}

InferFn infer_softmax(const std::string& name) {
  return [name](const std::vector<ValueInfo>& in, const Attributes& attrs) {
    require_floating(name, in[0].dtype);
    normalize_axis(attr_int(attrs, "axis"), static_cast<int64_t>(in[0].shape.size()));
    return in[0];
  };
}

ValueInfo infer_prelu(const std::vector<ValueInfo>& in, const Attributes&) {
  require_same_dtype(in[0].dtype, in[1].dtype);
  require_floating("prelu", in[0].dtype);
  return ValueInfo{in[0].dtype, broadcast_shapes({in[0].shape, in[1].shape})};
}

void add_activation(OpRegistry& registry, const std::string& name, const std::string& doc, std::vector<AttrSpec> attributes = {}) {
  registry.add(builtin_schema(name, doc, {{"input"}}, std::move(attributes), same_as_floating_input(name)));
}

}  // namespace

void register_activation_ops(OpRegistry& registry) {
  registry.add(builtin_schema("relu", "max(input, 0).", {{"input"}}, {}, same_as_floating_input("relu")));
  registry.add(builtin_schema("sigmoid", "1 / (1 + exp(-input)), computed without overflow for large |input|.",
                              {{"input"}}, {}, same_as_floating_input("sigmoid")));
  registry.add(builtin_schema("tanh", "Hyperbolic tangent.", {{"input"}}, {}, same_as_floating_input("tanh")));
  registry.add(builtin_schema(
      "gelu",
      "Gaussian error linear unit. approximate=false: x * (1 + erf(x / sqrt(2))) / 2 (computed as "
      "x * erfc(-x / sqrt(2)) / 2, which keeps its precision for negative x); approximate=true: "
      "x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))) / 2.",
      {{"input"}}, {{"approximate", AttrType::boolean, AttrValue{false}}}, same_as_floating_input("gelu")));
  registry.add(builtin_schema("softplus", "log(1 + exp(input)), computed as max(x, 0) + log1p(exp(-|x|)).",
                              {{"input"}}, {}, same_as_floating_input("softplus")));
  registry.add(builtin_schema("leaky_relu", "input where input >= 0, else slope * input.", {{"input"}},
                              {{"slope", AttrType::number, AttrValue{0.01}}}, same_as_floating_input("leaky_relu")));
  registry.add(builtin_schema(
      "softmax", "exp(x - max) / sum(exp(x - max)) along attribute `axis` (default -1, the last).", {{"input"}},
      {{"axis", AttrType::integer, AttrValue{int64_t{-1}}}}, infer_softmax("softmax")));

  // --- ONNX nn/math ops (issue 14)
  registry.add(builtin_schema(
      "log_softmax", "log(softmax(input)) along attribute `axis` (default -1), computed as x - max - log(sum(exp(x - max))).",
      {{"input"}}, {{"axis", AttrType::integer, AttrValue{int64_t{-1}}}}, infer_softmax("log_softmax")));
  registry.add(builtin_schema(
      "prelu", "input where input >= 0, else slope * input; slope broadcasts against input with numpy's rules (ONNX PRelu).",
      {{"input"}, {"slope"}}, {}, infer_prelu));
  add_activation(registry, "elu", "input where input > 0, else alpha * (exp(input) - 1).",
                 {{"alpha", AttrType::number, AttrValue{1.0}}});
  add_activation(registry, "selu", "gamma * input where input > 0, else gamma * alpha * (exp(input) - 1) (ONNX Selu).",
                 {{"alpha", AttrType::number, AttrValue{1.67326319217681884765625}},
                  {"gamma", AttrType::number, AttrValue{1.05070102214813232421875}}});
  add_activation(registry, "celu", "max(0, input) + min(0, alpha * (exp(input / alpha) - 1)).",
                 {{"alpha", AttrType::number, AttrValue{1.0}}});
  add_activation(registry, "hard_sigmoid", "max(0, min(1, alpha * input + beta)).",
                 {{"alpha", AttrType::number, AttrValue{0.2}}, {"beta", AttrType::number, AttrValue{0.5}}});
  add_activation(registry, "hard_swish", "input * max(0, min(1, input / 6 + 1 / 2)).");
  add_activation(registry, "softsign", "input / (1 + |input|).");
  add_activation(registry, "thresholded_relu", "input where input > alpha, else 0.", {{"alpha", AttrType::number, AttrValue{1.0}}});
  add_activation(registry, "shrink", "input - bias where input > lambd, input + bias where input < -lambd, else 0.",
                 {{"bias", AttrType::number, AttrValue{0.0}}, {"lambd", AttrType::number, AttrValue{0.5}}});
  add_activation(registry, "mish", "input * tanh(softplus(input)).");
  registry.add(builtin_schema(
      "hardmax",
      "1 at the first largest element along attribute `axis` (default -1), 0 elsewhere (ONNX Hardmax); NaN counts "
      "as the largest, as numpy's argmax.",
      {{"input"}}, {{"axis", AttrType::integer, AttrValue{int64_t{-1}}}}, infer_softmax("hardmax")));
}

}  // namespace mithril
