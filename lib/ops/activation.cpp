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

ValueInfo infer_softmax(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  require_floating("softmax", in[0].dtype);
  normalize_axis(attr_int(attrs, "axis"), static_cast<int64_t>(in[0].shape.size()));
  return in[0];
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
      {{"axis", AttrType::integer, AttrValue{int64_t{-1}}}}, infer_softmax));
}

}  // namespace mithril
