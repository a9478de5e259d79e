// Converters of ONNX's convolution, pooling and normalization ops.
#include <limits>

#include <fmt/format.h>

#include "core/error.h"
#include "onnx/onnx_import_context.h"
#include "ops/registry.h"

namespace mithril::onnx_import {

namespace {

// Window geometry shared by Conv, ConvTranspose and the pools.
struct Window {
  std::vector<int64_t> kernel, strides, dilations;
  std::vector<int64_t> pads;  ///< ours: (before, after) per spatial axis
};

// ONNX pads [b1, b2, ..., e1, e2, ...] or auto_pad -> ours (b1, e1, b2, e2, ...).
Window window(NodeContext& c, const Operand& x, std::vector<int64_t> kernel, bool ceil_mode = false) {
  std::size_t n = kernel.size();
  Window w;
  w.kernel = kernel;
  w.strides = c.attr_ints("strides", std::vector<int64_t>(n, 1));
  w.dilations = c.attr_ints("dilations", std::vector<int64_t>(n, 1));
  if (w.strides.size() != n || w.dilations.size() != n) c.refuse("strides or dilations do not match the kernel's rank");
  std::vector<int64_t> onnx_pads = c.attr_ints("pads", std::vector<int64_t>(2 * n, 0));
  if (onnx_pads.size() != 2 * n) c.refuse("pads must hold two values per spatial axis");
  // Sizes below index the input's spatial axes and divide by strides: a file's values are
  // checked first.
  auto positive = [](const std::vector<int64_t>& v) { return std::all_of(v.begin(), v.end(), [](int64_t k) { return k > 0; }); };
  if (!positive(kernel) || !positive(w.strides) || !positive(w.dilations))
    c.refuse("kernel_shape, strides and dilations must be positive");
  if (std::any_of(onnx_pads.begin(), onnx_pads.end(), [](int64_t p) { return p < 0; })) c.refuse("pads must not be negative");
  const ValueInfo& info = x.info();
  if (info.rank_known && info.shape.size() != n + 2)
    c.refuse(fmt::format("input '{}' has rank {}, expected {} for a {}-D window", x.onnx_name, info.shape.size(), n + 2, n));
  std::string auto_pad = c.attr_string("auto_pad", "NOTSET");
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    if (!info.rank_known) c.refuse("auto_pad " + auto_pad + " needs the input's rank");
    const SymShape& shape = info.shape;
    for (std::size_t i = 0; i < n; ++i) {
      const Dim& d = shape[2 + i];
      if (!d.is_known()) c.refuse("auto_pad " + auto_pad + " needs known spatial sizes");
      int64_t out = (d.size + w.strides[i] - 1) / w.strides[i];
      int64_t total = std::max<int64_t>(0, (out - 1) * w.strides[i] + (kernel[i] - 1) * w.dilations[i] + 1 - d.size);
      int64_t small = total / 2, big = total - small;
      onnx_pads[i] = auto_pad == "SAME_UPPER" ? small : big;
      onnx_pads[i + n] = auto_pad == "SAME_UPPER" ? big : small;
    }
  } else if (auto_pad == "VALID") {
    onnx_pads.assign(2 * n, 0);
  } else if (auto_pad != "NOTSET") {
    c.refuse("auto_pad '" + auto_pad + "' is not known");
  }
  (void)ceil_mode;
  for (std::size_t i = 0; i < n; ++i) {
    w.pads.push_back(onnx_pads[i]);
    w.pads.push_back(onnx_pads[i + n]);
  }
  return w;
}

Operand cast_to_wide(NodeContext& c, const Operand& x) {
  if (x.info().dtype == DType::float64) return x;
  return c.apply("cast", {x}, {{"dtype", dtype_attr(DType::float64)}});
}

// A per-channel vector [C] reshaped to broadcast against [N, C, spatial...].
Operand channel_vector(NodeContext& c, const Operand& v, int64_t rank) {
  std::vector<int64_t> shape(static_cast<std::size_t>(std::max<int64_t>(rank - 1, 1)), 1);
  shape[0] = -1;
  return reshape_to(c, v, shape);
}

// Conv's attributes (kernel_shape, strides, pads or auto_pad, dilations, group) applied to x and weight.
Operand conv(NodeContext& c, const Operand& x, const Operand& weight) {
  int64_t rank = rank_of(c, weight);
  int64_t spatial = rank - 2;
  std::optional<Shape> wshape = concrete_shape(weight);
  std::vector<int64_t> kernel = c.attr_ints("kernel_shape");
  if (spatial < 1) c.refuse(fmt::format("the weight has rank {}, expected at least 3", rank));
  if (kernel.empty()) {
    if (!wshape) c.refuse("the weight's shape must be known");
    kernel.assign(wshape->begin() + 2, wshape->end());
  }
  Window w = window(c, x, kernel);
  std::string op = spatial == 1 ? "conv1d" : spatial == 2 ? "conv2d" : spatial == 3 ? "conv3d" : "";
  if (op.empty() || !have_op(op)) c.refuse(fmt::format("{}-D convolution is not supported", spatial));
  return c.apply(op, {x, weight},
                 {{"stride", w.strides}, {"padding", w.pads}, {"dilation", w.dilations}, {"groups", c.attr_int("group", 1)}});
}

void convert_conv(NodeContext& c) {
  Operand weight = c.input(1);
  Operand y = conv(c, c.input(0), weight);
  if (c.has(2)) y = c.apply("add", {y, channel_vector(c, c.input(2), rank_of(c, weight))});
  c.output(0, y);
}

// QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B): ConvInteger's exact sum plus
// the int32 bias, requantized (w_scale may be per output channel).
void convert_qlinear_conv(NodeContext& c) {
  Operand x = c.apply("subtract", {cast_to_wide(c, c.input(0)), cast_to_wide(c, c.input(2))});
  Operand w = cast_to_wide(c, c.input(3));
  int64_t rank = rank_of(c, w);
  Operand wzp = cast_to_wide(c, c.input(5));
  if (wzp.info().shape.size() == 1) wzp = channel_vector(c, wzp, rank + 1);
  w = c.apply("subtract", {w, wzp});
  Operand acc = conv(c, x, w);
  if (c.has(8)) acc = c.apply("add", {acc, channel_vector(c, cast_to_wide(c, c.input(8)), rank)});
  Operand w_scale = c.input(4);
  if (w_scale.info().shape.size() == 1) w_scale = channel_vector(c, w_scale, rank);
  c.output(0, requantize(c, acc, c.input(1), w_scale, c.input(6), c.input(7)));
}

// ConvInteger: (x - x_zero_point) * (w - w_zero_point) summed exactly in float64, output int32.
// Padding adds zeros after the zero point is subtracted (what ONNX's reference computes).
void convert_conv_integer(NodeContext& c) {
  Operand x = cast_to_wide(c, c.input(0));
  Operand w = cast_to_wide(c, c.input(1));
  if (c.has(2)) x = c.apply("subtract", {x, cast_to_wide(c, c.input(2))});
  if (c.has(3)) {
    Operand zp = cast_to_wide(c, c.input(3));
    if (zp.info().shape.size() == 1) zp = channel_vector(c, zp, rank_of(c, w) + 1);
    w = c.apply("subtract", {w, zp});
  }
  c.output(0, c.apply("cast", {conv(c, x, w)}, {{"dtype", dtype_attr(DType::int32)}}));
}

void convert_conv_transpose(NodeContext& c) {
  Operand x = c.input(0), weight = c.input(1);
  int64_t rank = rank_of(c, weight);
  int64_t spatial = rank - 2;
  std::string op = fmt::format("conv_transpose{}d", spatial);
  if (!have_op(op)) c.refuse(fmt::format("{}-D transposed convolution is not supported", spatial));
  std::optional<Shape> wshape = concrete_shape(weight);
  std::optional<Shape> xshape = concrete_shape(x);
  std::vector<int64_t> kernel = c.attr_ints("kernel_shape");
  if (kernel.empty()) {
    if (!wshape) c.refuse("the weight's shape must be known");
    kernel.assign(wshape->begin() + 2, wshape->end());
  }
  std::size_t n = kernel.size();
  std::vector<int64_t> strides = c.attr_ints("strides", std::vector<int64_t>(n, 1));
  std::vector<int64_t> dilations = c.attr_ints("dilations", std::vector<int64_t>(n, 1));
  std::vector<int64_t> out_pad = c.attr_ints("output_padding", std::vector<int64_t>(n, 0));
  std::vector<int64_t> pads = c.attr_ints("pads", std::vector<int64_t>(2 * n, 0));
  std::string auto_pad = c.attr_string("auto_pad", "NOTSET");
  std::vector<int64_t> output_shape = c.attr_ints("output_shape");
  // Every list is indexed per spatial axis below: a file's lengths are checked first.
  auto check_length = [&](const char* name, std::size_t size, std::size_t expected) {
    if (size != expected) c.refuse(fmt::format("attribute '{}' has {} values, expected {}", name, size, expected));
  };
  check_length("kernel_shape", n, static_cast<std::size_t>(std::max<int64_t>(spatial, 0)));
  check_length("strides", strides.size(), n);
  check_length("dilations", dilations.size(), n);
  check_length("output_padding", out_pad.size(), n);
  check_length("pads", pads.size(), 2 * n);
  if (!output_shape.empty() && output_shape.size() < n)
    c.refuse(fmt::format("attribute 'output_shape' has {} values, expected at least {}", output_shape.size(), n));
  if (!output_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    if (!xshape) c.refuse("output_shape / auto_pad need a known input shape");
    if (xshape->size() != n + 2) c.refuse(fmt::format("the input has rank {}, expected {}", xshape->size(), n + 2));
    for (std::size_t i = 0; i < n; ++i) {
      int64_t in = (*xshape)[2 + i];
      int64_t out = output_shape.empty() ? in * strides[i] : output_shape[output_shape.size() - n + i];
      int64_t total = strides[i] * (in - 1) + out_pad[i] + (kernel[i] - 1) * dilations[i] + 1 - out;
      if (total < 0) {
        out_pad[i] -= total;
        total = 0;
      }
      bool upper = auto_pad != "SAME_LOWER";
      pads[i] = upper ? total / 2 : total - total / 2;
      pads[i + n] = total - pads[i];
    }
  } else if (auto_pad == "VALID") {
    pads.assign(2 * n, 0);
  }
  std::vector<int64_t> ours;
  for (std::size_t i = 0; i < n; ++i) {
    ours.push_back(pads[i]);
    ours.push_back(pads[i + n]);
  }
  Operand y = c.apply(op, {x, weight},
                      {{"stride", strides}, {"padding", ours}, {"output_padding", out_pad}, {"dilation", dilations},
                       {"groups", c.attr_int("group", 1)}});
  if (c.has(2)) y = c.apply("add", {y, channel_vector(c, c.input(2), rank)});
  c.output(0, y);
}

// x padded on its spatial axes with `value` (pads: ours, before/after per spatial axis), by
// concatenating constant blocks: for the pools when our operator lacks the padding semantics.
Operand pad_with(NodeContext& c, const Operand& x, const std::vector<int64_t>& pads, double value) {
  std::optional<Shape> shape = concrete_shape(x);
  if (!shape) c.refuse("padding needs a known input shape");
  Operand y = x;
  Shape s = *shape;
  if (s.size() != pads.size() / 2 + 2) c.refuse(fmt::format("padding {} axes of an input of rank {}", pads.size() / 2, s.size()));
  for (std::size_t i = 0; 2 * i < pads.size(); ++i) {
    int64_t axis = static_cast<int64_t>(i) + 2;
    std::vector<Operand> parts;
    for (int side = 0; side < 2; ++side) {
      int64_t n = pads[2 * i + static_cast<std::size_t>(side)];
      if (n < 0) c.refuse("negative padding is not supported");
      if (n == 0) continue;
      Shape block = s;
      block[static_cast<std::size_t>(axis)] = n;
      Tensor t = Tensor(DType::float64, block);
      for (int64_t k = 0; k < t.numel(); ++k) t.mutable_data_as<double>()[k] = value;
      parts.push_back(c.constant(t.cast(x.info().dtype)));
    }
    if (parts.empty()) continue;
    std::vector<Operand> all;
    if (pads[2 * i] > 0) all.push_back(parts.front());
    all.push_back(y);
    if (pads[2 * i + 1] > 0) all.push_back(parts.back());
    y = c.apply("concat", all, {{"axis", axis}});
    s[static_cast<std::size_t>(axis)] += pads[2 * i] + pads[2 * i + 1];
  }
  return y;
}

// Extra padding at the end of each spatial axis so that floor-mode pooling gives ceil_mode's
// output size (ONNX: ceil((in + pads - dilated kernel) / stride) + 1 windows).
std::vector<int64_t> ceil_mode_pads(NodeContext& c, const Operand& x, const Window& w) {
  std::optional<Shape> shape = concrete_shape(x);
  if (!shape) c.refuse("ceil_mode needs a known input shape");
  std::vector<int64_t> pads = w.pads;
  for (std::size_t i = 0; i < w.kernel.size(); ++i) {
    int64_t in = (*shape)[2 + i] + w.pads[2 * i] + w.pads[2 * i + 1];
    int64_t span = (w.kernel[i] - 1) * w.dilations[i] + 1;
    int64_t out = (in - span + w.strides[i] - 1) / w.strides[i] + 1;
    // The last window must start inside the input or its left padding (as torch and ONNX's reference).
    if ((out - 1) * w.strides[i] >= (*shape)[2 + i] + w.pads[2 * i]) --out;
    pads[2 * i + 1] += std::max<int64_t>(0, (out - 1) * w.strides[i] + span - in);
  }
  return pads;
}

void convert_max_pool(NodeContext& c) {
  if (c.wants_output(1)) c.refuse("the Indices output is not supported");
  Operand x = c.input(0);
  std::vector<int64_t> kernel = c.attr_ints("kernel_shape");
  Window w = window(c, x, kernel);
  bool padded = std::any_of(w.pads.begin(), w.pads.end(), [](int64_t p) { return p != 0; });
  bool ceil_mode = c.attr_int("ceil_mode", 0) != 0;
  if (c.attr_int("storage_order", 0) != 0) c.refuse("storage_order 1 is not supported");
  std::string op = fmt::format("max_pool{}d", kernel.size());
  if (!have_op(op)) c.refuse(fmt::format("{}-D max pooling is not supported", kernel.size()));
  Attributes attrs{{"kernel_size", kernel}, {"stride", w.strides}, {"padding", w.pads}, {"dilation", w.dilations}};
  if ((!padded || op_has_attr(op, "pad_with_neg_inf")) && (!ceil_mode || op_has_attr(op, "ceil_mode"))) {
    if (padded) attrs["pad_with_neg_inf"] = true;
    if (ceil_mode) attrs["ceil_mode"] = true;
    return c.output(0, c.apply(op, {x}, attrs));
  }
  // Our max pool pads with zeros: pad with -inf here and pool without padding.
  std::vector<int64_t> pads = ceil_mode ? ceil_mode_pads(c, x, w) : w.pads;
  Operand padded_x = pad_with(c, x, pads, -std::numeric_limits<double>::infinity());
  attrs["padding"] = std::vector<int64_t>(pads.size(), 0);
  c.output(0, c.apply(op, {padded_x}, attrs));
}

// Average pooling as a depthwise convolution with a kernel of ones: sums of each window, divided
// by the window size, or (count_include_pad 0) by the same convolution of a ones image, which
// counts the window's elements inside the input.
void average_pool_by_conv(NodeContext& c, const Operand& x, const Window& w) {
  std::optional<Shape> shape = concrete_shape(x);
  std::size_t n = w.kernel.size();
  std::string conv = n == 1 ? "conv1d" : n == 2 ? "conv2d" : "";
  if (!shape || conv.empty()) c.refuse(fmt::format("{}-D average pooling needs our avg_pool{}d operator", n, n));
  bool include_pad = c.attr_int("count_include_pad", 0) != 0;
  bool ceil_mode = c.attr_int("ceil_mode", 0) != 0;
  std::vector<int64_t> pads = ceil_mode ? ceil_mode_pads(c, x, w) : w.pads;
  DType t = x.info().dtype;
  int64_t channels = (*shape)[1];
  Shape kshape{channels, 1};
  kshape.insert(kshape.end(), w.kernel.begin(), w.kernel.end());
  Tensor ones = Tensor(DType::float64, kshape);
  for (int64_t k = 0; k < ones.numel(); ++k) ones.mutable_data_as<double>()[k] = 1;
  Attributes attrs{{"stride", w.strides}, {"padding", pads}, {"dilation", w.dilations}, {"groups", channels}};
  Operand sums = c.apply(conv, {x, c.constant(ones.cast(t))}, attrs);
  if (include_pad && !ceil_mode) {
    int64_t size = 1;
    for (int64_t k : w.kernel) size *= k;
    return c.output(0, c.apply("divide", {sums, scalar_like(c, t, static_cast<double>(size))}));
  }
  // Element counts: a ones image (its declared padding counted too when count_include_pad).
  Shape image{1, 1};
  image.insert(image.end(), shape->begin() + 2, shape->end());
  Tensor img(DType::float64, image);
  for (int64_t k = 0; k < img.numel(); ++k) img.mutable_data_as<double>()[k] = 1;
  Operand counted = c.constant(img.cast(t));
  std::vector<int64_t> count_pads = pads;
  if (include_pad) {
    counted = pad_with(c, counted, w.pads, 1.0);
    for (std::size_t i = 0; i < pads.size(); ++i) count_pads[i] -= w.pads[i];
  }
  Shape one_kernel{1, 1};
  one_kernel.insert(one_kernel.end(), w.kernel.begin(), w.kernel.end());
  Tensor k1(DType::float64, one_kernel);
  for (int64_t k = 0; k < k1.numel(); ++k) k1.mutable_data_as<double>()[k] = 1;
  Operand counts = c.apply(conv, {counted, c.constant(k1.cast(t))},
                           {{"stride", w.strides}, {"padding", count_pads}, {"dilation", w.dilations}, {"groups", int64_t{1}}});
  c.output(0, c.apply("divide", {sums, counts}));
}

void convert_average_pool(NodeContext& c) {
  Operand x = c.input(0);
  std::vector<int64_t> kernel = c.attr_ints("kernel_shape");
  Window w = window(c, x, kernel);
  std::string op = fmt::format("avg_pool{}d", kernel.size());
  if (!have_op(op)) return average_pool_by_conv(c, x, w);
  Attributes attrs{{"kernel_size", kernel}, {"stride", w.strides}, {"padding", w.pads},
                   {"ceil_mode", c.attr_int("ceil_mode", 0) != 0}, {"count_include_pad", c.attr_int("count_include_pad", 0) != 0}};
  if (op_has_attr(op, "dilation")) attrs["dilation"] = w.dilations;
  c.output(0, c.apply(op, {x}, attrs));
}

Converter global_pool(const std::string& op) {
  return [op](NodeContext& c) {
    Operand x = c.input(0);
    int64_t rank = rank_of(c, x);
    std::vector<int64_t> axes;
    for (int64_t i = 2; i < rank; ++i) axes.push_back(i);
    c.output(0, c.apply(op, {x}, {{"axes", axes}, {"keepdims", true}}));
  };
}

// y = (x - mean) * scale / sqrt(var + eps) + bias, per channel.
Operand batch_norm(NodeContext& c, const Operand& x, const Operand& scale, const Operand& bias, const Operand& mean,
                   const Operand& var, double eps) {
  int64_t rank = rank_of(c, x);
  DType t = x.info().dtype;
  Operand inv = c.apply("divide", {scale, c.apply("sqrt", {c.apply("add", {var, scalar_like(c, t, eps)})})});
  Operand centered = c.apply("subtract", {x, channel_vector(c, mean, rank)});
  return c.apply("add", {c.apply("multiply", {centered, channel_vector(c, inv, rank)}), channel_vector(c, bias, rank)});
}

void convert_batch_norm(NodeContext& c) {
  Operand x = c.input(0), scale = c.input(1), bias = c.input(2), mean = c.input(3), var = c.input(4);
  double eps = c.attr_float("epsilon", 1e-5);
  if (c.attr_int("training_mode", 0) != 0) {
    // Statistics of this batch normalize it; the running ones are updated with `momentum`.
    int64_t rank = rank_of(c, x);
    DType t = x.info().dtype;
    std::vector<int64_t> axes{0};
    for (int64_t i = 2; i < rank; ++i) axes.push_back(i);
    Operand batch_mean = c.apply("mean", {x}, {{"axes", axes}, {"keepdims", false}});
    Operand centered = c.apply("subtract", {x, channel_vector(c, batch_mean, rank)});
    Operand batch_var = c.apply("mean", {c.apply("multiply", {centered, centered})}, {{"axes", axes}, {"keepdims", false}});
    double momentum = c.attr_float("momentum", 0.9);
    auto blend = [&](const Operand& running, const Operand& batch) {
      return c.apply("add", {c.apply("multiply", {running, scalar_like(c, t, momentum)}),
                             c.apply("multiply", {batch, scalar_like(c, t, 1 - momentum)})});
    };
    c.output(0, batch_norm(c, x, scale, bias, batch_mean, batch_var, eps));
    c.output(1, blend(mean, batch_mean));
    c.output(2, blend(var, batch_var));
    return;
  }
  if (c.wants_output(1) || c.wants_output(2)) c.refuse("statistics outputs are only defined in training mode");
  if (have_op("batch_norm")) return c.output(0, c.apply("batch_norm", {x, scale, bias, mean, var}, {{"epsilon", eps}}));
  c.output(0, batch_norm(c, x, scale, bias, mean, var, eps));
}

void convert_instance_norm(NodeContext& c) {
  Operand x = c.input(0), scale = c.input(1), bias = c.input(2);
  double eps = c.attr_float("epsilon", 1e-5);
  if (have_op("instance_norm")) return c.output(0, c.apply("instance_norm", {x, scale, bias}, {{"epsilon", eps}}));
  int64_t rank = rank_of(c, x);
  DType t = x.info().dtype;
  std::vector<int64_t> axes;
  for (int64_t i = 2; i < rank; ++i) axes.push_back(i);
  Operand mean = c.apply("mean", {x}, {{"axes", axes}, {"keepdims", true}});
  Operand centered = c.apply("subtract", {x, mean});
  Operand var = c.apply("mean", {c.apply("multiply", {centered, centered})}, {{"axes", axes}, {"keepdims", true}});
  Operand normed = c.apply("divide", {centered, c.apply("sqrt", {c.apply("add", {var, scalar_like(c, t, eps)})})});
  c.output(0, c.apply("add", {c.apply("multiply", {normed, channel_vector(c, scale, rank)}), channel_vector(c, bias, rank)}));
}

void convert_layer_norm(NodeContext& c) {
  Operand x = c.input(0), scale = c.input(1);
  int64_t rank = rank_of(c, x);
  int64_t axis = norm_axis(c, c.attr_int("axis", -1), rank);
  double eps = c.attr_float("epsilon", 1e-5);
  DType t = x.info().dtype;
  std::vector<int64_t> axes;
  for (int64_t i = axis; i < rank; ++i) axes.push_back(i);
  if (c.attr_int("stash_type", 1) != 1 && t != DType::float64) c.refuse("stash_type other than float is not supported");
  bool extra_outputs = c.wants_output(1) || c.wants_output(2);
  if (have_op("layer_norm") && !extra_outputs) {
    Operand bias = c.has(2) ? c.input(2) : c.apply("multiply", {scale, scalar_like(c, scale.info().dtype, 0)});
    return c.output(0, c.apply("layer_norm", {x, scale, bias}, {{"axis", axis}, {"epsilon", eps}}));
  }
  Operand mean = c.apply("mean", {x}, {{"axes", axes}, {"keepdims", true}});
  Operand centered = c.apply("subtract", {x, mean});
  Operand var = c.apply("mean", {c.apply("multiply", {centered, centered})}, {{"axes", axes}, {"keepdims", true}});
  Operand inv_std = c.apply("divide", {scalar_like(c, t, 1), c.apply("sqrt", {c.apply("add", {var, scalar_like(c, t, eps)})})});
  Operand y = c.apply("multiply", {c.apply("multiply", {centered, inv_std}), scale});
  if (c.has(2)) y = c.apply("add", {y, c.input(2)});
  c.output(0, y);
  c.output(1, mean);
  c.output(2, inv_std);
}

// LRN: x / (bias + alpha / size * sum of x^2 over a window of `size` channels)^beta. The window
// mean (alpha / size * sum) is an average pool over the channel axis of [N, 1, C, spatial...].
void convert_lrn(NodeContext& c) {
  Operand x = c.input(0);
  std::optional<Shape> shape = concrete_shape(x);
  if (!shape || shape->size() < 3 || shape->size() > 4) c.refuse("needs a known 3-D or 4-D input shape");
  int64_t size = c.attr_int("size", 1);
  if (size < 1) c.refuse(fmt::format("size {} is not positive", size));
  double alpha = c.attr_float("alpha", 1e-4), beta = c.attr_float("beta", 0.75), bias = c.attr_float("bias", 1.0);
  std::size_t spatial = shape->size() - 2;
  std::string pool = spatial == 1 ? "avg_pool2d" : "avg_pool3d";
  if (!have_op(pool)) c.refuse("needs our " + pool + " operator");
  DType t = x.info().dtype;
  std::vector<int64_t> lifted{(*shape)[0], 1};
  lifted.insert(lifted.end(), shape->begin() + 1, shape->end());
  Operand squares = reshape_to(c, c.apply("multiply", {x, x}), lifted);
  std::vector<int64_t> kernel(spatial + 1, 1), stride(spatial + 1, 1), padding(2 * (spatial + 1), 0);
  kernel[0] = size;
  padding[0] = (size - 1) / 2;
  padding[1] = size - 1 - (size - 1) / 2;
  Operand window_mean = c.apply(pool, {squares}, {{"kernel_size", kernel}, {"stride", stride}, {"padding", padding},
                                           {"count_include_pad", true}});
  Operand mean = reshape_to(c, window_mean, std::vector<int64_t>(shape->begin(), shape->end()));
  Operand base = c.apply("add", {scalar_like(c, t, bias), c.apply("multiply", {mean, scalar_like(c, t, alpha)})});
  c.output(0, c.apply("divide", {x, c.apply("power", {base, scalar_like(c, t, beta)})}));
}

// GridSample: opset 20 renamed the modes linear and cubic (and allowed N-D, which we refuse by rank).
void convert_grid_sample(NodeContext& c) {
  std::string mode = c.attr_string("mode", "bilinear");
  if (mode == "linear") mode = "bilinear";
  if (mode == "cubic") mode = "bicubic";
  c.output(0, c.apply("grid_sample", {c.input(0), c.input(1)},
                      {{"mode", mode}, {"padding_mode", c.attr_string("padding_mode", "zeros")},
                       {"align_corners", c.attr_int("align_corners", 0) != 0}}));
}

// MaxUnpool: output_shape (a full [N, C, spatial...] shape) must be known at import.
void convert_max_unpool(NodeContext& c) {
  Operand x = c.input(0);
  std::vector<int64_t> kernel = c.attr_ints("kernel_shape");
  if (kernel.empty()) c.refuse("kernel_shape is missing");
  Window w = window(c, x, kernel);
  Attributes attrs{{"kernel_size", kernel}, {"stride", w.strides}, {"padding", w.pads}};
  if (c.has(2)) {
    std::vector<int64_t> shape = c.need_ints(2, "output_shape");
    if (shape.size() != kernel.size() + 2) c.refuse("output_shape must hold N, C and one size per spatial axis");
    attrs["output_size"] = std::vector<int64_t>(shape.begin() + 2, shape.end());
  }
  c.output(0, c.apply("max_unpool", {x, c.input(1)}, attrs));
}

}  // namespace

void register_nn_converters(ConverterTable& t) {
  t["LRN"] = convert_lrn;
  t["Conv"] = convert_conv;
  t["ConvInteger"] = convert_conv_integer;
  if (have_op("round") && have_op("clip")) t["QLinearConv"] = convert_qlinear_conv;
  t["ConvTranspose"] = convert_conv_transpose;
  t["MaxPool"] = convert_max_pool;
  t["AveragePool"] = convert_average_pool;
  t["GlobalAveragePool"] = global_pool("mean");
  t["GlobalMaxPool"] = global_pool("max");
  t["BatchNormalization"] = convert_batch_norm;
  t["InstanceNormalization"] = convert_instance_norm;
  t["LayerNormalization"] = convert_layer_norm;
  if (have_op("grid_sample")) t["GridSample"] = convert_grid_sample;
  if (have_op("max_unpool")) t["MaxUnpool"] = convert_max_unpool;
}

}  // namespace mithril::onnx_import
