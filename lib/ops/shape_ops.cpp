// Shape operators: reshape, transpose, concat, flatten, and (for ONNX) slice, expand, tile, pad,
// depth_to_space, space_to_depth. They move elements without looking at them: every dtype.
// dim_size and eye_of_dim read only their input's shape: they stand for Python Mithril's Size and
// Length (a Python int) where its models use one, as a number or as an Eye's size.
#include <algorithm>
#include <limits>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "core/error.h"
#include "ops/families.h"
#include "ops/indexing.h"
#include "ops/shape_inference.h"

namespace mithril {

namespace {

// numpy.reshape with a literal target: one -1 is inferred from the element count, 0 is a size 0.
// With symbolic inputs the count is only checked when every dimension is known; a -1 becomes the
// input's single unknown dimension when the known sizes match exactly ([batch,10,4] -> [-1,40]
// is [batch,40]), and unknown otherwise.
ValueInfo infer_reshape(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  const SymShape& input = in[0].shape;
  std::vector<int64_t> target = attr_ints(attrs, "shape");
  int64_t inferred_at = -1;
  int64_t target_known = 1;
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (target[i] == -1) {
      if (inferred_at >= 0) throw Error(ErrorKind::schema, "reshape: more than one -1 in shape " + ints_str(target));
      inferred_at = static_cast<int64_t>(i);
    } else if (target[i] < -1) {
      throw Error(ErrorKind::schema, "reshape: negative size " + std::to_string(target[i]) + " in shape " +
                                         ints_str(target));
    } else {
      target_known *= target[i];
    }
  }
  SymShape out;
  for (int64_t size : target) out.push_back(size == -1 ? Dim::any() : Dim::known(size));
  if (is_concrete(input)) {
    int64_t count = shape_numel(to_shape(input));
    if (inferred_at >= 0) {
      if (target_known == 0 || count % target_known != 0)
        throw Error(ErrorKind::shape, "cannot reshape " + shape_str(input) + " (" + std::to_string(count) +
                                          " elements) into " + ints_str(target));
      out[static_cast<std::size_t>(inferred_at)] = Dim::known(count / target_known);
    } else if (count != target_known) {
      throw Error(ErrorKind::shape, "cannot reshape " + shape_str(input) + " (" + std::to_string(count) +
                                        " elements) into " + ints_str(target) + " (" + std::to_string(target_known) +
                                        " elements)");
    }
  } else if (inferred_at >= 0) {
    int64_t input_known = 1;
    std::vector<Dim> symbolic;
    for (const Dim& d : input) {
      if (d.is_known()) input_known *= d.size;
      else symbolic.push_back(d);
    }
    if (symbolic.size() == 1 && input_known == target_known && target_known != 0)
      out[static_cast<std::size_t>(inferred_at)] = symbolic.front();
  }
  return ValueInfo{in[0].dtype, out};
}

ValueInfo infer_transpose(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  const SymShape& input = in[0].shape;
  int64_t rank = static_cast<int64_t>(input.size());
  std::vector<int64_t> axes;
  if (attr_is_null(attrs, "axes")) {
    for (int64_t a = rank - 1; a >= 0; --a) axes.push_back(a);
  } else {
    std::vector<int64_t> given = attr_ints(attrs, "axes");
    if (static_cast<int64_t>(given.size()) != rank)
      throw Error(ErrorKind::shape, "transpose: axes " + ints_str(given) + " do not match the rank " +
                                        std::to_string(rank) + " of " + shape_str(input));
    axes = normalize_axes(given, rank);
  }
  SymShape out;
  for (int64_t a : axes) out.push_back(input[static_cast<std::size_t>(a)]);
  return ValueInfo{in[0].dtype, out};
}

// numpy.squeeze: the given axes (each of size 1), or with axes null every axis of size 1, which
// only a fully known shape tells: otherwise the rank stays unknown until compile time.
ValueInfo infer_squeeze(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  const SymShape& input = in[0].shape;
  int64_t rank = static_cast<int64_t>(input.size());
  std::vector<bool> drop(input.size(), false);
  if (attr_is_null(attrs, "axes")) {
    for (std::size_t d = 0; d < input.size(); ++d) {
      if (!input[d].is_known()) return ValueInfo{in[0].dtype, {}, false};
      drop[d] = input[d].size == 1;
    }
  } else {
    for (int64_t a : normalize_axes(attr_ints(attrs, "axes"), rank)) {
      const Dim& dim = input[static_cast<std::size_t>(a)];
      if (dim.is_known() && dim.size != 1)
        throw Error(ErrorKind::shape, "squeeze: axis " + std::to_string(a) + " of " + shape_str(input) + " has size " +
                                          std::to_string(dim.size) + ", not 1");
      drop[static_cast<std::size_t>(a)] = true;
    }
  }
  SymShape out;
  for (std::size_t d = 0; d < input.size(); ++d)
    if (!drop[d]) out.push_back(input[d]);
  return ValueInfo{in[0].dtype, out};
}

ValueInfo infer_concat(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  if (attr_is_null(attrs, "axis")) {
    // numpy.concatenate(axis=None): every input flattened, then joined; any ranks.
    Dim total = Dim::known(0);
    for (const ValueInfo& v : in) {
      require_same_dtype(in[0].dtype, v.dtype);
      int64_t n = 1;
      bool known = true;
      for (const Dim& d : v.shape) {
        known = known && d.is_known();
        if (d.is_known()) n *= d.size;
      }
      total = known && total.is_known() ? Dim::known(total.size + n) : Dim::any();
    }
    return ValueInfo{in[0].dtype, {total}};
  }
  const SymShape& first = in[0].shape;
  if (first.empty()) throw Error(ErrorKind::shape, "concat: cannot concatenate 0-d values");
  int64_t rank = static_cast<int64_t>(first.size());
  int64_t axis = normalize_axis(attr_int(attrs, "axis"), rank);
  SymShape out = first;
  for (std::size_t k = 1; k < in.size(); ++k) {
    require_same_dtype(in[0].dtype, in[k].dtype);
    const SymShape& shape = in[k].shape;
    if (static_cast<int64_t>(shape.size()) != rank)
      throw Error(ErrorKind::shape, "concat: ranks differ: " + shape_str(first) + " and " + shape_str(shape));
    for (int64_t i = 0; i < rank; ++i) {
      std::size_t u = static_cast<std::size_t>(i);
      if (i == axis) {
        out[u] = out[u].is_known() && shape[u].is_known() ? Dim::known(out[u].size + shape[u].size) : Dim::any();
        continue;
      }
      std::optional<Dim> d = unify_dim(out[u], shape[u]);
      if (!d)
        throw Error(ErrorKind::shape, "concat along axis " + std::to_string(axis) + ": shapes " + shape_str(first) +
                                          " and " + shape_str(shape) + " differ in axis " + std::to_string(i));
      out[u] = *d;
    }
  }
  return ValueInfo{in[0].dtype, out};
}

// torch.flatten: axes start_dim..end_dim (inclusive) become one; a 0-d input counts as [1].
ValueInfo infer_flatten(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  SymShape input = in[0].shape.empty() ? SymShape{Dim::known(1)} : in[0].shape;
  int64_t rank = static_cast<int64_t>(input.size());
  int64_t start = normalize_axis(attr_int(attrs, "start_dim"), rank);
  int64_t end = normalize_axis(attr_int(attrs, "end_dim"), rank);
  if (start > end)
    throw Error(ErrorKind::shape, "flatten: start_dim " + std::to_string(attr_int(attrs, "start_dim")) +
                                      " comes after end_dim " + std::to_string(attr_int(attrs, "end_dim")) + " for " +
                                      shape_str(in[0].shape));
  auto s = static_cast<std::size_t>(start), e = static_cast<std::size_t>(end);
  SymShape out(input.begin(), input.begin() + static_cast<std::ptrdiff_t>(s));
  out.push_back(dim_product(input, s, e + 1));
  out.insert(out.end(), input.begin() + static_cast<std::ptrdiff_t>(e + 1), input.end());
  return ValueInfo{in[0].dtype, out};
}


// --- ONNX shape ops (issue 14)

// A symbolic axis keeps its symbol when the slice provably takes all of it in order or reversed
// (start 0 / end "infinity", or start -1 / end "-infinity" with step -1), as exporters write it.
ValueInfo infer_slice(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  const SymShape& input = in[0].shape;
  SliceSpec spec = slice_spec(attrs, static_cast<int64_t>(input.size()));
  constexpr int64_t kLarge = std::numeric_limits<int32_t>::max();
  SymShape out = input;
  for (std::size_t k = 0; k < spec.axes.size(); ++k) {
    auto a = static_cast<std::size_t>(spec.axes[k]);
    int64_t start = spec.starts[k], end = spec.ends[k], step = spec.steps[k];
    if (input[a].is_known()) {
      out[a] = Dim::known(slice_axis(input[a].size, start, end, step).count);
    } else {
      bool whole = (step == 1 && start == 0 && end >= kLarge) || (step == -1 && start == -1 && end <= -kLarge);
      if (!whole) out[a] = Dim::any();
    }
  }
  return ValueInfo{in[0].dtype, out};
}

ValueInfo infer_expand(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  std::vector<int64_t> shape = attr_ints(attrs, "shape");
  for (int64_t d : shape)
    if (d < 0) throw Error(ErrorKind::shape, "expand: negative size in shape " + ints_str(shape));
  SymShape target;
  for (int64_t d : shape) target.push_back(Dim::known(d));
  try {
    return ValueInfo{in[0].dtype, broadcast_shapes({in[0].shape, target})};
  } catch (const Error& e) {
    throw Error(ErrorKind::shape, "expand: " + std::string(e.what()));
  }
}

ValueInfo infer_tile(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  const SymShape& input = in[0].shape;
  std::vector<int64_t> repeats = attr_ints(attrs, "repeats");
  if (repeats.size() != input.size())
    throw Error(ErrorKind::shape, "tile: repeats " + ints_str(repeats) + " must have one entry per axis of " +
                                      shape_str(input));
  SymShape out = input;
  for (std::size_t a = 0; a < input.size(); ++a) {
    if (repeats[a] < 0) throw Error(ErrorKind::shape, "tile: negative count in repeats " + ints_str(repeats));
    if (input[a].is_known()) out[a] = Dim::known(input[a].size * repeats[a]);
    else if (repeats[a] == 0) out[a] = Dim::known(0);
    else if (repeats[a] != 1) out[a] = Dim::any();
  }
  return ValueInfo{in[0].dtype, out};
}

ValueInfo infer_pad(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  const SymShape& input = in[0].shape;
  std::vector<int64_t> pads = attr_ints(attrs, "pads");
  const std::string& mode = attr_string(attrs, "mode");
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
    throw Error(ErrorKind::shape, "pad: mode \"" + mode + "\" is not one of constant, reflect, edge, wrap");
  std::size_t rank = input.size();
  if (pads.size() != 2 * rank)
    throw Error(ErrorKind::shape, "pad: pads " + ints_str(pads) + " must have 2 entries per axis of " +
                                      shape_str(input) + " (all befores, then all afters)");
  SymShape out = input;
  for (std::size_t a = 0; a < rank; ++a) {
    int64_t before = pads[a], after = pads[a + rank];
    if (!input[a].is_known()) {
      if (before + after != 0) out[a] = Dim::any();
      continue;
    }
    int64_t size = input[a].size + before + after;
    if (size < 0 || input[a].size + std::min<int64_t>(before, 0) + std::min<int64_t>(after, 0) < 0)
      throw Error(ErrorKind::shape, "pad: pads " + ints_str(pads) + " crop more than the " +
                                        std::to_string(input[a].size) + " elements of axis " + std::to_string(a));
    if (mode != "constant" && input[a].size + std::min<int64_t>(before, 0) + std::min<int64_t>(after, 0) == 0 &&
        (before > 0 || after > 0))
      throw Error(ErrorKind::shape, "pad: mode " + mode + " cannot pad axis " + std::to_string(a) +
                                        ", which has no elements left");
    out[a] = Dim::known(size);
  }
  return ValueInfo{in[0].dtype, out};
}

int64_t checked_blocksize(const std::string& op, const Attributes& attrs, const SymShape& input) {
  if (input.size() != 4) throw Error(ErrorKind::shape, op + ": input must be 4-D [N,C,H,W], got " + shape_str(input));
  int64_t b = attr_int(attrs, "blocksize");
  if (b < 1) throw Error(ErrorKind::shape, op + ": blocksize " + std::to_string(b) + " is not positive");
  const std::string& mode = attr_string(attrs, "mode");
  if (mode != "DCR" && mode != "CRD") throw Error(ErrorKind::shape, op + ": mode \"" + mode + "\" is not DCR or CRD");
  return b;
}

Dim scaled_dim(const Dim& d, int64_t multiply, int64_t divide, const std::string& op, const char* what) {
  if (!d.is_known()) return Dim::any();
  if (d.size % divide != 0)
    throw Error(ErrorKind::shape, op + ": " + what + " " + std::to_string(d.size) + " is not a multiple of " +
                                      std::to_string(divide));
  return Dim::known(d.size / divide * multiply);
}

ValueInfo infer_depth_to_space(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  const SymShape& x = in[0].shape;
  int64_t b = checked_blocksize("depth_to_space", attrs, x);
  return ValueInfo{in[0].dtype, {x[0], scaled_dim(x[1], 1, b * b, "depth_to_space", "channel count"),
                                 scaled_dim(x[2], b, 1, "", ""), scaled_dim(x[3], b, 1, "", "")}};
}

ValueInfo infer_space_to_depth(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  const SymShape& x = in[0].shape;
  int64_t b = checked_blocksize("space_to_depth", attrs, x);
  return ValueInfo{in[0].dtype, {x[0], scaled_dim(x[1], b * b, 1, "", ""), scaled_dim(x[2], 1, b, "space_to_depth", "height"),
                                 scaled_dim(x[3], 1, b, "space_to_depth", "width")}};
}

// The dtype attribute of dim_size and eye_of_dim.
DType attr_dtype(const char* op, const Attributes& attrs) {
  const std::string& name = attr_string(attrs, "dtype");
  std::optional<DType> dtype = dtype_from_name(name);
  if (!dtype || !(is_floating(*dtype) || is_integer(*dtype)))
    throw Error(ErrorKind::schema, std::string(op) + ": dtype must be an integer or floating dtype, got '" + name + "'");
  return *dtype;
}

// The size dim_size and eye_of_dim read: the input's along `axis`, or with axis null its element
// count.
Dim sized_dim(const SymShape& shape, const Attributes& attrs) {
  if (attr_is_null(attrs, "axis")) return dim_product(shape, 0, shape.size());
  return shape[static_cast<std::size_t>(normalize_axis(attr_int(attrs, "axis"), static_cast<int64_t>(shape.size())))];
}

// -> 0-d.
ValueInfo infer_dim_size(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  sized_dim(in[0].shape, attrs);
  return ValueInfo{attr_dtype("dim_size", attrs), {}};
}

// input[:n] or input[n:] along `axis`, n = like.shape[like_axis]; numpy clamps n to the axis.
// Symbolic: the same symbol on both sides gives the whole axis or nothing.
ValueInfo infer_slice_at_dim(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  const SymShape& input = in[0].shape;
  const SymShape& like = in[1].shape;
  if (input.empty()) throw Error(ErrorKind::shape, "slice_at_dim: the input must have at least one axis");
  if (like.empty()) throw Error(ErrorKind::shape, "slice_at_dim: `like` must have at least one axis");
  auto axis = static_cast<std::size_t>(normalize_axis(attr_int(attrs, "axis"), static_cast<int64_t>(input.size())));
  Dim n = like[static_cast<std::size_t>(normalize_axis(attr_int(attrs, "like_axis"), static_cast<int64_t>(like.size())))];
  const std::string& keep = attr_string(attrs, "keep");
  if (keep != "before" && keep != "after")
    throw Error(ErrorKind::schema, "slice_at_dim: keep must be \"before\" or \"after\", got '" + keep + "'");
  const Dim& d = input[axis];
  SymShape out = input;
  if (d.is_known() && n.is_known())
    out[axis] = Dim::known(keep == "before" ? std::min(d.size, n.size) : std::max<int64_t>(d.size - n.size, 0));
  else if (d == n)
    out[axis] = keep == "before" ? n : Dim::known(0);
  else
    out[axis] = Dim::any();
  return ValueInfo{in[0].dtype, out};
}

// Section `index` of `sections` along `axis`, each d // sections long (the rest dropped, as Python
// Mithril's Split slices).
ValueInfo infer_split_section(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  const SymShape& input = in[0].shape;
  if (input.empty()) throw Error(ErrorKind::shape, "split_section: the input must have at least one axis");
  int64_t sections = attr_int(attrs, "sections"), index = attr_int(attrs, "index");
  if (sections < 1) throw Error(ErrorKind::schema, "split_section: sections must be at least 1, got " + std::to_string(sections));
  if (index < 0 || index >= sections)
    throw Error(ErrorKind::schema, fmt::format("split_section: index {} is out of range for {} sections", index, sections));
  auto axis = static_cast<std::size_t>(normalize_axis(attr_int(attrs, "axis"), static_cast<int64_t>(input.size())));
  SymShape out = input;
  if (input[axis].is_known()) out[axis] = Dim::known(input[axis].size / sections);
  else if (sections != 1) out[axis] = Dim::any();
  return ValueInfo{in[0].dtype, out};
}

// -> [d, d].
ValueInfo infer_eye_of_dim(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  Dim d = sized_dim(in[0].shape, attrs);
  return ValueInfo{attr_dtype("eye_of_dim", attrs), {d, d}};
}

}  // namespace

void register_shape_ops(OpRegistry& registry) {
  registry.add(builtin_schema(
      "reshape",
      "The input's elements (C order) with attribute `shape`: at most one -1, inferred from the element count; "
      "0 is a literal size 0 (not 'copy this axis').",
      {{"input"}}, {{"shape", AttrType::int_list, std::nullopt}}, infer_reshape));
  registry.add(builtin_schema(
      "transpose",
      "Axes permuted: output axis i is input axis axes[i] (negative axes count from the end); null reverses them.",
      {{"input"}}, {{"axes", AttrType::int_list_or_null, AttrValue{}}}, infer_transpose));
  registry.add(builtin_schema(
      "squeeze",
      "numpy.squeeze: the input without the axes of attribute `axes` (each must have size 1; negative axes count from the "
      "end), or with axes null (the default) without every axis of size 1 (Python Mithril's Squeeze).",
      {{"input"}}, {{"axes", AttrType::int_list_or_null, AttrValue{}}}, infer_squeeze));
  registry.add(builtin_schema(
      "concat",
      "The inputs joined along attribute `axis` (default 0); they share dtype and rank and agree on every other "
      "axis. Axis null (format 1.2.0; numpy's axis=None): every input flattened, then joined into one 1-D value.",
      {{"inputs", true}}, {{"axis", AttrType::int_or_null, AttrValue{int64_t{0}}}}, infer_concat));
  registry.add(builtin_schema(
      "flatten",
      "torch.flatten: axes start_dim..end_dim (inclusive; defaults 0 and -1) merged into one; a 0-d input gives "
      "[1].",
      {{"input"}},
      {{"start_dim", AttrType::integer, AttrValue{int64_t{0}}}, {"end_dim", AttrType::integer, AttrValue{int64_t{-1}}}},
      infer_flatten));
  // --- ONNX shape ops (issue 14)
  registry.add(builtin_schema(
      "slice",
      "ONNX Slice: along axes[i] (null = 0..n-1) elements starts[i], starts[i]+steps[i], ... before ends[i] (steps "
      "null = 1s; negative steps walk backwards). Negative starts/ends count from the end; out-of-range values are "
      "clamped, so INT64_MAX / INT64_MIN mean 'to the end' / 'to the front'.",
      {{"input"}},
      {{"starts", AttrType::int_list, std::nullopt},
       {"ends", AttrType::int_list, std::nullopt},
       {"axes", AttrType::int_list_or_null, AttrValue{}},
       {"steps", AttrType::int_list_or_null, AttrValue{}}},
      infer_slice));
  registry.add(builtin_schema(
      "expand",
      "ONNX Expand: the input broadcast with attribute `shape` by numpy's rules both ways (a 1 in `shape` keeps the "
      "input's size).",
      {{"input"}}, {{"shape", AttrType::int_list, std::nullopt}}, infer_expand));
  registry.add(builtin_schema("tile", "numpy.tile / ONNX Tile: axis i repeated repeats[i] times (one count per axis).",
                              {{"input"}}, {{"repeats", AttrType::int_list, std::nullopt}}, infer_tile));
  registry.add(builtin_schema(
      "pad",
      "ONNX Pad: pads = [before_0, before_1, ..., after_0, after_1, ...]; negative entries crop. mode \"constant\" "
      "fills with `value` (cast to the dtype), \"reflect\" mirrors without repeating the edge, \"edge\" repeats it, "
      "\"wrap\" continues periodically (numpy.pad's reflect/edge/wrap, applied after cropping).",
      {{"input"}},
      {{"pads", AttrType::int_list, std::nullopt},
       {"mode", AttrType::string, AttrValue{std::string("constant")}},
       {"value", AttrType::number, AttrValue{0.0}}},
      infer_pad));
  registry.add(builtin_schema(
      "depth_to_space",
      "ONNX DepthToSpace on [N,C,H,W]: blocks of blocksize^2 channels become blocksize x blocksize pixels, giving "
      "[N, C/b^2, H*b, W*b]. mode \"DCR\" (default) takes channel (i*b + j)*C/b^2 + c, \"CRD\" c*b^2 + i*b + j.",
      {{"input"}},
      {{"blocksize", AttrType::integer, std::nullopt}, {"mode", AttrType::string, AttrValue{std::string("DCR")}}},
      infer_depth_to_space));
  registry.add(builtin_schema(
      "space_to_depth",
      "ONNX SpaceToDepth on [N,C,H,W]: the inverse of depth_to_space with the same mode (ONNX's is \"DCR\"), giving "
      "[N, C*b^2, H/b, W/b].",
      {{"input"}},
      {{"blocksize", AttrType::integer, std::nullopt}, {"mode", AttrType::string, AttrValue{std::string("DCR")}}},
      infer_space_to_depth));
  // --- for Python Mithril's Size and Length (GaussProcessRegressionCore, GPRLoss)
  registry.add(builtin_schema(
      "dim_size",
      "The input's size along `axis` as a 0-d tensor of `dtype` (default int64): numpy's input.shape[axis], Python "
      "Mithril's Size(dim=axis) and, for axis 0, Length (len(input)); with axis null the element count (input.size, "
      "Size(dim=None)). Only the input's shape is read.",
      {{"input"}}, {{"axis", AttrType::int_or_null, std::nullopt}, {"dtype", AttrType::string, AttrValue{std::string("int64")}}},
      infer_dim_size));
  registry.add(builtin_schema(
      "eye_of_dim",
      "numpy.eye(d) with d the input's size along `axis` (axis null: its element count): [d, d], ones on the "
      "diagonal, of `dtype` (default float64, numpy's). Python Mithril's Eye(N=Size(dim=axis)(input)). Only the "
      "input's shape is read.",
      {{"input"}}, {{"axis", AttrType::int_or_null, std::nullopt}, {"dtype", AttrType::string, AttrValue{std::string("float64")}}},
      infer_eye_of_dim));
  // --- for Python Mithril's RNN cells (Shape, Indexer, Slice and Indexer: a state cut at the batch size)
  registry.add(builtin_schema(
      "slice_at_dim",
      "numpy's input[:n] (keep \"before\") or input[n:] (keep \"after\") along `axis` (default 0), n = "
      "like.shape[like_axis] (default 0), clamped to the axis like numpy's slices: Python Mithril's "
      "Indexer(input, Slice(stop=Shape(like)[like_axis])) and Slice(start=...) as its RNNCell and LSTMCell cut a "
      "state at the input's batch size. Only like's shape is read.",
      {{"input"}, {"like"}},
      {{"keep", AttrType::string, std::nullopt},
       {"axis", AttrType::integer, AttrValue{int64_t{0}}},
       {"like_axis", AttrType::integer, AttrValue{int64_t{0}}}},
      infer_slice_at_dim));
  registry.add(builtin_schema(
      "split_section",
      "Section `index` (from 0) of `sections` equal sections along `axis`: input[..., i*n:(i+1)*n] with n = "
      "d // sections, the last d % sections elements in none (Python Mithril's Split, which slices so).",
      {{"input"}},
      {{"sections", AttrType::integer, std::nullopt},
       {"index", AttrType::integer, std::nullopt},
       {"axis", AttrType::integer, AttrValue{int64_t{0}}}},
      infer_split_section));
}

}  // namespace mithril
