// Converters of the optimizer steps of ONNX's ai.onnx.preview.training domain (Adagrad, Momentum,
// Adam): element-wise formulas of the spec, one set of outputs per optimized tensor. The update
// count T must be known at import (it selects the formula); the learning rate may be an input.
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "onnx/onnx_import_context.h"

namespace mithril::onnx_import {

namespace {

Operand mul(const NodeContext& c, const Operand& a, const Operand& b) { return c.apply("multiply", {a, b}); }
Operand add(const NodeContext& c, const Operand& a, const Operand& b) { return c.apply("add", {a, b}); }
Operand sub(const NodeContext& c, const Operand& a, const Operand& b) { return c.apply("subtract", {a, b}); }
Operand num(const NodeContext& c, const Operand& like, double v) { return scalar_like(c, like.info().dtype, v); }

// Inputs R, T, then `groups` lists of n tensors each; returns n.
int64_t tensor_count(NodeContext& c, int groups) {
  int64_t rest = c.inputs() - 2;
  if (rest <= 0 || rest % groups != 0) c.refuse(fmt::format("expected R, T and {} lists of equally many tensors", groups));
  return rest / groups;
}

Operand regularized(NodeContext& c, const Operand& x, const Operand& g) {
  double norm = c.attr_float("norm_coefficient", 0);
  return norm == 0 ? g : add(c, mul(c, num(c, x, norm), x), g);
}

void convert_adagrad(NodeContext& c) {
  int64_t n = tensor_count(c, 3);
  double t = c.need_scalar(1, "T");
  double decay = c.attr_float("decay_factor", 0), eps = c.attr_float("epsilon", 1e-6);
  for (int64_t i = 0; i < n; ++i) {
    Operand x = c.input(static_cast<int>(2 + i)), g = c.input(static_cast<int>(2 + n + i)), h = c.input(static_cast<int>(2 + 2 * n + i));
    Operand r = c.apply("divide", {c.input(0), num(c, c.input(0), 1 + t * decay)});
    Operand gr = regularized(c, x, g);
    Operand h_new = add(c, h, mul(c, gr, gr));
    Operand adaptive = add(c, c.apply("sqrt", {h_new}), num(c, x, eps));
    c.output(static_cast<int>(i), sub(c, x, c.apply("divide", {mul(c, r, gr), adaptive})));
    c.output(static_cast<int>(n + i), h_new);
  }
}

void convert_momentum(NodeContext& c) {
  int64_t n = tensor_count(c, 3);
  double t = c.need_scalar(1, "T");
  double alpha = c.attr_float("alpha", 0), beta = c.attr_float("beta", 0);
  std::string mode = c.attr_string("mode", "standard");
  if (mode != "standard" && mode != "nesterov") c.refuse("mode '" + mode + "' is not known");
  double beta_adjusted = t > 0 ? beta : 1;
  for (int64_t i = 0; i < n; ++i) {
    Operand x = c.input(static_cast<int>(2 + i)), g = c.input(static_cast<int>(2 + n + i)), v = c.input(static_cast<int>(2 + 2 * n + i));
    Operand gr = regularized(c, x, g);
    Operand v_new = add(c, mul(c, num(c, v, alpha), v), mul(c, num(c, gr, beta_adjusted), gr));
    Operand step = mode == "standard" ? v_new : add(c, gr, mul(c, num(c, v_new, alpha), v_new));
    c.output(static_cast<int>(i), sub(c, x, mul(c, c.input(0), step)));
    c.output(static_cast<int>(n + i), v_new);
  }
}

void convert_adam(NodeContext& c) {
  int64_t n = tensor_count(c, 4);
  double t = c.need_scalar(1, "T");
  double alpha = c.attr_float("alpha", 0.9), beta = c.attr_float("beta", 0.999), eps = c.attr_float("epsilon", 1e-6);
  double post = c.attr_float("norm_coefficient_post", 0);
  for (int64_t i = 0; i < n; ++i) {
    int k = static_cast<int>(i);
    Operand x = c.input(2 + k), g = c.input(static_cast<int>(2 + n) + k), v = c.input(static_cast<int>(2 + 2 * n) + k),
            h = c.input(static_cast<int>(2 + 3 * n) + k);
    Operand gr = regularized(c, x, g);
    Operand v_new = add(c, mul(c, num(c, v, alpha), v), mul(c, num(c, gr, 1 - alpha), gr));
    Operand h_new = add(c, mul(c, num(c, h, beta), h), mul(c, num(c, gr, 1 - beta), mul(c, gr, gr)));
    Operand h_sqrt = add(c, c.apply("sqrt", {h_new}), num(c, h_new, eps));
    Operand r = c.input(0);
    if (t > 0) r = mul(c, r, num(c, r, std::sqrt(1 - std::pow(beta, t)) / (1 - std::pow(alpha, t))));
    Operand x_new = sub(c, x, mul(c, r, c.apply("divide", {v_new, h_sqrt})));
    if (post != 0) x_new = mul(c, num(c, x_new, 1 - post), x_new);
    c.output(k, x_new);
    c.output(static_cast<int>(n) + k, v_new);
    c.output(static_cast<int>(2 * n) + k, h_new);
  }
}

}  // namespace

void register_training_converters(ConverterTable& t) {
  t["ai.onnx.preview.training.Adagrad"] = convert_adagrad;
  t["ai.onnx.preview.training.Momentum"] = convert_momentum;
  t["ai.onnx.preview.training.Adam"] = convert_adam;
}

}  // namespace mithril::onnx_import
