// Converters of ONNX's shape, indexing and constant-producing ops. Shape operands (Reshape's shape,
// Slice's starts, ...) must be known at import time (NodeContext::need); Shape, Size, Range,
// ConstantOfShape and EyeLike are computed here, so torch's shape subgraphs fold away.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "core/error.h"
#include "onnx/onnx_import_context.h"
#include "ops/registry.h"

namespace mithril::onnx_import {

namespace {

// Operand i's ints when the node has it as an input, else attribute `name` (older opsets).
std::optional<std::vector<int64_t>> ints_operand(NodeContext& c, int i, const std::string& name) {
  if (c.has_attr(name)) return c.attr_ints(name);
  if (c.has(i)) return c.need_ints(i, name);
  return std::nullopt;
}

Shape need_shape(NodeContext& c, const Operand& x, const std::string& why) {
  std::optional<Shape> shape = concrete_shape(x);
  if (!shape) c.refuse(fmt::format("{} needs the shape of '{}' to be known at import time, it is {}", why, x.onnx_name, info_str(x.info())));
  return *shape;
}

void convert_constant(NodeContext& c) {
  if (c.has_attr("value")) return c.output(0, c.constant(c.attr_tensor("value")));
  if (c.has_attr("value_float")) return c.output(0, c.constant(Tensor::scalar(DType::float32, c.attr_float("value_float", 0))));
  if (c.has_attr("value_int")) return c.output(0, c.constant(Tensor::scalar(DType::int64, static_cast<double>(c.attr_int("value_int", 0)))));
  if (c.has_attr("value_ints")) return c.output(0, c.constant(int64_tensor(c.attr_ints("value_ints"))));
  if (c.has_attr("value_floats")) {
    std::vector<double> v = c.attr_floats("value_floats");
    Tensor t(DType::float32, Shape{static_cast<int64_t>(v.size())});
    for (std::size_t i = 0; i < v.size(); ++i) t.mutable_data_as<float>()[i] = static_cast<float>(v[i]);
    return c.output(0, c.constant(t));
  }
  c.refuse("only tensor, float, int, floats and ints values are supported (not strings or sparse tensors)");
}

void convert_shape(NodeContext& c) {
  Operand x = c.input(0);
  int64_t rank = rank_of(c, x);
  int64_t start = c.attr_int("start", 0), end = c.attr_int("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  SymShape shape = x.info().shape;
  std::vector<int64_t> dims;
  for (int64_t i = start; i < end; ++i) {
    if (!shape[static_cast<std::size_t>(i)].is_known())
      c.refuse(fmt::format("the shape of '{}' is {}: axis {} is not known at import time (give the input a fixed shape, "
                           "or --freeze the inputs it depends on)", x.onnx_name, shape_str(shape), i));
    dims.push_back(shape[static_cast<std::size_t>(i)].size);
  }
  c.output(0, c.constant(int64_tensor(dims)));
}

void convert_size(NodeContext& c) {
  Shape shape = need_shape(c, c.input(0), "Size");
  c.output(0, c.constant(Tensor::scalar(DType::int64, static_cast<double>(shape_numel(shape)))));
}

// ONNX Reshape: 0 copies the input's size on that axis (unless allowzero), one -1 is inferred.
void convert_reshape(NodeContext& c) {
  Operand x = c.input(0);
  std::vector<int64_t> target = c.opset() < 5 ? c.attr_ints("shape") : c.need_ints(1, "shape");
  bool allowzero = c.attr_int("allowzero", 0) != 0;
  SymShape in = x.info().shape;
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (target[i] != 0 || allowzero) continue;
    if (!x.info().rank_known || i >= in.size()) c.refuse("shape has 0 at axis " + std::to_string(i) + " beyond the input's rank");
    if (!in[i].is_known()) {
      // An unknown size copied: let reshape infer it when it is the only one.
      if (std::count(target.begin(), target.end(), -1)) c.refuse("shape copies an unknown size and also has -1");
      target[i] = -1;
    } else {
      target[i] = in[i].size;
    }
  }
  c.output(0, reshape_to(c, x, target));
}

void convert_flatten(NodeContext& c) {
  Operand x = c.input(0);
  int64_t rank = rank_of(c, x);
  int64_t axis = c.attr_int("axis", 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) c.refuse("axis out of range");
  if (std::optional<Shape> s = concrete_shape(x)) {
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= (*s)[static_cast<std::size_t>(i)];
    return c.output(0, reshape_to(c, x, {outer, inner}));
  }
  Operand y = x;
  if (axis == rank) y = reshape_to(c, y, [&] { std::vector<int64_t> s(static_cast<std::size_t>(rank), 0); return s; }());
  if (axis < rank) y = c.apply("flatten", {y}, {{"start_dim", axis}, {"end_dim", int64_t{-1}}});
  else c.refuse("flatten at the last axis needs a known shape");
  if (axis == 0) return c.output(0, reshape_to(c, y, {1, -1}));
  c.output(0, c.apply("flatten", {y}, {{"start_dim", int64_t{0}}, {"end_dim", axis - 1}}));
}

// Reshape to `dims`, where unknown dims stay -1 (at most one).
Operand reshape_sym(NodeContext& c, const Operand& x, const SymShape& dims) {
  std::vector<int64_t> target;
  int unknown = 0;
  for (const Dim& d : dims) {
    target.push_back(d.is_known() ? d.size : -1);
    unknown += !d.is_known();
  }
  if (unknown > 1) c.refuse("needs the input shape to be known at import time (more than one unknown size)");
  return reshape_to(c, x, target);
}

void convert_squeeze(NodeContext& c) {
  Operand x = c.input(0);
  int64_t rank = rank_of(c, x);
  SymShape in = x.info().shape;
  std::optional<std::vector<int64_t>> axes = ints_operand(c, 1, "axes");
  std::vector<bool> drop(static_cast<std::size_t>(rank), false);
  if (axes) {
    for (int64_t a : *axes) drop[static_cast<std::size_t>(norm_axis(c, a, rank))] = true;
  } else {
    for (int64_t i = 0; i < rank; ++i) {
      if (!in[static_cast<std::size_t>(i)].is_known()) c.refuse("squeeze without axes needs a known input shape");
      drop[static_cast<std::size_t>(i)] = in[static_cast<std::size_t>(i)].size == 1;
    }
  }
  SymShape out;
  for (int64_t i = 0; i < rank; ++i)
    if (!drop[static_cast<std::size_t>(i)]) out.push_back(in[static_cast<std::size_t>(i)]);
  c.output(0, reshape_sym(c, x, out));
}

void convert_unsqueeze(NodeContext& c) {
  Operand x = c.input(0);
  int64_t rank = rank_of(c, x);
  std::optional<std::vector<int64_t>> axes = ints_operand(c, 1, "axes");
  if (!axes) c.refuse("axes are missing");
  int64_t out_rank = rank + static_cast<int64_t>(axes->size());
  std::vector<bool> inserted(static_cast<std::size_t>(out_rank), false);
  for (int64_t a : *axes) inserted[static_cast<std::size_t>(norm_axis(c, a, out_rank))] = true;
  SymShape in = x.info().shape, out;
  std::size_t k = 0;
  for (int64_t i = 0; i < out_rank; ++i) out.push_back(inserted[static_cast<std::size_t>(i)] ? Dim::known(1) : in[k++]);
  c.output(0, reshape_sym(c, x, out));
}

void convert_transpose(NodeContext& c) {
  Operand x = c.input(0);
  if (c.has_attr("perm")) return c.output(0, c.apply("transpose", {x}, {{"axes", c.attr_ints("perm")}}));
  c.output(0, c.apply("transpose", {x}, {{"axes", AttrValue{}}}));
}

void convert_concat(NodeContext& c) {
  std::vector<Operand> ins;
  for (int i = 0; i < c.inputs(); ++i)
    if (c.has(i)) ins.push_back(c.input(i));
  if (ins.size() == 1) return c.output(0, ins[0]);
  c.output(0, c.apply("concat", ins, {{"axis", c.attr_int("axis", 0)}}));
}

// Gather along any axis: our gather (axis attribute when helper C added it; else axis 0 between transposes).
Operand gather_axis(NodeContext& c, const Operand& x, const Operand& indices, int64_t axis) {
  int64_t rank = rank_of(c, x);
  axis = norm_axis(c, axis, rank);
  if (axis == 0) return c.apply("gather", {x, indices});
  if (op_has_attr("gather", "axis")) return c.apply("gather", {x, indices}, {{"axis", axis}});
  std::vector<int64_t> front{axis};
  for (int64_t i = 0; i < rank; ++i)
    if (i != axis) front.push_back(i);
  Operand g = c.apply("gather", {c.apply("transpose", {x}, {{"axes", front}}), indices});
  int64_t q = rank_of(c, indices);
  std::vector<int64_t> back;
  for (int64_t i = 0; i < axis; ++i) back.push_back(q + i);
  for (int64_t i = 0; i < q; ++i) back.push_back(i);
  for (int64_t i = axis + 1; i < rank; ++i) back.push_back(q + i - 1);
  return c.apply("transpose", {g}, {{"axes", back}});
}

void convert_gather(NodeContext& c) { c.output(0, gather_axis(c, c.input(0), c.input(1), c.attr_int("axis", 0))); }

// ONNX Slice's clamping for one axis of size `dim`: the indices taken, in order.
std::vector<int64_t> slice_indices(int64_t start, int64_t end, int64_t step, int64_t dim) {
  std::vector<int64_t> out;
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    for (int64_t i = start; i < end; i += step) out.push_back(i);
  } else {
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
    for (int64_t i = start; i > end; i += step) out.push_back(i);
  }
  return out;
}

Operand slice(NodeContext& c, const Operand& x, std::vector<int64_t> starts, std::vector<int64_t> ends, std::vector<int64_t> axes,
              std::vector<int64_t> steps) {
  int64_t rank = rank_of(c, x);
  if (axes.empty())
    for (std::size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (starts.size() != ends.size() || axes.size() != starts.size() || steps.size() != starts.size())
    c.refuse("starts, ends, axes and steps differ in length");
  for (int64_t& a : axes) a = norm_axis(c, a, rank);
  for (int64_t s : steps)
    if (s == 0) c.refuse("a step is 0");
  if (have_op("slice"))
    return c.apply("slice", {x}, {{"starts", starts}, {"ends", ends}, {"axes", axes}, {"steps", steps}});
  // Without a slice operator: one gather per axis with the indices ONNX's rule selects.
  SymShape shape = x.info().shape;
  Operand y = x;
  for (std::size_t k = 0; k < axes.size(); ++k) {
    const Dim& d = shape[static_cast<std::size_t>(axes[k])];
    if (!d.is_known()) c.refuse("slicing an axis of unknown size needs our slice operator");
    std::vector<int64_t> idx = slice_indices(starts[k], ends[k], steps[k], d.size);
    if (static_cast<int64_t>(idx.size()) == d.size && steps[k] == 1) continue;
    y = gather_axis(c, y, c.constant(int64_tensor(idx)), axes[k]);
  }
  return y;
}

void convert_slice(NodeContext& c) {
  Operand x = c.input(0);
  if (c.opset() < 10)
    return c.output(0, slice(c, x, c.attr_ints("starts"), c.attr_ints("ends"), c.attr_ints("axes"), {}));
  std::vector<int64_t> axes = c.has(3) ? c.need_ints(3, "axes") : std::vector<int64_t>{};
  std::vector<int64_t> steps = c.has(4) ? c.need_ints(4, "steps") : std::vector<int64_t>{};
  c.output(0, slice(c, x, c.need_ints(1, "starts"), c.need_ints(2, "ends"), axes, steps));
}

void convert_split(NodeContext& c) {
  Operand x = c.input(0);
  int64_t rank = rank_of(c, x);
  int64_t axis = norm_axis(c, c.attr_int("axis", 0), rank);
  const Dim d = x.info().shape[static_cast<std::size_t>(axis)];
  std::optional<std::vector<int64_t>> sizes = ints_operand(c, 1, "split");
  int n = c.outputs();
  if (!sizes) {
    if (!d.is_known()) c.refuse("splitting an axis of unknown size needs explicit sizes");
    int64_t parts = c.has_attr("num_outputs") ? c.attr_int("num_outputs", n) : n;
    if (parts < 1) c.refuse(fmt::format("num_outputs {} is not positive", parts));
    int64_t chunk = (d.size + parts - 1) / parts;
    sizes.emplace();
    for (int64_t at = 0, i = 0; i < parts; ++i, at += chunk) sizes->push_back(std::max<int64_t>(0, std::min(chunk, d.size - at)));
  }
  int64_t at = 0;
  for (int i = 0; i < n && i < static_cast<int>(sizes->size()); ++i) {
    int64_t size = (*sizes)[static_cast<std::size_t>(i)];
    if (c.wants_output(i)) c.output(i, slice(c, x, {at}, {at + size}, {axis}, {1}));
    at += size;
  }
}

void convert_expand(NodeContext& c) {
  Operand x = c.input(0);
  std::vector<int64_t> shape = c.need_ints(1, "shape");
  if (have_op("expand")) return c.output(0, c.apply("expand", {x}, {{"shape", shape}}));
  // where(true, x, x) broadcasts x with a tensor of `shape` (numpy's two-way rule, like Expand).
  Tensor ones(DType::bool_, Shape(shape.begin(), shape.end()));
  std::memset(ones.mutable_data(), 1, ones.nbytes());
  c.output(0, c.apply("where", {c.constant(ones), x, x}));
}

void convert_tile(NodeContext& c) {
  Operand x = c.input(0);
  std::vector<int64_t> repeats = c.need_ints(1, "repeats");
  if (have_op("tile")) return c.output(0, c.apply("tile", {x}, {{"repeats", repeats}}));
  Operand y = x;
  for (std::size_t a = 0; a < repeats.size(); ++a) {
    if (repeats[a] == 1) continue;
    if (repeats[a] < 1) c.refuse("repeats below 1 need our tile operator");
    std::vector<Operand> copies(static_cast<std::size_t>(repeats[a]), y);
    y = c.apply("concat", copies, {{"axis", static_cast<int64_t>(a)}});
  }
  c.output(0, y);
}

void convert_where(NodeContext& c) { c.output(0, c.apply("where", {c.input(0), c.input(1), c.input(2)})); }

void convert_constant_of_shape(NodeContext& c) {
  std::vector<int64_t> shape = c.need_ints(0, "input");
  Tensor value = c.has_attr("value") ? c.attr_tensor("value") : Tensor::scalar(DType::float32, 0);
  if (value.numel() != 1) c.refuse("value must hold one element");
  Tensor out(value.dtype(), Shape(shape.begin(), shape.end()));
  std::size_t size = dtype_size(value.dtype());
  auto* dst = static_cast<unsigned char*>(out.mutable_data());
  for (int64_t i = 0; i < out.numel(); ++i) std::memcpy(dst + static_cast<std::size_t>(i) * size, value.data(), size);
  c.output(0, c.constant(out));
}

void convert_range(NodeContext& c) {
  double s = c.need_scalar(0, "start"), l = c.need_scalar(1, "limit"), d = c.need_scalar(2, "delta");
  Tensor start = c.need(0, "start");
  if (d == 0) c.refuse("delta is 0");
  double count = std::ceil((l - s) / d);
  if (!std::isfinite(count) || count > static_cast<double>(std::numeric_limits<int32_t>::max()))
    c.refuse(fmt::format("start {}, limit {} and delta {} do not give a range of at most 2^31 values", s, l, d));
  int64_t n = std::max<int64_t>(0, static_cast<int64_t>(count));
  if (is_integer(start.dtype())) {
    // Exact integer arithmetic (doubles lose int64 precision; 128 bits cannot overflow here).
    int64_t si = c.need_int(0, "start"), li = c.need_int(1, "limit"), di = c.need_int(2, "delta");
    __int128 span = static_cast<__int128>(li) - si + di + (di > 0 ? -1 : 1);
    n = static_cast<int64_t>(std::max<__int128>(0, span / di));
    if (n > std::numeric_limits<int32_t>::max())
      c.refuse(fmt::format("start {}, limit {} and delta {} do not give a range of at most 2^31 values", si, li, di));
    Tensor out(DType::int64, Shape{n});
    // Each value lies between start and limit, but i * delta alone may not fit in 64 bits.
    for (int64_t i = 0; i < n; ++i) out.mutable_data_as<int64_t>()[i] = static_cast<int64_t>(si + static_cast<__int128>(i) * di);
    return c.output(0, c.constant(out.cast(start.dtype())));
  }
  Tensor out(DType::float64, Shape{n});
  for (int64_t i = 0; i < n; ++i) out.mutable_data_as<double>()[i] = s + static_cast<double>(i) * d;
  if (start.dtype() == DType::float32) {
    // ONNX computes in the input type: accumulate in float as its reference does.
    Tensor f(DType::float32, Shape{n});
    float fs = static_cast<float>(s), fd = static_cast<float>(d);
    for (int64_t i = 0; i < n; ++i) f.mutable_data_as<float>()[i] = fs + static_cast<float>(i) * fd;
    return c.output(0, c.constant(f));
  }
  c.output(0, c.constant(out.cast(start.dtype())));
}

void convert_eye_like(NodeContext& c) {
  Operand x = c.input(0);
  Shape shape = need_shape(c, x, "EyeLike");
  if (shape.size() != 2) c.refuse("input must be 2-D");
  DType dtype = x.info().dtype;
  if (c.has_attr("dtype")) {
    std::optional<DType> d = dtype_from_onnx(static_cast<int32_t>(c.attr_int("dtype", 1)));
    if (!d) c.refuse("dtype not supported");
    dtype = *d;
  }
  int64_t k = c.attr_int("k", 0);
  Tensor out(DType::float64, shape);
  for (int64_t i = 0; i < shape[0]; ++i) {
    int64_t j = i + k;
    if (j >= 0 && j < shape[1]) out.mutable_data_as<double>()[i * shape[1] + j] = 1;
  }
  c.output(0, c.constant(out.cast(dtype)));
}

Converter simple(const std::string& op, std::function<Attributes(NodeContext&)> attrs) {
  if (!have_op(op)) return nullptr;
  return [op, attrs](NodeContext& c) {
    std::vector<Operand> ins;
    for (int i = 0; i < c.inputs(); ++i)
      if (c.has(i)) ins.push_back(c.input(i));
    c.output(0, c.apply(op, ins, attrs(c)));
  };
}

void convert_pad(NodeContext& c) {
  Operand x = c.input(0);
  int64_t rank = rank_of(c, x);
  std::vector<int64_t> pads = c.opset() < 11 ? c.attr_ints("pads") : c.need_ints(1, "pads");
  double value = c.opset() < 11 ? c.attr_float("value", 0) : (c.has(2) ? c.need_scalar(2, "constant_value") : 0.0);
  if (c.has(3)) {
    // axes: expand to pads over every axis.
    std::vector<int64_t> axes = c.need_ints(3, "axes");
    if (pads.size() != 2 * axes.size())
      c.refuse(fmt::format("pads has {} values, expected two per axis ({})", pads.size(), 2 * axes.size()));
    std::vector<int64_t> full(static_cast<std::size_t>(2 * rank), 0);
    for (std::size_t k = 0; k < axes.size(); ++k) {
      int64_t a = norm_axis(c, axes[k], rank);
      full[static_cast<std::size_t>(a)] = pads[k];
      full[static_cast<std::size_t>(a + rank)] = pads[k + axes.size()];
    }
    pads = full;
  }
  c.output(0, c.apply("pad", {x}, {{"pads", pads}, {"mode", c.attr_string("mode", "constant")}, {"value", value}}));
}

void convert_trilu(NodeContext& c) {
  int64_t k = c.has(1) ? c.need_int(1, "k") : 0;
  c.output(0, c.apply("trilu", {c.input(0)}, {{"upper", c.attr_int("upper", 1) != 0}, {"k", k}}));
}

void convert_cumsum(NodeContext& c) {
  int64_t axis = c.need_int(1, "axis");
  c.output(0, c.apply("cumsum", {c.input(0)}, {{"axis", axis}, {"exclusive", c.attr_int("exclusive", 0) != 0},
                                                {"reverse", c.attr_int("reverse", 0) != 0}}));
}

void convert_one_hot(NodeContext& c) {
  double depth_value = c.need_scalar(1, "depth");
  if (!(depth_value >= 1 && depth_value <= static_cast<double>(std::numeric_limits<int32_t>::max())))
    c.refuse(fmt::format("depth {} is not a positive size", depth_value));
  int64_t depth = static_cast<int64_t>(depth_value);
  c.output(0, c.apply("one_hot", {c.input(0), c.input(2)}, {{"depth", depth}, {"axis", c.attr_int("axis", -1)}}));
}

void convert_resize(NodeContext& c) {
  Operand x = c.input(0);
  Shape in = need_shape(c, x, "Resize");
  std::vector<int64_t> sizes;
  std::vector<double> scales, roi;
  // Opset 10: (X, scales); 11 and later: (X, roi, scales, sizes), empty tensors meaning absent.
  int scales_at = c.opset() >= 11 ? 2 : 1, sizes_at = 3;
  if (c.has(sizes_at) && c.need(sizes_at, "sizes").numel() > 0) {
    sizes = c.need_ints(sizes_at, "sizes");
  } else if (c.has(scales_at) && c.need(scales_at, "scales").numel() > 0) {
    Tensor s = c.need(scales_at, "scales");
    for (int64_t i = 0; i < s.numel(); ++i) scales.push_back(s.value_at(i));
    if (scales.size() != in.size()) c.refuse("scales must have one value per axis");
    for (std::size_t i = 0; i < in.size(); ++i) {
      double size = std::floor(static_cast<double>(in[i]) * scales[i]);
      if (!(size >= 0 && size <= static_cast<double>(std::numeric_limits<int32_t>::max())))
        c.refuse(fmt::format("scale {} of axis {} gives no valid size", scales[i], i));
      sizes.push_back(static_cast<int64_t>(size));
    }
  } else {
    c.refuse("neither scales nor sizes is given");
  }
  if (sizes.size() != in.size()) c.refuse("sizes must have one value per axis");
  std::string ctm = c.attr_string("coordinate_transformation_mode", c.opset() < 11 ? "asymmetric" : "half_pixel");
  if (ctm == "tf_crop_and_resize" && c.has(1)) {
    Tensor r = c.need(1, "roi");
    for (int64_t i = 0; i < r.numel(); ++i) roi.push_back(r.value_at(i));
  }
  if (c.has_attr("axes")) c.refuse("the axes attribute is not supported");
  if (c.attr_string("keep_aspect_ratio_policy", "stretch") != "stretch") c.refuse("keep_aspect_ratio_policy is not supported");
  Attributes attrs{{"sizes", sizes},
                   {"scales", scales},
                   {"roi", roi},
                   {"mode", c.attr_string("mode", "nearest")},
                   {"coordinate_transformation_mode", ctm},
                   {"nearest_mode", c.attr_string("nearest_mode", c.opset() < 11 ? "floor" : "round_prefer_floor")},
                   {"cubic_coeff_a", c.attr_float("cubic_coeff_a", -0.75)},
                   {"exclude_outside", c.attr_int("exclude_outside", 0) != 0},
                   {"extrapolation_value", c.attr_float("extrapolation_value", 0.0)}};
  c.output(0, c.apply("resize", {x}, attrs));
}

void convert_top_k(NodeContext& c) {
  Operand x = c.input(0);
  int64_t k = c.opset() < 10 ? c.attr_int("k", 1) : c.need_int(1, "k");
  Attributes attrs{{"k", k}, {"axis", c.attr_int("axis", -1)}, {"largest", c.attr_int("largest", 1) != 0},
                   {"sorted", c.attr_int("sorted", 1) != 0}};
  if (c.wants_output(0)) c.output(0, c.apply("top_k_values", {x}, attrs));
  if (c.wants_output(1)) c.output(1, c.apply("top_k_indices", {x}, attrs));
}

// If with a condition known at import (a constant, or a frozen input): the chosen branch's nodes
// become part of the model. A condition computed at run time is refused (no control flow here).
void convert_if(NodeContext& c) {
  bool condition = c.need_scalar(0, "cond") != 0;
  const onnx::AttributeProto* branch = c.attr(condition ? "then_branch" : "else_branch");
  if (!branch || !branch->has_g()) c.refuse("the branch graph is missing");
  std::vector<Operand> outs = c.inline_graph(branch->g());
  for (std::size_t i = 0; i < outs.size(); ++i) c.output(static_cast<int>(i), outs[i]);
}

Converter if_have(const std::string& op, Converter f) { return have_op(op) ? f : nullptr; }

void convert_reverse_sequence(NodeContext& c) {
  Operand lengths = c.input(1);
  if (lengths.info().dtype != DType::int64 && lengths.info().dtype != DType::int32) c.refuse("sequence_lens must be int64");
  c.output(0, c.apply("reverse_sequence", {c.input(0), lengths},
                      {{"batch_axis", c.attr_int("batch_axis", 1)}, {"time_axis", c.attr_int("time_axis", 0)}}));
}

void convert_tf_idf_vectorizer(NodeContext& c) {
  if (c.has_attr("pool_strings")) c.refuse("string tokens (pool_strings) are not supported: tensors here are numeric");
  Attributes attrs{{"mode", c.attr_string("mode", "")},
                   {"min_gram_length", c.attr_int("min_gram_length", 0)},
                   {"max_gram_length", c.attr_int("max_gram_length", 0)},
                   {"max_skip_count", c.attr_int("max_skip_count", 0)},
                   {"ngram_counts", c.attr_ints("ngram_counts")},
                   {"ngram_indexes", c.attr_ints("ngram_indexes")},
                   {"pool_int64s", c.attr_ints("pool_int64s")},
                   {"weights", c.attr_floats("weights")}};
  c.output(0, c.apply("tf_idf_vectorizer", {c.input(0)}, attrs));
}

}  // namespace

void register_shape_converters(ConverterTable& t) {
  t["Constant"] = convert_constant;
  t["If"] = convert_if;
  t["Shape"] = convert_shape;
  t["Size"] = convert_size;
  t["Reshape"] = convert_reshape;
  t["Flatten"] = convert_flatten;
  t["Squeeze"] = convert_squeeze;
  t["Unsqueeze"] = convert_unsqueeze;
  t["Transpose"] = convert_transpose;
  t["Concat"] = convert_concat;
  t["Gather"] = convert_gather;
  t["Slice"] = convert_slice;
  t["Split"] = convert_split;
  t["Expand"] = convert_expand;
  t["Tile"] = convert_tile;
  t["Where"] = convert_where;
  t["ConstantOfShape"] = convert_constant_of_shape;
  t["Range"] = convert_range;
  t["EyeLike"] = convert_eye_like;
  t["Pad"] = if_have("pad", convert_pad);
  t["Trilu"] = if_have("trilu", convert_trilu);
  t["CumSum"] = if_have("cumsum", convert_cumsum);
  t["OneHot"] = if_have("one_hot", convert_one_hot);
  t["Resize"] = if_have("resize", convert_resize);
  t["TopK"] = if_have("top_k_values", convert_top_k);
  t["GatherElements"] = simple("gather_elements", [](NodeContext& c) { return Attributes{{"axis", c.attr_int("axis", 0)}}; });
  t["ScatterElements"] = simple("scatter_elements", [](NodeContext& c) {
    return Attributes{{"axis", c.attr_int("axis", 0)}, {"reduction", c.attr_string("reduction", "none")}};
  });
  t["GatherND"] = simple("gather_nd", [](NodeContext& c) { return Attributes{{"batch_dims", c.attr_int("batch_dims", 0)}}; });
  t["ScatterND"] = simple("scatter_nd", [](NodeContext& c) { return Attributes{{"reduction", c.attr_string("reduction", "none")}}; });
  t["DepthToSpace"] = simple("depth_to_space", [](NodeContext& c) {
    return Attributes{{"blocksize", c.attr_int("blocksize", 1)}, {"mode", c.attr_string("mode", "DCR")}};
  });
  t["SpaceToDepth"] = simple("space_to_depth", [](NodeContext& c) { return Attributes{{"blocksize", c.attr_int("blocksize", 1)}}; });
  // Upsample (deprecated since opset 10) is Resize with scales, no roi.
  t["Upsample"] = if_have("resize", convert_resize);
  t["Einsum"] = simple("einsum", [](NodeContext& c) { return Attributes{{"equation", c.attr_string("equation", "")}}; });
  t["ReverseSequence"] = if_have("reverse_sequence", convert_reverse_sequence);
  t["TfIdfVectorizer"] = if_have("tf_idf_vectorizer", convert_tf_idf_vectorizer);
}

}  // namespace mithril::onnx_import
