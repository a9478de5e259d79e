// Loss operators with Python Mithril's semantics: elementwise (per sample), never reduced; reduce
// with sum/mean afterwards.
#include <string>

#include "core/error.h"
#include "ops/families.h"
#include "ops/shape_inference.h"

namespace mithril {

namespace {

void check_choice(const std::string& op, const Attributes& attrs, const std::string& name,
                  const std::vector<std::string>& choices) {
  const std::string& value = attr_string(attrs, name);
  for (const std::string& c : choices)
    if (c == value) return;
  std::string list;
  for (const std::string& c : choices) list += (list.empty() ? "\"" : ", \"") + c + "\"";
  throw Error(ErrorKind::schema, op + ": " + name + " \"" + value + "\" is not one of " + list);
}

ValueInfo infer_cross_entropy(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  check_choice("cross_entropy", attrs, "input_type", {"logits", "probs", "log_probs"});
  require_floating("cross_entropy", in[0].dtype);
  const SymShape& x = in[0].shape;
  const SymShape& t = in[1].shape;
  if (x.size() < 2) throw Error(ErrorKind::shape, "cross_entropy: input must be [N, C, ...], got " + shape_str(x));
  SymShape out = x;
  out.erase(out.begin() + 1);
  if (attr_bool(attrs, "categorical")) {
    if (!is_integer(in[1].dtype))
      throw Error(ErrorKind::shape, "cross_entropy: a categorical target holds class indices (an integer dtype), got " +
                                        std::string(dtype_name(in[1].dtype)));
    if (t.size() != out.size())
      throw Error(ErrorKind::shape, "cross_entropy: categorical target " + shape_str(t) + " must be the input " +
                                        shape_str(x) + " without its class axis");
    for (std::size_t i = 0; i < t.size(); ++i) {
      auto d = unify_dim(out[i], t[i]);
      if (!d) throw Error(ErrorKind::shape, "cross_entropy: target " + shape_str(t) + " does not match input " + shape_str(x));
      out[i] = *d;
    }
  } else {
    require_same_dtype(in[0].dtype, in[1].dtype);
    if (t.size() != x.size())
      throw Error(ErrorKind::shape, "cross_entropy: a non-categorical target " + shape_str(t) + " has the input's shape " + shape_str(x));
  }
  return ValueInfo{in[0].dtype, out};
}

ValueInfo infer_binary_cross_entropy(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  check_choice("binary_cross_entropy", attrs, "input_type", {"logits", "probs"});
  require_floating("binary_cross_entropy", in[0].dtype);
  require_same_dtype(in[0].dtype, in[1].dtype);
  return ValueInfo{in[0].dtype, broadcast_shapes({in[0].shape, in[1].shape})};
}

}  // namespace

void register_loss_ops(OpRegistry& registry) {
  registry.add(builtin_schema(
      "cross_entropy",
      "Cross entropy per sample over the class axis 1 of input [N, C, ...] (output [N, ...]). categorical=true: "
      "target [N, ...] holds class indices t and the loss is w[t] * (logsumexp(x) - x_t) for input_type \"logits\" "
      "(computed with the max subtracted), -w[t] * log(p_t) for \"probs\", -w[t] * x_t for \"log_probs\". "
      "categorical=false: target has the input's shape and the loss is -sum_c(t * log_softmax(x) * w) (log_softmax "
      "= x - log(sum_c exp(x)), no max shift, as in Python Mithril), -sum_c(t * log(p) * w) or -sum_c(t * x * w). "
      "weights: per-class weights (empty: all 1); auto_weights: class-balanced weights (number of targets / "
      "(C * count of the class)). robust: logarithms are robust_log with `threshold`.",
      {{"input"}, {"target"}},
      {{"input_type", AttrType::string, AttrValue{std::string("logits")}},
       {"categorical", AttrType::boolean, AttrValue{true}},
       {"weights", AttrType::number_list, AttrValue{std::vector<double>{}}},
       {"auto_weights", AttrType::boolean, AttrValue{false}},
       {"robust", AttrType::boolean, AttrValue{false}},
       {"threshold", AttrType::number, AttrValue{2.2250738585072014e-308}}},
      infer_cross_entropy));
  registry.add(builtin_schema(
      "binary_cross_entropy",
      "Binary cross entropy elementwise (numpy broadcasting of input and target). input_type \"probs\": -pw * t * "
      "log(p) - (1 - t) * log(1 - p); \"logits\": (1 - t) * x - lw * log_sigmoid(x) with lw = (pw - 1) * t + 1 and "
      "log_sigmoid(x) = min(x, 0) - log1p(exp(-|x|)) (robust: robust_log(1 + exp(-|x|))). pw is pos_weight, or with "
      "auto_pos_weight (1 - m) / m with m = mean(t) for \"probs\" and mean(sigmoid(t)) for \"logits\" (as Python Mithril "
      "computes it). robust: logarithms are robust_log with `threshold`.",
      {{"input"}, {"target"}},
      {{"input_type", AttrType::string, AttrValue{std::string("logits")}},
       {"pos_weight", AttrType::number, AttrValue{1.0}},
       {"auto_pos_weight", AttrType::boolean, AttrValue{false}},
       {"robust", AttrType::boolean, AttrValue{false}},
       {"threshold", AttrType::number, AttrValue{2.2250738585072014e-308}}},
      infer_binary_cross_entropy));
}

}  // namespace mithril
