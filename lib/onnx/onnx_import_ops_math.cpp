// Converters of ONNX's element-wise math, activations, softmax, reductions and matrix products.
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "onnx/onnx_import_context.h"
#include "ops/registry.h"

namespace mithril::onnx_import {

namespace {

Converter unary(const std::string& op) {
  return [op](NodeContext& c) { c.output(0, c.apply(op, {c.input(0)})); };
}

// Before opset 7, binary ops broadcast only with attribute broadcast=1, aligning the right
// operand's axes at `axis` (default: trailing, as numpy). Lays it out for numpy broadcasting.
Operand legacy_broadcast(NodeContext& c, const Operand& a, const Operand& b) {
  if (c.opset() >= 7 || !c.attr_int("broadcast", 0) || !c.has_attr("axis")) return b;
  int64_t ra = rank_of(c, a), rb = rank_of(c, b);
  int64_t axis = c.attr_int("axis", 0);
  if (axis < 0) axis += ra;
  int64_t trailing = ra - axis - rb;
  if (trailing <= 0) return b;
  std::optional<Shape> shape = concrete_shape(b);
  if (!shape) c.refuse("legacy broadcasting needs the right operand's shape");
  std::vector<int64_t> target(shape->begin(), shape->end());
  target.insert(target.end(), static_cast<std::size_t>(trailing), 1);
  return reshape_to(c, b, target);
}

// ONNX binary ops broadcast like numpy and take one dtype; Pow alone allows a different exponent type.
Converter binary(const std::string& op) {
  return [op](NodeContext& c) {
    Operand a = c.input(0);
    c.output(0, c.apply(op, {a, legacy_broadcast(c, a, c.input(1))}));
  };
}

Operand cast_to(const NodeContext& c, const Operand& x, DType dtype) {
  if (x.info().dtype == dtype) return x;
  return c.apply("cast", {x}, {{"dtype", dtype_attr(dtype)}});
}

void convert_div(NodeContext& c) {
  Operand a = c.input(0), b = c.input(1);
  // Our divide is true division; ONNX divides integers with truncation (the ONNX tests use numpy's
  // a / b then a cast). floor_divide agrees for same-signed operands.
  c.output(0, c.apply(is_floating(a.info().dtype) ? "divide" : "floor_divide", {a, legacy_broadcast(c, a, b)}));
}

void convert_pow(NodeContext& c) {
  Operand a = c.input(0), b = legacy_broadcast(c, c.input(0), c.input(1));
  DType dtype = a.info().dtype;
  if (is_floating(dtype)) return c.output(0, c.apply("power", {a, cast_to(c, b, dtype)}));
  // Integer bases: our power is floating-point; float64 holds the test range exactly, and the
  // result is truncated back to the base's type as ONNX's reference does.
  Operand p = c.apply("power", {cast_to(c, a, DType::float64), cast_to(c, b, DType::float64)});
  c.output(0, cast_to(c, p, dtype));
}

// Sum, Mean, Max, Min with any number of inputs: a chain of binary ops.
Converter variadic(const std::string& op, bool mean) {
  return [op, mean](NodeContext& c) {
    Operand acc = c.input(0);
    for (int i = 1; i < c.inputs(); ++i) acc = c.apply(op, {acc, c.input(i)});
    if (mean && c.inputs() > 1) acc = c.apply("divide", {acc, scalar_like(c, acc.info().dtype, c.inputs())});
    c.output(0, acc);
  };
}

void convert_identity(NodeContext& c) { c.output(0, c.input(0)); }

void convert_dropout(NodeContext& c) {
  // Inference: the input unchanged; the optional mask is all true.
  if (c.has(2)) {
    // Training mode keeps everything only with ratio 0 (no random mask then).
    bool training = c.need_scalar(2, "training_mode") != 0;
    double ratio = !training ? 0 : c.has(1) ? c.need_scalar(1, "ratio") : 0.5;
    if (ratio != 0) c.refuse("training mode is not supported (random masks)");
  }
  Operand x = c.input(0);
  c.output(0, x);
  if (c.wants_output(1)) {
    std::optional<Shape> shape = concrete_shape(x);
    if (!shape) c.refuse("the mask output needs a known input shape");
    Tensor mask(DType::bool_, *shape);
    for (int64_t i = 0; i < mask.numel(); ++i) mask.mutable_data_as<uint8_t>()[i] = 1;
    c.output(1, c.constant(mask));
  }
}

void convert_cast(NodeContext& c) {
  std::optional<DType> to = dtype_from_onnx(static_cast<int32_t>(c.attr_int("to", 0)));
  if (!to) c.refuse("cast to " + onnx_type_name(static_cast<int32_t>(c.attr_int("to", 0))) + " is not supported");
  c.output(0, cast_to(c, c.input(0), *to));
}

void convert_cast_like(NodeContext& c) { c.output(0, cast_to(c, c.input(0), c.input(1).info().dtype)); }

void convert_leaky_relu(NodeContext& c) {
  c.output(0, c.apply("leaky_relu", {c.input(0)}, {{"slope", c.attr_float("alpha", 0.01)}}));
}

void convert_gelu(NodeContext& c) {
  c.output(0, c.apply("gelu", {c.input(0)}, {{"approximate", c.attr_string("approximate", "none") == "tanh"}}));
}

void convert_reciprocal(NodeContext& c) {
  Operand x = c.input(0);
  if (have_op("reciprocal")) return c.output(0, c.apply("reciprocal", {x}));
  c.output(0, c.apply("divide", {scalar_like(c, x.info().dtype, 1), x}));
}

// An op B adds (nn/math contract) when present; `fallback` composes it from existing ops. Without
// either the converter is null and not registered: the op is then imported through its ONNX function
// body when it has one, or listed as unsupported.
Converter prefer(const std::string& op, std::function<void(NodeContext&)> fallback, std::function<Attributes(NodeContext&)> attrs = {}) {
  if (!have_op(op) && !fallback) return nullptr;
  return [op, fallback, attrs](NodeContext& c) {
    if (have_op(op)) {
      std::vector<Operand> ins;
      for (int i = 0; i < c.inputs(); ++i)
        if (c.has(i)) ins.push_back(c.input(i));
      c.output(0, c.apply(op, ins, attrs ? attrs(c) : Attributes{}));
      return;
    }
    fallback(c);
  };
}

Operand softmax_like(const NodeContext& c, const Operand& x, int64_t axis, bool log) {
  int64_t rank = rank_of(c, x);
  int64_t a = norm_axis(c, axis, rank);
  if (log) {
    if (have_op("log_softmax")) return c.apply("log_softmax", {x}, {{"axis", a}});
    // x - max - log(sum(exp(x - max))): exact where log(softmax) would underflow to -inf.
    Operand m = c.apply("max", {x}, {{"axes", std::vector<int64_t>{a}}, {"keepdims", true}});
    Operand shifted = c.apply("subtract", {x, m});
    Operand s = c.apply("sum", {c.apply("exp", {shifted})}, {{"axes", std::vector<int64_t>{a}}, {"keepdims", true}});
    return c.apply("subtract", {shifted, c.apply("log", {s})});
  }
  return c.apply("softmax", {x}, {{"axis", a}});
}

// 1 at the first maximum along `axis`, 0 elsewhere (argmax, then one_hot back along the axis).
Operand hardmax(const NodeContext& c, const Operand& x, int64_t axis) {
  int64_t rank = rank_of(c, x);
  int64_t a = norm_axis(c, axis, rank);
  const Dim depth = x.info().shape[static_cast<std::size_t>(a)];
  if (!depth.is_known()) c.refuse("the size of the axis must be known");
  Operand idx = c.apply("argmax", {x}, {{"axis", a}, {"keepdims", false}, {"select_last_index", false}});
  Tensor values(DType::float64, Shape{2});
  values.mutable_data_as<double>()[1] = 1;
  return c.apply("one_hot", {idx, c.constant(values.cast(x.info().dtype))}, {{"depth", depth.size}, {"axis", a}});
}

enum class SoftmaxKind { softmax, log_softmax, hardmax };

Operand softmax_of_kind(const NodeContext& c, const Operand& x, int64_t axis, SoftmaxKind kind) {
  return kind == SoftmaxKind::hardmax ? hardmax(c, x, axis) : softmax_like(c, x, axis, kind == SoftmaxKind::log_softmax);
}

// Softmax, LogSoftmax, Hardmax before opset 13 work on the input seen as 2-D [prod(:axis), prod(axis:)].
Converter softmax(SoftmaxKind kind) {
  if (kind == SoftmaxKind::hardmax && (!have_op("argmax") || !have_op("one_hot"))) return nullptr;
  return [kind](NodeContext& c) {
    Operand x = c.input(0);
    if (c.opset() >= 13) return c.output(0, softmax_of_kind(c, x, c.attr_int("axis", -1), kind));
    int64_t rank = rank_of(c, x);
    int64_t axis = c.attr_int("axis", 1);
    axis = axis < 0 ? axis + rank : axis;
    if (axis == rank - 1 || rank == 0) return c.output(0, softmax_of_kind(c, x, -1, kind));
    std::optional<Shape> shape = concrete_shape(x);
    if (!shape) c.refuse("opset < 13 softmax over several axes needs a known input shape");
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= (*shape)[i];
    Operand flat = reshape_to(c, x, {outer, inner});
    c.output(0, reshape_to(c, softmax_of_kind(c, flat, -1, kind), *shape));
  };
}

// --- reductions ---

std::optional<std::vector<int64_t>> reduce_axes(NodeContext& c) {
  // Axes are an attribute before ReduceSum-13 / other reductions-18, an optional input after.
  if (c.has_attr("axes")) return c.attr_ints("axes");
  if (c.has(1)) {
    std::vector<int64_t> axes = c.need_ints(1, "axes");
    if (!axes.empty()) return axes;
  }
  return std::nullopt;
}

Operand reduce(NodeContext& c, const std::string& op, const Operand& x) {
  std::optional<std::vector<int64_t>> axes = reduce_axes(c);
  bool keepdims = c.attr_int("keepdims", 1) != 0;
  if (!axes) {
    if (c.attr_int("noop_with_empty_axes", 0)) return x;
    return c.apply(op, {x}, {{"axes", AttrValue{}}, {"keepdims", keepdims}});
  }
  int64_t rank = rank_of(c, x);
  std::vector<int64_t> normalized;
  for (int64_t a : *axes) normalized.push_back(norm_axis(c, a, rank));
  return c.apply(op, {x}, {{"axes", normalized}, {"keepdims", keepdims}});
}

Converter reduction(const std::string& op) {
  return [op](NodeContext& c) { c.output(0, reduce(c, op, c.input(0))); };
}

void convert_reduce_l1(NodeContext& c) { c.output(0, reduce(c, "sum", c.apply("abs", {c.input(0)}))); }

void convert_reduce_sum_square(NodeContext& c) {
  Operand x = c.input(0);
  c.output(0, reduce(c, "sum", c.apply("multiply", {x, x})));
}

void convert_reduce_l2(NodeContext& c) {
  Operand x = c.input(0);
  Operand s = reduce(c, "sum", c.apply("multiply", {x, x}));
  if (is_floating(s.info().dtype)) return c.output(0, c.apply("sqrt", {s}));
  // Integer inputs: the square root in float64, truncated back as numpy's astype does.
  DType dtype = s.info().dtype;
  c.output(0, cast_to(c, c.apply("sqrt", {cast_to(c, s, DType::float64)}), dtype));
}

void convert_reduce_log_sum(NodeContext& c) { c.output(0, c.apply("log", {reduce(c, "sum", c.input(0))})); }

void convert_reduce_log_sum_exp(NodeContext& c) {
  Operand x = c.input(0);
  DType dtype = x.info().dtype;
  if (!is_floating(dtype)) x = cast_to(c, x, DType::float64);
  Operand r = c.apply("log", {reduce(c, "sum", c.apply("exp", {x}))});
  c.output(0, cast_to(c, r, dtype));
}

// --- matrix products ---

void convert_matmul(NodeContext& c) { c.output(0, c.apply("matmul", {c.input(0), c.input(1)})); }

void convert_gemm(NodeContext& c) {
  Operand a = c.input(0), b = c.input(1);
  if (c.attr_int("transA", 0)) a = c.apply("transpose", {a}, {{"axes", std::vector<int64_t>{1, 0}}});
  if (c.attr_int("transB", 0)) b = c.apply("transpose", {b}, {{"axes", std::vector<int64_t>{1, 0}}});
  Operand y = c.apply("matmul", {a, b});
  DType dtype = y.info().dtype;
  double alpha = c.attr_float("alpha", 1.0), beta = c.attr_float("beta", 1.0);
  if (alpha != 1.0) y = c.apply("multiply", {y, scalar_like(c, dtype, alpha)});
  if (c.has(2)) {
    Operand bias = c.input(2);
    if (beta != 1.0) bias = c.apply("multiply", {bias, scalar_like(c, dtype, beta)});
    y = c.apply("add", {y, bias});
  }
  c.output(0, y);
}

// --- element-wise compositions for activations B may not have added yet ---

void convert_clip(NodeContext& c) {
  Operand x = c.input(0);
  DType dtype = x.info().dtype;
  std::optional<Operand> lo, hi;
  if (c.opset() < 11) {
    if (c.has_attr("min")) lo = scalar_like(c, dtype, c.attr_float("min", 0));
    if (c.has_attr("max")) hi = scalar_like(c, dtype, c.attr_float("max", 0));
  } else {
    if (c.has(1)) lo = c.input(1);
    if (c.has(2)) hi = c.input(2);
  }
  auto one_known = [](const std::optional<Operand>& b) { return !b || (b->is_known() && b->known->numel() == 1); };
  if (have_op("clip") && one_known(lo) && one_known(hi)) {
    Attributes attrs{{"min", lo ? AttrValue{lo->known->value_at(0)} : AttrValue{}},
                     {"max", hi ? AttrValue{hi->known->value_at(0)} : AttrValue{}}};
    return c.output(0, c.apply("clip", {x}, attrs));
  }
  if (lo) x = c.apply("maximum", {x, *lo});
  if (hi) x = c.apply("minimum", {x, *hi});
  c.output(0, x);
}

void convert_hard_sigmoid_fallback(NodeContext& c) {
  Operand x = c.input(0);
  DType t = x.info().dtype;
  Operand y = c.apply("add", {c.apply("multiply", {x, scalar_like(c, t, c.attr_float("alpha", 0.2))}),
                              scalar_like(c, t, c.attr_float("beta", 0.5))});
  y = c.apply("minimum", {c.apply("maximum", {y, scalar_like(c, t, 0)}), scalar_like(c, t, 1)});
  c.output(0, y);
}

void convert_elu_fallback(NodeContext& c) {
  Operand x = c.input(0);
  DType t = x.info().dtype;
  Operand neg = c.apply("multiply", {c.apply("subtract", {c.apply("exp", {c.apply("minimum", {x, scalar_like(c, t, 0)})}), scalar_like(c, t, 1)}),
                                     scalar_like(c, t, c.attr_float("alpha", 1.0))});
  c.output(0, c.apply("add", {c.apply("relu", {x}), neg}));
}

void convert_softsign_fallback(NodeContext& c) {
  Operand x = c.input(0);
  DType t = x.info().dtype;
  c.output(0, c.apply("divide", {x, c.apply("add", {c.apply("abs", {x}), scalar_like(c, t, 1)})}));
}

// PRelu before opset 7 took a per-channel slope [C] for any input [N, C, ...]; the version
// converter keeps it as is, so such a slope is laid out to broadcast over axis 1.
Operand prelu_slope(NodeContext& c, const Operand& x, const Operand& slope) {
  ValueInfo xi = x.info(), si = slope.info();
  if (!xi.rank_known || xi.shape.size() < 3 || si.shape.size() != 1 || !si.shape[0].is_known()) return slope;
  const Dim& channels = xi.shape[1];
  const Dim& last = xi.shape.back();
  if (!channels.is_known() || channels.size != si.shape[0].size || si.shape[0].size == 1 || (last.is_known() && last.size == channels.size))
    return slope;
  std::vector<int64_t> shape(xi.shape.size() - 1, 1);
  shape[0] = channels.size;
  return reshape_to(c, slope, shape);
}

void convert_prelu_fallback(NodeContext& c) {
  Operand x = c.input(0), slope = prelu_slope(c, c.input(0), c.input(1));
  DType t = x.info().dtype;
  Operand zero = scalar_like(c, t, 0);
  c.output(0, c.apply("add", {c.apply("maximum", {x, zero}), c.apply("multiply", {slope, c.apply("minimum", {x, zero})})}));
}

void convert_selu_fallback(NodeContext& c) {
  Operand x = c.input(0);
  DType t = x.info().dtype;
  double alpha = c.attr_float("alpha", 1.67326319217681884765625), gamma = c.attr_float("gamma", 1.05070102214813232421875);
  Operand zero = scalar_like(c, t, 0);
  Operand neg = c.apply("multiply", {c.apply("subtract", {c.apply("exp", {c.apply("minimum", {x, zero})}), scalar_like(c, t, 1)}),
                                     scalar_like(c, t, alpha)});
  c.output(0, c.apply("multiply", {c.apply("add", {c.apply("maximum", {x, zero}), neg}), scalar_like(c, t, gamma)}));
}

// Comparisons and logic from arithmetic, for builds without helper B's comparison operators:
// a > b exactly when a - b > 0 (distinct floats never subtract to 0), and casting a number to
// bool gives "nonzero". Integer differences that overflow and infinities compared with themselves
// are outside what these fallbacks get right; the real operators replace them when present.
Operand to_bool(const NodeContext& c, const Operand& x) { return cast_to(c, x, DType::bool_); }

Operand positive_part_of_difference(const NodeContext& c, const Operand& a, const Operand& b) {
  DType t = a.info().dtype;
  if (t == DType::bool_) c.refuse("comparing bool values needs our comparison operators");
  Operand d = c.apply("subtract", {a, b});
  return c.apply("maximum", {d, scalar_like(c, t, 0)});
}

Operand logical_not(const NodeContext& c, const Operand& x) {
  Operand i = cast_to(c, to_bool(c, x), DType::int32);
  return to_bool(c, c.apply("subtract", {scalar_like(c, DType::int32, 1), i}));
}

Operand greater(const NodeContext& c, const Operand& a, const Operand& b) { return to_bool(c, positive_part_of_difference(c, a, b)); }

Operand equal(const NodeContext& c, const Operand& a, const Operand& b) {
  if (a.info().dtype == DType::bool_) {
    Operand d = c.apply("subtract", {cast_to(c, a, DType::int32), cast_to(c, b, DType::int32)});
    return logical_not(c, d);
  }
  return logical_not(c, c.apply("subtract", {a, b}));
}

Operand logic(const NodeContext& c, const std::string& kind, const Operand& a, const Operand& b) {
  Operand x = cast_to(c, a, DType::int32), y = cast_to(c, b, DType::int32);
  if (kind == "and") return to_bool(c, c.apply("multiply", {x, y}));
  if (kind == "or") return to_bool(c, c.apply("add", {x, y}));
  return to_bool(c, c.apply("abs", {c.apply("subtract", {x, y})}));
}

Operand select(const NodeContext& c, const Operand& condition, const Operand& a, const Operand& b) {
  return c.apply("where", {condition, a, b});
}

void convert_thresholded_relu_fallback(NodeContext& c) {
  Operand x = c.input(0);
  DType t = x.info().dtype;
  c.output(0, select(c, greater(c, x, scalar_like(c, t, c.attr_float("alpha", 1.0))), x, scalar_like(c, t, 0)));
}

void convert_shrink_fallback(NodeContext& c) {
  Operand x = c.input(0);
  DType t = x.info().dtype;
  double lambd = c.attr_float("lambd", 0.5), bias = c.attr_float("bias", 0);
  Operand above = greater(c, x, scalar_like(c, t, lambd));
  Operand below = greater(c, scalar_like(c, t, -lambd), x);
  Operand y = select(c, above, c.apply("subtract", {x, scalar_like(c, t, bias)}), scalar_like(c, t, 0));
  c.output(0, select(c, below, c.apply("add", {x, scalar_like(c, t, bias)}), y));
}

void convert_sign_fallback(NodeContext& c) {
  Operand x = c.input(0);
  DType t = x.info().dtype;
  Operand zero = scalar_like(c, t, 0);
  Operand y = select(c, greater(c, x, zero), scalar_like(c, t, 1), zero);
  c.output(0, select(c, greater(c, zero, x), scalar_like(c, t, -1), y));
}

void register_comparison_fallbacks(ConverterTable& t) {
  auto two = [](std::function<Operand(NodeContext&, const Operand&, const Operand&)> f) {
    return [f](NodeContext& c) { c.output(0, f(c, c.input(0), c.input(1))); };
  };
  std::map<std::string, std::function<void(NodeContext&)>> fallbacks{
      {"Greater", two([](NodeContext& c, const Operand& a, const Operand& b) { return greater(c, a, b); })},
      {"Less", two([](NodeContext& c, const Operand& a, const Operand& b) { return greater(c, b, a); })},
      {"GreaterOrEqual", two([](NodeContext& c, const Operand& a, const Operand& b) { return logical_not(c, greater(c, b, a)); })},
      {"LessOrEqual", two([](NodeContext& c, const Operand& a, const Operand& b) { return logical_not(c, greater(c, a, b)); })},
      {"Equal", two([](NodeContext& c, const Operand& a, const Operand& b) { return equal(c, a, b); })},
      {"And", two([](NodeContext& c, const Operand& a, const Operand& b) { return logic(c, "and", a, b); })},
      {"Or", two([](NodeContext& c, const Operand& a, const Operand& b) { return logic(c, "or", a, b); })},
      {"Xor", two([](NodeContext& c, const Operand& a, const Operand& b) { return logic(c, "xor", a, b); })},
      {"Not", [](NodeContext& c) { c.output(0, logical_not(c, c.input(0))); }},
      {"ThresholdedRelu", convert_thresholded_relu_fallback},
      {"Shrink", convert_shrink_fallback},
      {"Sign", convert_sign_fallback},
  };
  for (auto& [onnx, fallback] : fallbacks)
    if (!t.count(onnx) || !t[onnx]) t[onnx] = fallback;
}

// Quantization parameters: a scalar, or a 1-D tensor along attribute `axis` of x, laid out to
// broadcast against x.
Operand along_axis(NodeContext& c, const Operand& x, const Operand& v) {
  ValueInfo vi = v.info();
  if (vi.shape.empty()) return v;
  int64_t rank = rank_of(c, x);
  int64_t axis = norm_axis(c, c.attr_int("axis", 1), rank);
  std::vector<int64_t> shape(static_cast<std::size_t>(rank - axis), 1);
  shape[0] = -1;
  return reshape_to(c, v, shape);
}

void convert_dequantize_linear(NodeContext& c) {
  Operand x = c.input(0);
  Operand scale = along_axis(c, x, c.input(1));
  DType t = scale.info().dtype;
  Operand y = cast_to(c, x, t);
  if (c.has(2)) y = c.apply("subtract", {y, cast_to(c, along_axis(c, x, c.input(2)), t)});
  c.output(0, c.apply("multiply", {y, scale}));
}

void convert_quantize_linear(NodeContext& c) {
  Operand x = c.input(0);
  Operand scale = along_axis(c, x, c.input(1));
  DType t = x.info().dtype;
  DType out = c.has(2) ? c.input(2).info().dtype : DType::uint8;
  if (out != DType::uint8 && out != DType::int8) c.refuse("only uint8 and int8 outputs are supported");
  // saturate(round_half_to_even(x / scale) + zero_point)
  Operand y = c.apply("round", {c.apply("divide", {x, cast_to(c, scale, t)})});
  if (c.has(2)) y = c.apply("add", {y, cast_to(c, along_axis(c, x, c.input(2)), t)});
  bool is_unsigned = out == DType::uint8;
  y = c.apply("clip", {y}, {{"min", is_unsigned ? 0.0 : -128.0}, {"max", is_unsigned ? 255.0 : 127.0}});
  c.output(0, cast_to(c, y, out));
}

void convert_bit_shift(NodeContext& c) {
  std::string direction = c.attr_string("direction", "");
  if (direction != "LEFT" && direction != "RIGHT") c.refuse("direction must be LEFT or RIGHT");
  std::string op = direction == "LEFT" ? "shift_left" : "shift_right";
  Operand x = c.input(0), s = c.input(1);
  DType t = x.info().dtype;
  // ONNX shifts unsigned integers; our shift kernels take signed ones. uint8..uint32 values and
  // their shifted bits fit int64, and casting back keeps the low bits as ONNX's wrap-around does.
  if (t == DType::uint8 || t == DType::uint16 || t == DType::uint32) {
    Operand y = c.apply(op, {cast_to(c, x, DType::int64), cast_to(c, s, DType::int64)});
    return c.output(0, cast_to(c, y, t));
  }
  c.output(0, c.apply(op, {x, s}));
}

// x - zero_point in a wider type (the zero point scalar or per row/column as ONNX allows).
Operand centered(NodeContext& c, int zero_point_at, const Operand& x, DType wide, std::optional<int64_t> axis = std::nullopt) {
  Operand y = cast_to(c, x, wide);
  if (!c.has(zero_point_at)) return y;
  Operand zp = cast_to(c, c.input(zero_point_at), wide);
  ValueInfo zi = zp.info();
  if (axis && zi.shape.size() == 1) {
    int64_t rank = rank_of(c, x);
    std::vector<int64_t> shape(static_cast<std::size_t>(rank - *axis), 1);
    shape[0] = -1;
    zp = reshape_to(c, zp, shape);
  }
  return c.apply("subtract", {y, zp});
}

// MatMulInteger: products of 8-bit integers summed exactly in float64 (2^53 covers every K a
// model can have), then int32 as ONNX defines the output.
void convert_matmul_integer(NodeContext& c) {
  Operand a = centered(c, 2, c.input(0), DType::float64, int64_t{0});
  Operand b = centered(c, 3, c.input(1), DType::float64, std::nullopt);
  c.output(0, cast_to(c, c.apply("matmul", {a, b}), DType::int32));
}

// QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp): integer products summed exactly
// in float64, then requantized.
void convert_qlinear_matmul(NodeContext& c) {
  Operand a = c.apply("subtract", {cast_to(c, c.input(0), DType::float64), cast_to(c, c.input(2), DType::float64)});
  Operand b = c.apply("subtract", {cast_to(c, c.input(3), DType::float64), cast_to(c, c.input(5), DType::float64)});
  c.output(0, requantize(c, c.apply("matmul", {a, b}), c.input(1), c.input(4), c.input(6), c.input(7)));
}

Attributes attrs_alpha(NodeContext& c, double fallback) { return {{"alpha", c.attr_float("alpha", fallback)}}; }

}  // namespace

// Requantizes an exact float64 accumulator: saturate(round(acc * multiplier) + zero_point) into
// the zero point's type (uint8 or int8), multiplier = a_scale * b_scale / y_scale.
Operand requantize(NodeContext& c, const Operand& acc, const Operand& a_scale, const Operand& b_scale, const Operand& y_scale,
                   const Operand& y_zero_point) {
  auto wide = [&](const Operand& v) {
    return v.info().dtype == DType::float64 ? v : c.apply("cast", {v}, {{"dtype", dtype_attr(DType::float64)}});
  };
  Operand multiplier = c.apply("divide", {c.apply("multiply", {wide(a_scale), wide(b_scale)}), wide(y_scale)});
  Operand y = c.apply("round", {c.apply("multiply", {acc, multiplier})});
  y = c.apply("add", {y, wide(y_zero_point)});
  DType out = y_zero_point.info().dtype;
  if (out != DType::uint8 && out != DType::int8) c.refuse("only uint8 and int8 outputs are supported");
  bool is_unsigned = out == DType::uint8;
  y = c.apply("clip", {y}, {{"min", is_unsigned ? 0.0 : -128.0}, {"max", is_unsigned ? 255.0 : 127.0}});
  return c.apply("cast", {y}, {{"dtype", dtype_attr(out)}});
}

void register_math_converters(ConverterTable& t) {
  t["Add"] = binary("add");
  t["Sub"] = binary("subtract");
  t["Mul"] = binary("multiply");
  t["Div"] = convert_div;
  t["Pow"] = convert_pow;
  t["Max"] = variadic("maximum", false);
  t["Min"] = variadic("minimum", false);
  t["Sum"] = variadic("add", false);
  t["Mean"] = variadic("add", true);
  t["Relu"] = unary("relu");
  t["Sigmoid"] = unary("sigmoid");
  t["Tanh"] = unary("tanh");
  t["Softplus"] = unary("softplus");
  t["Exp"] = unary("exp");
  t["Log"] = unary("log");
  t["Sqrt"] = unary("sqrt");
  t["Abs"] = unary("abs");
  t["Neg"] = unary("negate");
  t["Sin"] = unary("sin");
  t["Cos"] = unary("cos");
  t["Identity"] = convert_identity;
  t["Dropout"] = convert_dropout;
  t["Cast"] = convert_cast;
  t["CastLike"] = convert_cast_like;
  t["LeakyRelu"] = convert_leaky_relu;
  t["Gelu"] = convert_gelu;
  t["Reciprocal"] = convert_reciprocal;
  t["Softmax"] = softmax(SoftmaxKind::softmax);
  t["LogSoftmax"] = softmax(SoftmaxKind::log_softmax);
  t["Hardmax"] = softmax(SoftmaxKind::hardmax);
  t["ReduceSum"] = reduction("sum");
  t["ReduceMean"] = reduction("mean");
  t["ReduceMax"] = reduction("max");
  t["ReduceMin"] = reduction("min");
  t["ReduceProd"] = reduction("prod");
  t["ReduceL1"] = convert_reduce_l1;
  t["ReduceL2"] = convert_reduce_l2;
  t["ReduceSumSquare"] = convert_reduce_sum_square;
  t["ReduceLogSum"] = convert_reduce_log_sum;
  t["ReduceLogSumExp"] = convert_reduce_log_sum_exp;
  t["MatMul"] = convert_matmul;
  t["Gemm"] = convert_gemm;
  t["Clip"] = convert_clip;
  t["HardSigmoid"] = prefer("hard_sigmoid", convert_hard_sigmoid_fallback, [](NodeContext& c) {
    return Attributes{{"alpha", c.attr_float("alpha", 0.2)}, {"beta", c.attr_float("beta", 0.5)}};
  });
  t["Elu"] = prefer("elu", convert_elu_fallback, [](NodeContext& c) { return attrs_alpha(c, 1.0); });
  t["Celu"] = prefer("celu", nullptr, [](NodeContext& c) { return attrs_alpha(c, 1.0); });
  t["Selu"] = prefer("selu", convert_selu_fallback, [](NodeContext& c) {
    return Attributes{{"alpha", c.attr_float("alpha", 1.67326319217681884765625)}, {"gamma", c.attr_float("gamma", 1.05070102214813232421875)}};
  });
  t["Softsign"] = prefer("softsign", convert_softsign_fallback);
  t["PRelu"] = [](NodeContext& c) {
    if (!have_op("prelu")) return convert_prelu_fallback(c);
    c.output(0, c.apply("prelu", {c.input(0), prelu_slope(c, c.input(0), c.input(1))}));
  };
  t["ThresholdedRelu"] = prefer("thresholded_relu", nullptr, [](NodeContext& c) { return attrs_alpha(c, 1.0); });
  t["Shrink"] = prefer("shrink", nullptr, [](NodeContext& c) {
    return Attributes{{"bias", c.attr_float("bias", 0)}, {"lambd", c.attr_float("lambd", 0.5)}};
  });
  t["HardSwish"] = prefer("hard_swish", nullptr);
  t["Mish"] = prefer("mish", nullptr);
  // Unary math B adds.
  for (auto [onnx, ours] : std::vector<std::pair<const char*, const char*>>{
           {"Erf", "erf"}, {"Floor", "floor"}, {"Ceil", "ceil"}, {"Round", "round"}, {"Sign", "sign"}, {"Tan", "tan"},
           {"Asin", "asin"}, {"Acos", "acos"}, {"Atan", "atan"}, {"Sinh", "sinh"}, {"Cosh", "cosh"}, {"Asinh", "asinh"},
           {"Acosh", "acosh"}, {"Atanh", "atanh"}, {"IsNaN", "isnan"}, {"Not", "logical_not"}})
    t[onnx] = prefer(ours, nullptr);
  t["IsInf"] = prefer("isinf", nullptr, [](NodeContext& c) {
    return Attributes{{"detect_positive", c.attr_int("detect_positive", 1) != 0}, {"detect_negative", c.attr_int("detect_negative", 1) != 0}};
  });
  t["Det"] = prefer("det", nullptr);
  t["Mod"] = prefer("mod", nullptr, [](NodeContext& c) { return Attributes{{"fmod", c.attr_int("fmod", 0) != 0}}; });
  for (auto [onnx, ours] : std::vector<std::pair<const char*, const char*>>{
           {"Equal", "equal"}, {"Less", "less"}, {"LessOrEqual", "less_equal"}, {"Greater", "greater"},
           {"GreaterOrEqual", "greater_equal"}, {"And", "logical_and"}, {"Or", "logical_or"}, {"Xor", "logical_xor"},
           {"BitwiseAnd", "bitwise_and"}, {"BitwiseOr", "bitwise_or"}, {"BitwiseXor", "bitwise_xor"}, {"BitwiseNot", "bitwise_not"}})
    t[onnx] = prefer(ours, nullptr);
  register_comparison_fallbacks(t);
  t["DequantizeLinear"] = convert_dequantize_linear;
  t["BitShift"] = convert_bit_shift;
  t["MatMulInteger"] = convert_matmul_integer;
  if (have_op("round") && have_op("clip")) t["QLinearMatMul"] = convert_qlinear_matmul;
  if (have_op("round") && have_op("clip")) t["QuantizeLinear"] = convert_quantize_linear;
  for (const char* arg : {"ArgMax", "ArgMin"}) {
    std::string ours = std::string(arg) == "ArgMax" ? "argmax" : "argmin";
    t[arg] = prefer(ours, nullptr, [](NodeContext& c) {
      return Attributes{{"axis", c.attr_int("axis", 0)}, {"keepdims", c.attr_int("keepdims", 1) != 0},
                        {"select_last_index", c.attr_int("select_last_index", 0) != 0}};
    });
  }
}

}  // namespace mithril::onnx_import
