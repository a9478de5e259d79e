// The lowering of every built-in operator to ONNX operators (opsets 13 to 18). Operators ONNX has
// map one to one; the others are compositions that compute what our reference kernels compute,
// in the same order where that matters for rounding.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include <fmt/format.h>

#include "core/error.h"
#include "onnx/onnx_export_graph.h"
#include "ops/shape_inference.h"

namespace mithril::onnx_export {

namespace {

using G = GraphWriter;
using N = LowerNode;

int64_t rank_of(const N& n, std::size_t input = 0) { return static_cast<int64_t>(n.input_infos[input].shape.size()); }

// A 0-d constant of the node's output dtype (or of input `like`'s).
std::string num(G& g, DType dtype, double v) { return g.scalar(dtype, v); }

Lowering direct(const std::string& op_type) {
  return [op_type](G& g, const N& n) { return g.node(op_type, n.inputs); };
}

// log(1 + y) without losing y when it is tiny (ONNX has no Log1p): with u = 1 + y rounded,
// log(u) * y / (u - 1) is accurate to a few ulps, and y itself where u rounds to 1.
std::string log1p(G& g, const std::string& y, DType dtype) {
  std::string u = g.node("Add", {y, num(g, dtype, 1)});
  std::string um1 = g.node("Sub", {u, num(g, dtype, 1)});
  std::string ratio = g.node("Div", {g.node("Mul", {g.node("Log", {u}), y}), um1});
  return g.node("Where", {g.node("Equal", {um1, num(g, dtype, 0)}), y, ratio});
}

// Python Mithril's robust log: with a = |x|, log(t) + a / t - 1 where a < t, else log(a).
std::string robust_log(G& g, const std::string& x, const std::string& t, DType dtype) {
  std::string a = g.node("Abs", {x});
  std::string small = g.node("Sub", {g.node("Add", {g.node("Log", {t}), g.node("Div", {a, t})}), num(g, dtype, 1)});
  return g.node("Where", {g.node("Less", {a, t}), small, g.node("Log", {a})});
}

std::string softplus(G& g, const std::string& x, DType dtype) {
  // max(x, 0) + log1p(exp(-|x|)), as our kernel: no overflow for large |x|.
  return g.node("Add", {g.node("Relu", {x}), log1p(g, g.node("Exp", {g.node("Neg", {g.node("Abs", {x})})}), dtype)});
}

// --- elementwise ---

// numpy's floor division (see the reference kernel): floats through fmod with the rounding fix,
// integers rounded toward -inf with 0 for a zero divisor.
std::string floor_divide(G& g, const N& n) {
  DType t = n.output.dtype;
  const std::string& a = n.inputs[0];
  const std::string& b = n.inputs[1];
  std::string zero = num(g, t, 0);
  std::string b_zero = g.node("Equal", {b, zero});
  if (is_floating(t)) {
    std::string mod = g.node("Mod", {a, b}, {o_int("fmod", 1)});
    std::string div = g.node("Div", {g.node("Sub", {a, mod}), b});
    std::string fix = g.node("And", {g.node("Not", {g.node("Equal", {mod, zero})}),
                                     g.node("Xor", {g.node("Less", {b, zero}), g.node("Less", {mod, zero})})});
    div = g.node("Sub", {div, g.cast(fix, t)});
    std::string floor = g.node("Floor", {div});
    floor = g.node("Add", {floor, g.cast(g.node("Greater", {g.node("Sub", {div, floor}), num(g, t, 0.5)}), t)});
    return g.node("Where", {b_zero, g.node("Div", {a, b}), floor});
  }
  std::string safe_b = g.node("Where", {b_zero, num(g, t, 1), b});
  std::string q = g.node("Div", {a, safe_b});  // truncates toward zero
  std::string r = g.node("Sub", {a, g.node("Mul", {q, safe_b})});
  std::string fix = g.node("And", {g.node("Not", {g.node("Equal", {r, zero})}),
                                   g.node("Xor", {g.node("Less", {r, zero}), g.node("Less", {safe_b, zero})})});
  q = g.node("Sub", {q, g.cast(fix, t)});
  return g.node("Where", {b_zero, zero, q});
}

// Shifts on ONNX's unsigned BitShift: values of 32 bits or fewer shift as uint32, wider as
// uint64; a right shift of a negative value shifts its complement (~a >> b == ~(a >> b)).
// Shift counts outside [0, bits) give what numpy gives: 0, or the sign for a right shift.
std::string shift(G& g, const N& n, bool left) {
  DType t = n.output.dtype;
  int64_t bits = static_cast<int64_t>(8 * dtype_size(t));
  bool is_signed = t == DType::int8 || t == DType::int16 || t == DType::int32 || t == DType::int64;
  DType wide = bits <= 32 ? DType::uint32 : DType::uint64;
  const std::string& a = n.inputs[0];
  const std::string& b = n.inputs[1];
  std::string out_of_range = g.node("Or", {g.node("Less", {b, num(g, t, 0)}), g.node("Greater", {b, num(g, t, static_cast<double>(bits - 1))})});
  std::string count = g.cast(g.node("Where", {out_of_range, num(g, t, static_cast<double>(bits - 1)), b}), wide);
  if (left) {
    std::string shifted = g.cast(g.node("BitShift", {g.cast(a, wide), count}, {o_str("direction", "LEFT")}), t);
    return g.node("Where", {out_of_range, num(g, t, 0), shifted});
  }
  if (!is_signed) {
    std::string shifted = g.cast(g.node("BitShift", {g.cast(a, wide), count}, {o_str("direction", "RIGHT")}), t);
    return g.node("Where", {out_of_range, num(g, t, 0), shifted});
  }
  std::string negative = g.node("Less", {a, num(g, t, 0)});
  std::string minus_one = num(g, t, -1);
  std::string magnitude = g.node("Where", {negative, g.node("Sub", {minus_one, a}), a});
  std::string shifted = g.cast(g.node("BitShift", {g.cast(magnitude, wide), count}, {o_str("direction", "RIGHT")}), t);
  return g.node("Where", {negative, g.node("Sub", {minus_one, shifted}), shifted});
}

std::string cast(G& g, const N& n) { return g.cast(n.inputs[0], n.output.dtype); }

// --- activations ---

std::string gelu(G& g, const N& n) {
  DType t = n.output.dtype;
  const std::string& x = n.inputs[0];
  std::string inner;
  if (attr_bool(n.attrs, "approximate")) {
    std::string cube = g.node("Mul", {g.node("Mul", {x, x}), x});
    std::string poly = g.node("Add", {x, g.node("Mul", {num(g, t, 0.044715), cube})});
    inner = g.node("Tanh", {g.node("Mul", {num(g, t, std::sqrt(2.0 / M_PI)), poly})});
  } else {
    inner = g.node("Erf", {g.node("Div", {x, num(g, t, std::sqrt(2.0))})});
  }
  std::string half_x = g.node("Mul", {x, num(g, t, 0.5)});
  return g.node("Mul", {half_x, g.node("Add", {inner, num(g, t, 1)})});
}

// --- reductions ---

std::optional<std::vector<int64_t>> axes_of(const N& n) {
  if (attr_is_null(n.attrs, "axes")) return std::nullopt;
  return reduction_axes(n.attrs, rank_of(n));
}

Lowering reduction(const std::string& op_type) {
  return [op_type](G& g, const N& n) {
    std::optional<std::vector<int64_t>> axes = axes_of(n);
    if (axes && axes->empty()) return g.node("Identity", {n.inputs[0]});  // an empty list reduces nothing
    return g.reduce(op_type, n.inputs[0], axes, attr_bool(n.attrs, "keepdims"));
  };
}

// sum((x - mean)^2) / max(n - correction, 0), n the count of reduced elements.
std::string variance(G& g, const N& n) {
  DType t = n.output.dtype;
  const std::string& x = n.inputs[0];
  std::optional<std::vector<int64_t>> axes = axes_of(n);
  bool keepdims = attr_bool(n.attrs, "keepdims");
  if (axes && axes->empty()) return g.node("Mul", {x, num(g, t, 0)});  // each element is its own mean
  std::string mean = g.reduce("ReduceMean", x, axes, true);
  std::string d = g.node("Sub", {x, mean});
  std::string sq = g.node("Mul", {d, d});
  // n: a constant when the reduced sizes are known, else Size(x) / Size(mean).
  int64_t known_count = 1;
  const SymShape& in = n.input_infos[0].shape;
  for (std::size_t i = 0; i < in.size() && known_count >= 0; ++i) {
    bool reduced = !axes || std::find(axes->begin(), axes->end(), static_cast<int64_t>(i)) != axes->end();
    if (reduced) known_count = in[i].is_known() ? known_count * in[i].size : -1;
  }
  std::string count = known_count >= 0 ? num(g, t, static_cast<double>(known_count))
                                       : g.node("Div", {g.cast(g.node("Size", {x}), t), g.cast(g.node("Size", {mean}), t)});
  std::string denom = g.node("Max", {g.node("Sub", {count, num(g, t, attr_number(n.attrs, "correction"))}), num(g, t, 0)});
  return g.node("Div", {g.reduce("ReduceSum", sq, axes, keepdims), denom});
}

// --- shape ---

std::string reshape(G& g, const N& n) {
  std::vector<int64_t> shape = attr_ints(n.attrs, "shape");
  bool zero = false;
  for (int64_t s : shape) zero = zero || s == 0;
  return g.reshape(n.inputs[0], g.ints(shape), zero);
}

std::string transpose(G& g, const N& n) {
  if (attr_is_null(n.attrs, "axes")) return g.node("Transpose", {n.inputs[0]});
  return g.node("Transpose", {n.inputs[0]}, {o_ints("perm", normalize_axes(attr_ints(n.attrs, "axes"), rank_of(n)))});
}

std::string concat(G& g, const N& n) {
  if (attr_is_null(n.attrs, "axis")) {  // numpy's axis=None: each input flattened, then joined
    std::vector<std::string> flat;
    for (const std::string& x : n.inputs) flat.push_back(g.reshape(x, g.ints({-1})));
    return g.node("Concat", flat, {o_int("axis", 0)});
  }
  return g.node("Concat", n.inputs, {o_int("axis", normalize_axis(attr_int(n.attrs, "axis"), rank_of(n)))});
}

// A literal target where it can be one: known sizes, 0 (copy) for unknown leading dims (same
// index in input and output), -1 for one other unknown dim; else the parts from Shape(x).
std::string flatten(G& g, const N& n) {
  const SymShape& in = n.input_infos[0].shape;
  const SymShape& out = n.output.shape;
  int64_t rank = static_cast<int64_t>(in.size());
  if (rank == 0) return g.reshape(n.inputs[0], g.ints({1}));
  int64_t start = normalize_axis(attr_int(n.attrs, "start_dim"), rank);
  int64_t end = normalize_axis(attr_int(n.attrs, "end_dim"), rank);
  std::vector<int64_t> target;
  bool literal = true, inferred = false;
  for (std::size_t i = 0; i < out.size() && literal; ++i) {
    const Dim& d = out[i];
    if (d.is_known()) {
      literal = d.size != 0;  // a literal 0 would mean 'copy'
      target.push_back(d.size);
    } else if (static_cast<int64_t>(i) < start || (static_cast<int64_t>(i) > start && end == start)) {
      target.push_back(0);  // same index in the input
    } else if (!inferred) {
      inferred = true;
      target.push_back(-1);
    } else {
      literal = false;
    }
  }
  if (literal) return g.reshape(n.inputs[0], g.ints(target));
  std::string dynamic = g.node("Concat", {g.dims(n.inputs[0], in, 0, start), g.ints({-1}), g.dims(n.inputs[0], in, end + 1, rank)},
                               {o_int("axis", 0)});
  return g.reshape(n.inputs[0], dynamic);
}

// --- nn ---

// Our padding lists (before, after) per axis; ONNX's every begin, then every end.
std::vector<int64_t> onnx_pads(const std::vector<int64_t>& ours) {
  std::vector<int64_t> begins, ends;
  for (std::size_t i = 0; i + 1 < ours.size(); i += 2) {
    begins.push_back(ours[i]);
    ends.push_back(ours[i + 1]);
  }
  begins.insert(begins.end(), ends.begin(), ends.end());
  return begins;
}

std::string conv(G& g, const N& n) {
  return g.node("Conv", n.inputs,
                {o_ints("strides", attr_ints(n.attrs, "stride")), o_ints("pads", onnx_pads(attr_ints(n.attrs, "padding"))),
                 o_ints("dilations", attr_ints(n.attrs, "dilation")), o_int("group", attr_int(n.attrs, "groups"))});
}

// ONNX pools [N, C, spatial...]; our pools take any rank >= k: other ranks are reshaped to
// [-1, 1, spatial...] for `pool` (given that value and its declared shape) and back after.
std::string pool_nc(G& g, const N& n, int64_t k, const std::function<std::string(const std::string&, SymShape&)>& pool) {
  const SymShape& in = n.input_infos[0].shape;
  int64_t rank = static_cast<int64_t>(in.size());
  if (rank == k + 2) {
    SymShape shape = in;
    return pool(n.inputs[0], shape);
  }
  std::string x = g.reshape(n.inputs[0], g.node("Concat", {g.ints({-1, 1}), g.dims(n.inputs[0], in, rank - k, rank)}, {o_int("axis", 0)}));
  SymShape shape = {Dim::any(), Dim::known(1)};
  shape.insert(shape.end(), in.end() - k, in.end());
  std::string y = pool(x, shape);
  const SymShape& out = n.output.shape;
  std::vector<int64_t> literal;
  int unknown = 0;
  for (const Dim& d : out) {
    literal.push_back(d.is_known() ? d.size : -1);
    unknown += d.is_known() ? 0 : 1;
  }
  bool zero = std::find(literal.begin(), literal.end(), 0) != literal.end();
  std::string target = unknown <= 1 ? g.ints(literal)
                                    : g.node("Concat", {g.dims(n.inputs[0], in, 0, rank - k), g.slice(g.node("Shape", {y}), {2}, {2 + k}, {0})},
                                             {o_int("axis", 0)});
  return g.reshape(y, target, zero && unknown <= 1);
}

bool flag(const N& n, const std::string& name) { return n.attrs.count(name) && attr_bool(n.attrs, name); }

// Our max pools pad with zeros (Python Mithril) unless pad_with_neg_inf, ONNX's with -inf. With
// known sizes: ONNX's pads and a constant mask of the windows that reach into the padding, whose
// maximum takes 0 in too; otherwise zeros concatenated explicitly. (Never a Pad node:
// onnxruntime 1.31 fuses a zero Pad into the following MaxPool's pads, which changes the result.)
Lowering max_pool(int64_t k) {
  return [k](G& g, const N& n) {
    return pool_nc(g, n, k, [&](std::string x, SymShape& shape) {
      std::vector<int64_t> padding = attr_ints(n.attrs, "padding");
      std::vector<OnnxAttr> attrs = {o_ints("kernel_shape", attr_ints(n.attrs, "kernel_size")), o_ints("strides", attr_ints(n.attrs, "stride")),
                                     o_ints("dilations", attr_ints(n.attrs, "dilation"))};
      if (flag(n, "ceil_mode")) attrs.push_back(o_int("ceil_mode", 1));
      if (flag(n, "pad_with_neg_inf")) {
        attrs.push_back(o_ints("pads", onnx_pads(padding)));
        return g.node("MaxPool", {x}, attrs);
      }
      std::string zero = num(g, n.output.dtype, 0);
      // Known spatial sizes and padding smaller than the window: ONNX's -inf padding, then 0 joins
      // the maximum of every window that reaches into the padding (a constant mask).
      bool maskable = !flag(n, "ceil_mode");
      std::vector<int64_t> kernel = attr_ints(n.attrs, "kernel_size"), stride = attr_ints(n.attrs, "stride"),
                           dilation = attr_ints(n.attrs, "dilation");
      for (int64_t i = 0; i < k; ++i) {
        std::size_t u = static_cast<std::size_t>(i);
        maskable = maskable && shape[u + 2].is_known() && padding[2 * u] < kernel[u] && padding[2 * u + 1] < kernel[u];
      }
      bool padded = std::any_of(padding.begin(), padding.end(), [](int64_t p) { return p != 0; });
      if (maskable && padded) {
        Shape out_sizes;
        std::vector<std::vector<bool>> touches(static_cast<std::size_t>(k));
        for (int64_t i = 0; i < k; ++i) {
          std::size_t u = static_cast<std::size_t>(i);
          int64_t size = shape[u + 2].size, before = padding[2 * u], after = padding[2 * u + 1];
          int64_t count = (size + before + after - dilation[u] * (kernel[u] - 1) - 1) / stride[u] + 1;
          out_sizes.push_back(count);
          for (int64_t o = 0; o < count; ++o) {
            int64_t first = o * stride[u] - before, last = first + dilation[u] * (kernel[u] - 1);
            touches[u].push_back(first < 0 || last > size - 1);
          }
        }
        Tensor mask(DType::bool_, out_sizes);
        for (int64_t e = 0; e < mask.numel(); ++e) {
          int64_t rest = e;
          bool any = false;
          for (int64_t i = k - 1; i >= 0; --i) {
            std::size_t u = static_cast<std::size_t>(i);
            any = any || touches[u][static_cast<std::size_t>(rest % out_sizes[u])];
            rest /= out_sizes[u];
          }
          mask.mutable_data_as<bool>()[e] = any;
        }
        attrs.push_back(o_ints("pads", onnx_pads(padding)));
        std::string y = g.node("MaxPool", {x}, attrs);
        return g.node("Where", {g.constant(mask), g.node("Max", {y, zero}), y});
      }
      for (int64_t i = 0; i < k; ++i) {
        int64_t axis = 2 + i;
        int64_t before = padding[static_cast<std::size_t>(2 * i)], after = padding[static_cast<std::size_t>(2 * i + 1)];
        if (before == 0 && after == 0) continue;
        auto zeros = [&](int64_t size) {
          std::string block_shape = g.node("Concat", {g.dims(x, shape, 0, axis), g.ints({size}), g.dims(x, shape, axis + 1, k + 2)}, {o_int("axis", 0)});
          return g.node("Expand", {zero, block_shape});
        };
        std::vector<std::string> parts;
        if (before > 0) parts.push_back(zeros(before));
        parts.push_back(x);
        if (after > 0) parts.push_back(zeros(after));
        x = g.node("Concat", parts, {o_int("axis", axis)});
        Dim& d = shape[static_cast<std::size_t>(axis)];
        d = d.is_known() ? Dim::known(d.size + before + after) : Dim::any();
      }
      return g.node("MaxPool", {x}, attrs);
    });
  };
}

Lowering avg_pool(int64_t k) {
  return [k](G& g, const N& n) {
    for (int64_t d : attr_ints(n.attrs, "dilation"))
      if (d != 1) throw Error(ErrorKind::unsupported, "a dilated average pool needs AveragePool's dilations (opset 19)");
    return pool_nc(g, n, k, [&](const std::string& x, SymShape&) {
      return g.node("AveragePool", {x},
                    {o_ints("kernel_shape", attr_ints(n.attrs, "kernel_size")), o_ints("strides", attr_ints(n.attrs, "stride")),
                     o_ints("pads", onnx_pads(attr_ints(n.attrs, "padding"))), o_int("ceil_mode", flag(n, "ceil_mode") ? 1 : 0),
                     o_int("count_include_pad", flag(n, "count_include_pad") ? 1 : 0)});
    });
  };
}

std::string robust_sqrt(G& g, const N& n) {
  std::string a = g.node("Abs", {n.inputs[0]});
  const std::string& t = n.inputs[1];
  return g.node("Where", {g.node("Less", {a, t}), g.node("Div", {a, g.node("Sqrt", {t})}), g.node("Sqrt", {a})});
}

std::string robust_power(G& g, const N& n) {
  DType t = n.output.dtype;
  std::string b = g.node("Abs", {n.inputs[0]});
  const std::string& e = n.inputs[1];
  const std::string& th = n.inputs[2];
  std::string bound = g.node("Sub", {num(g, t, 1), g.node("Div", {g.node("Log", {th}), g.node("Log", {b})})});
  std::string small = g.node("And", {g.node("Less", {b, th}), g.node("Less", {e, bound})});
  return g.node("Where", {small, g.node("Div", {b, th}), g.node("Pow", {b, e})});
}

std::string stable_reciprocal(G& g, const N& n) {
  DType t = n.output.dtype;
  const std::string& x = n.inputs[0];
  const std::string& th = n.inputs[1];
  std::string a = g.node("Abs", {x});
  std::string one = num(g, t, 1);
  std::string sign_term = g.node("Add", {g.node("Sign", {x}), g.node("Sub", {one, g.node("Sign", {a})})});
  std::string first = g.node("Mul", {g.node("Mul", {sign_term, num(g, t, 2)}), g.node("Div", {one, th})});
  std::string second = g.node("Div", {g.node("Neg", {x}), g.node("Mul", {th, th})});
  return g.node("Where", {g.node("Less", {a, th}), g.node("Add", {first, second}), g.node("Div", {one, x})});
}

// Column c is prod_j x_j ** P[j, c], P the exponents of the combinations with replacement of
// (1, x_1, ..., x_D) in order, the constant left out: ReduceProd(Pow(x[:, :, None], P), axis 1).
std::string polynomial_features(G& g, const N& n) {
  const Dim& d = n.input_infos[0].shape[1];
  if (!d.is_known()) throw Error(ErrorKind::unsupported, "the number of input features must be known");
  int64_t features = d.size, degree = attr_int(n.attrs, "degree");
  std::vector<std::vector<int64_t>> columns;
  // Combinations with replacement of indices 0..D (0 = the constant) of size `degree`, sorted.
  std::vector<int64_t> combo(static_cast<std::size_t>(degree), 0);
  while (true) {
    std::vector<int64_t> powers(static_cast<std::size_t>(features), 0);
    for (int64_t i : combo)
      if (i > 0) ++powers[static_cast<std::size_t>(i - 1)];
    bool constant = true;
    for (int64_t p : powers) constant = constant && p == 0;
    if (!constant) columns.push_back(powers);
    int64_t pos = degree - 1;
    while (pos >= 0 && combo[static_cast<std::size_t>(pos)] == features) --pos;
    if (pos < 0) break;
    int64_t next = combo[static_cast<std::size_t>(pos)] + 1;
    for (int64_t i = pos; i < degree; ++i) combo[static_cast<std::size_t>(i)] = next;
  }
  Tensor p64(DType::float64, {features, static_cast<int64_t>(columns.size())});
  for (std::size_t c = 0; c < columns.size(); ++c)
    for (int64_t j = 0; j < features; ++j)
      p64.mutable_data_as<double>()[j * static_cast<int64_t>(columns.size()) + static_cast<int64_t>(c)] =
          static_cast<double>(columns[c][static_cast<std::size_t>(j)]);
  std::string powers = g.constant(p64.cast(n.output.dtype));
  std::string x = g.unsqueeze(n.inputs[0], {2});
  return g.reduce("ReduceProd", g.node("Pow", {x, powers}), std::vector<int64_t>{1}, false);
}

std::string cartesian_difference(G& g, const N& n) {
  return g.node("Sub", {g.unsqueeze(n.inputs[0], {1}), g.unsqueeze(n.inputs[1], {0})});
}

// --- losses ---

std::string loss_log(G& g, const N& n, const std::string& v) {
  DType t = n.output.dtype;
  if (!attr_bool(n.attrs, "robust")) return g.node("Log", {v});
  return robust_log(g, v, num(g, t, attr_number(n.attrs, "threshold")), t);
}

std::string cross_entropy(G& g, const N& n) {
  DType t = n.output.dtype;
  const std::string& x = n.inputs[0];
  const std::string& target = n.inputs[1];
  int64_t rank = rank_of(n);
  const Dim& classes = n.input_infos[0].shape[1];
  const std::string& type = attr_string(n.attrs, "input_type");
  std::vector<double> weights = attr_numbers(n.attrs, "weights");
  bool auto_weights = attr_bool(n.attrs, "auto_weights");
  if (!weights.empty() && (!classes.is_known() || classes.size != static_cast<int64_t>(weights.size())))
    throw Error(ErrorKind::shape, fmt::format("{} weights for class axis of {}", weights.size(), shape_str(n.input_infos[0].shape)));
  auto weight_tensor = [&](int64_t rank_after) {
    // weights [C] shaped to broadcast against [N, C, ...] (rank_after axes after the class axis)
    Shape shape = {static_cast<int64_t>(weights.size())};
    for (int64_t i = 0; i < rank_after; ++i) shape.push_back(1);
    Tensor w64(DType::float64, shape);
    for (std::size_t i = 0; i < weights.size(); ++i) w64.mutable_data_as<double>()[i] = weights[i];
    return g.constant(w64.cast(t));
  };
  if (attr_bool(n.attrs, "categorical")) {
    std::string index = g.cast(target, DType::int64);
    std::string w;  // per-element weight, or empty for 1
    if (auto_weights) {
      if (!classes.is_known()) throw Error(ErrorKind::unsupported, "auto_weights needs a known number of classes");
      // count[c] = number of targets equal to c; w[c] = targets / (C * count[c])
      std::vector<int64_t> range;
      for (int64_t c = 0; c < classes.size; ++c) range.push_back(c);
      std::string hits = g.cast(g.node("Equal", {g.unsqueeze(index, {rank - 1}), g.ints(range)}), t);
      std::vector<int64_t> all_but_last;
      for (int64_t i = 0; i < rank - 1; ++i) all_but_last.push_back(i);
      std::string count = g.reduce("ReduceSum", hits, all_but_last, false);
      std::string total = g.cast(g.node("Size", {index}), t);
      std::string per_class = g.node("Div", {total, g.node("Mul", {num(g, t, static_cast<double>(classes.size)), count})});
      w = g.node("Gather", {per_class, index}, {o_int("axis", 0)});
    } else if (!weights.empty()) {
      w = g.node("Gather", {weight_tensor(0), index}, {o_int("axis", 0)});
    }
    std::string picked_of = x;
    std::string log_sum;
    if (type == "logits") {
      picked_of = g.node("Sub", {x, g.reduce("ReduceMax", x, std::vector<int64_t>{1}, true)});
      log_sum = loss_log(g, n, g.reduce("ReduceSum", g.node("Exp", {picked_of}), std::vector<int64_t>{1}, false));
    }
    std::string picked = g.squeeze(g.node("GatherElements", {picked_of, g.unsqueeze(index, {1})}, {o_int("axis", 1)}), {1});
    std::string loss = type == "logits" ? g.node("Sub", {log_sum, picked})
                       : type == "probs" ? g.node("Neg", {loss_log(g, n, picked)})
                                         : g.node("Neg", {picked});
    return w.empty() ? loss : g.node("Mul", {loss, w});
  }
  std::string w;
  if (auto_weights) {
    std::vector<int64_t> not_class;
    for (int64_t i = 0; i < rank; ++i)
      if (i != 1) not_class.push_back(i);
    std::string total = g.reduce("ReduceSum", target, std::nullopt, false);
    std::string per_class = g.reduce("ReduceSum", target, not_class, true);
    std::string c = g.cast(g.slice(g.node("Shape", {x}), {1}, {2}, {0}), t);
    w = g.node("Div", {total, g.node("Mul", {c, per_class})});
  } else if (!weights.empty()) {
    w = weight_tensor(rank - 2);
  }
  std::string term = x;
  if (type == "logits") {
    std::string log_sum = loss_log(g, n, g.reduce("ReduceSum", g.node("Exp", {x}), std::vector<int64_t>{1}, true));
    term = g.node("Sub", {x, log_sum});
  } else if (type == "probs") {
    term = loss_log(g, n, x);
  }
  std::string product = g.node("Mul", {target, term});
  if (!w.empty()) product = g.node("Mul", {product, w});
  return g.node("Neg", {g.reduce("ReduceSum", product, std::vector<int64_t>{1}, false)});
}

std::string binary_cross_entropy(G& g, const N& n) {
  DType t = n.output.dtype;
  const std::string& p = n.inputs[0];
  const std::string& target = n.inputs[1];
  bool logits = attr_string(n.attrs, "input_type") == "logits";
  std::string one = num(g, t, 1);
  std::string pw;
  if (attr_bool(n.attrs, "auto_pos_weight")) {
    std::string m = g.reduce("ReduceMean", logits ? g.node("Sigmoid", {target}) : target, std::nullopt, false);
    pw = g.node("Div", {g.node("Sub", {one, m}), m});
  } else {
    pw = num(g, t, attr_number(n.attrs, "pos_weight"));
  }
  if (logits) {
    std::string lw = g.node("Add", {g.node("Mul", {g.node("Sub", {pw, one}), target}), one});
    std::string e = g.node("Exp", {g.node("Neg", {g.node("Abs", {p})})});
    std::string softplus_term = attr_bool(n.attrs, "robust") ? loss_log(g, n, g.node("Add", {one, e})) : log1p(g, e, t);
    std::string log_sigmoid = g.node("Sub", {g.node("Min", {p, num(g, t, 0)}), softplus_term});
    return g.node("Sub", {g.node("Mul", {g.node("Sub", {one, target}), p}), g.node("Mul", {lw, log_sigmoid})});
  }
  std::string first = g.node("Neg", {g.node("Mul", {g.node("Mul", {pw, target}), loss_log(g, n, p)})});
  std::string second = g.node("Mul", {g.node("Sub", {one, target}), loss_log(g, n, g.node("Sub", {one, p}))});
  return g.node("Sub", {first, second});
}

// --- ONNX nn/math operators (issue 14) ---

// An attribute-only ONNX activation; its float attributes as given.
Lowering activation(const std::string& op_type, std::vector<std::pair<std::string, std::string>> attrs = {}) {
  return [op_type, attrs](G& g, const N& n) {
    std::vector<OnnxAttr> out;
    for (const auto& [ours, theirs] : attrs) out.push_back(o_float(theirs, attr_number(n.attrs, ours)));
    return g.node(op_type, n.inputs, out);
  };
}

std::string prelu(G& g, const N& n) {
  // PRelu's slope broadcasts one way (to the input); a slope that widens the output is a Where.
  if (n.output.shape == n.input_infos[0].shape) return g.node("PRelu", n.inputs);
  const std::string& x = n.inputs[0];
  return g.node("Where", {g.node("Less", {x, num(g, n.output.dtype, 0)}), g.node("Mul", {n.inputs[1], x}), x});
}

std::string celu(G& g, const N& n) {
  if (n.output.dtype == DType::float32) return g.node("Celu", n.inputs, {o_float("alpha", attr_number(n.attrs, "alpha"))});
  DType t = n.output.dtype;  // ONNX's Celu is float32 only
  const std::string& x = n.inputs[0];
  std::string alpha = num(g, t, attr_number(n.attrs, "alpha"));
  std::string neg = g.node("Mul", {alpha, g.node("Sub", {g.node("Exp", {g.node("Div", {x, alpha})}), num(g, t, 1)})});
  return g.node("Add", {g.node("Relu", {x}), g.node("Min", {neg, num(g, t, 0)})});
}

std::string hard_swish(G& g, const N& n) {
  if (g.opset() >= 14) return g.node("HardSwish", n.inputs);
  return g.node("Mul", {n.inputs[0], g.node("HardSigmoid", n.inputs, {o_float("alpha", 1.0 / 6), o_float("beta", 0.5)})});
}

std::string mish(G& g, const N& n) {
  if (g.opset() >= 18) return g.node("Mish", n.inputs);
  return g.node("Mul", {n.inputs[0], g.node("Tanh", {softplus(g, n.inputs[0], n.output.dtype)})});
}

std::string clip(G& g, const N& n) {
  DType t = n.output.dtype;
  std::vector<std::string> inputs = {n.inputs[0]};
  inputs.push_back(attr_is_null(n.attrs, "min") ? "" : num(g, t, attr_number(n.attrs, "min")));
  inputs.push_back(attr_is_null(n.attrs, "max") ? "" : num(g, t, attr_number(n.attrs, "max")));
  while (!inputs.empty() && inputs.back().empty()) inputs.pop_back();
  return g.node("Clip", inputs);
}

// ONNX's Mod needs fmod=1 on floats: numpy's sign-of-divisor remainder is fmod plus the divisor
// where the signs differ. Integers: ONNX's fmod=0 is Python's %, with 0 for a zero divisor as ours.
std::string mod(G& g, const N& n) {
  DType t = n.output.dtype;
  const std::string& a = n.inputs[0];
  const std::string& b = n.inputs[1];
  bool c_fmod = attr_bool(n.attrs, "fmod");
  std::string zero = num(g, t, 0);
  if (is_floating(t)) {
    std::string r = g.node("Mod", {a, b}, {o_int("fmod", 1)});
    if (c_fmod) return r;
    std::string fix = g.node("And", {g.node("Not", {g.node("Equal", {r, zero})}),
                                     g.node("Xor", {g.node("Less", {r, zero}), g.node("Less", {b, zero})})});
    return g.node("Where", {fix, g.node("Add", {r, b}), r});
  }
  std::string b_zero = g.node("Equal", {b, zero});
  std::string safe_b = g.node("Where", {b_zero, num(g, t, 1), b});
  return g.node("Where", {b_zero, zero, g.node("Mod", {a, safe_b}, {o_int("fmod", c_fmod ? 1 : 0)})});
}

Lowering arg(const std::string& op_type) {
  return [op_type](G& g, const N& n) {
    return g.node(op_type, n.inputs,
                  {o_int("axis", normalize_axis(attr_int(n.attrs, "axis"), rank_of(n))), o_int("keepdims", attr_bool(n.attrs, "keepdims") ? 1 : 0),
                   o_int("select_last_index", attr_bool(n.attrs, "select_last_index") ? 1 : 0)});
  };
}

std::string conv_transpose(G& g, const N& n) {
  return g.node("ConvTranspose", n.inputs,
                {o_ints("strides", attr_ints(n.attrs, "stride")), o_ints("pads", onnx_pads(attr_ints(n.attrs, "padding"))),
                 o_ints("output_padding", attr_ints(n.attrs, "output_padding")), o_ints("dilations", attr_ints(n.attrs, "dilation")),
                 o_int("group", attr_int(n.attrs, "groups"))});
}

// LayerNormalization from opset 17 when scale and bias have the normalized shape; else
// (x - mean) / sqrt(var + eps) * scale + bias over axes [axis, rank).
std::string layer_norm(G& g, const N& n) {
  DType t = n.output.dtype;
  int64_t rank = rank_of(n);
  int64_t axis = normalize_axis(attr_int(n.attrs, "axis"), rank);
  double eps = attr_number(n.attrs, "epsilon");
  SymShape normalized(n.input_infos[0].shape.begin() + axis, n.input_infos[0].shape.end());
  if (g.opset() >= 17 && n.input_infos[1].shape == normalized && n.input_infos[2].shape == normalized)
    return g.node("LayerNormalization", n.inputs, {o_int("axis", axis), o_float("epsilon", eps)});
  std::vector<int64_t> axes;
  for (int64_t i = axis; i < rank; ++i) axes.push_back(i);
  const std::string& x = n.inputs[0];
  std::string d = g.node("Sub", {x, g.reduce("ReduceMean", x, axes, true)});
  std::string var = g.reduce("ReduceMean", g.node("Mul", {d, d}), axes, true);
  std::string normed = g.node("Div", {d, g.node("Sqrt", {g.node("Add", {var, num(g, t, eps)})})});
  return g.node("Add", {g.node("Mul", {normed, n.inputs[1]}), n.inputs[2]});
}

// --- ONNX shape/indexing operators (issue 14) ---

std::string slice(G& g, const N& n) {
  std::vector<std::string> inputs = {n.inputs[0], g.ints(attr_ints(n.attrs, "starts")), g.ints(attr_ints(n.attrs, "ends"))};
  bool steps = !attr_is_null(n.attrs, "steps");
  if (!attr_is_null(n.attrs, "axes")) inputs.push_back(g.ints(attr_ints(n.attrs, "axes")));
  else if (steps) {
    std::vector<int64_t> axes;
    for (std::size_t i = 0; i < attr_ints(n.attrs, "starts").size(); ++i) axes.push_back(static_cast<int64_t>(i));
    inputs.push_back(g.ints(axes));
  }
  if (steps) inputs.push_back(g.ints(attr_ints(n.attrs, "steps")));
  return g.node("Slice", inputs);
}

// --- the shape readers of Python Mithril's models (issue 11): sizes taken from a value's shape,
// constants where the declared shape knows them, else Shape at run time.

// The size dim_size, eye_of_dim and slice_at_dim read, as a 1-D int64 [1]: input `i`'s size along
// attribute `axis_attr`, or with it null the element count.
std::string size_of(G& g, const N& n, std::size_t i, const char* axis_attr) {
  const SymShape& shape = n.input_infos[i].shape;
  if (attr_is_null(n.attrs, axis_attr)) {
    if (is_concrete(shape)) return g.ints({shape_numel(to_shape(shape))});
    return g.reduce("ReduceProd", g.node("Shape", {n.inputs[i]}), std::nullopt, true);
  }
  int64_t a = normalize_axis(attr_int(n.attrs, axis_attr), static_cast<int64_t>(shape.size()));
  return g.dims(n.inputs[i], shape, a, a + 1);
}

std::string dim_size(G& g, const N& n) { return g.cast(g.squeeze(size_of(g, n, 0, "axis"), {0}), n.output.dtype); }

std::string eye_of_dim(G& g, const N& n) {
  std::string d = size_of(g, n, 0, "axis");
  std::string zeros = g.node("ConstantOfShape", {g.node("Concat", {d, d}, {o_int("axis", 0)})});
  return g.node("EyeLike", {zeros}, {o_int("dtype", onnx_elem_type(n.output.dtype))});
}

// input[:n] or input[n:] along `axis`: a Slice bounded by the size.
std::string slice_at_dim(G& g, const N& n) {
  std::string size = size_of(g, n, 1, "like_axis");
  bool before = attr_string(n.attrs, "keep") == "before";
  std::string starts = before ? g.ints({0}) : size;
  std::string ends = before ? size : g.ints({std::numeric_limits<int64_t>::max()});
  return g.node("Slice", {n.inputs[0], starts, ends, g.ints({attr_int(n.attrs, "axis")})});
}

// split_section: a Slice of the section's bounds, computed from Shape when the axis is symbolic.
std::string split_section(G& g, const N& n) {
  int64_t a = normalize_axis(attr_int(n.attrs, "axis"), rank_of(n));
  int64_t sections = attr_int(n.attrs, "sections"), index = attr_int(n.attrs, "index");
  const SymShape& shape = n.input_infos[0].shape;
  const Dim& d = shape[static_cast<std::size_t>(a)];
  if (d.is_known()) {
    int64_t length = d.size / sections;
    return g.slice(n.inputs[0], {index * length}, {(index + 1) * length}, {a});
  }
  std::string length = g.node("Div", {g.dims(n.inputs[0], shape, a, a + 1), g.ints({sections})});
  std::string start = g.node("Mul", {length, g.ints({index})});
  return g.node("Slice", {n.inputs[0], start, g.node("Add", {start, length}), g.ints({a})});
}

std::string pad(G& g, const N& n) {
  const std::string& mode = attr_string(n.attrs, "mode");
  if (mode == "wrap" && g.opset() < 19) throw Error(ErrorKind::unsupported, "pad mode \"wrap\" needs opset 19 (Pad's wrap mode)");
  std::vector<std::string> inputs = {n.inputs[0], g.ints(attr_ints(n.attrs, "pads"))};
  if (mode == "constant") inputs.push_back(num(g, n.output.dtype, attr_number(n.attrs, "value")));
  return g.node("Pad", inputs, {o_str("mode", mode)});
}

Lowering with_reduction(const std::string& op_type, bool has_axis) {
  return [op_type, has_axis](G& g, const N& n) {
    std::vector<OnnxAttr> attrs;
    if (has_axis) attrs.push_back(o_int("axis", normalize_axis(attr_int(n.attrs, "axis"), rank_of(n))));
    const std::string& reduction = attr_string(n.attrs, "reduction");
    int needs = reduction == "none" ? 13 : reduction == "add" || reduction == "mul" ? 16 : 18;
    if (g.opset() < needs)
      throw Error(ErrorKind::unsupported, fmt::format("reduction \"{}\" needs {}'s reduction attribute of opset {}", reduction, op_type, needs));
    if (reduction != "none") attrs.push_back(o_str("reduction", reduction));
    return g.node(op_type, n.inputs, attrs);
  };
}

std::string trilu(G& g, const N& n) {
  bool upper = attr_bool(n.attrs, "upper");
  int64_t k = attr_int(n.attrs, "k");
  if (g.opset() >= 14) return g.node("Trilu", {n.inputs[0], g.constant(Tensor::scalar(DType::int64, static_cast<double>(k)))}, {o_int("upper", upper ? 1 : 0)});
  // Opset 13: a constant mask of the last two axes.
  const SymShape& s = n.input_infos[0].shape;
  const Dim& rows = s[s.size() - 2];
  const Dim& cols = s.back();
  if (!rows.is_known() || !cols.is_known()) throw Error(ErrorKind::unsupported, "trilu before opset 14 needs the last two sizes known");
  Tensor mask(DType::bool_, {rows.size, cols.size});
  for (int64_t i = 0; i < rows.size; ++i)
    for (int64_t j = 0; j < cols.size; ++j) mask.mutable_data_as<bool>()[i * cols.size + j] = upper ? j - i >= k : j - i <= k;
  return g.node("Where", {g.constant(mask), n.inputs[0], num(g, n.output.dtype, 0)});
}

std::string cumsum(G& g, const N& n) {
  int64_t axis = normalize_axis(attr_int(n.attrs, "axis"), rank_of(n));
  return g.node("CumSum", {n.inputs[0], g.constant(Tensor::scalar(DType::int64, static_cast<double>(axis)))},
                {o_int("exclusive", attr_bool(n.attrs, "exclusive") ? 1 : 0), o_int("reverse", attr_bool(n.attrs, "reverse") ? 1 : 0)});
}

std::string one_hot(G& g, const N& n) {
  return g.node("OneHot", {n.inputs[0], g.constant(Tensor::scalar(DType::int64, static_cast<double>(attr_int(n.attrs, "depth")))), n.inputs[1]},
                {o_int("axis", attr_int(n.attrs, "axis"))});
}

Tensor floats(const std::vector<double>& v) {
  Tensor t(DType::float32, {static_cast<int64_t>(v.size())});
  for (std::size_t i = 0; i < v.size(); ++i) t.mutable_data_as<float>()[i] = static_cast<float>(v[i]);
  return t;
}

std::string resize(G& g, const N& n) {
  const std::string& ctm = attr_string(n.attrs, "coordinate_transformation_mode");
  if (ctm == "tf_half_pixel_for_nn") throw Error(ErrorKind::unsupported, "coordinate mode tf_half_pixel_for_nn left ONNX at opset 13");
  std::vector<double> scales = attr_numbers(n.attrs, "scales");
  std::vector<double> roi = attr_numbers(n.attrs, "roi");
  std::string roi_in = roi.empty() ? "" : g.constant(floats(roi));
  std::vector<std::string> inputs = {n.inputs[0], roi_in};
  if (!scales.empty()) {
    inputs.push_back(g.constant(floats(scales)));
  } else {
    inputs.push_back("");
    const SymShape& out = n.output.shape;
    if (is_concrete(out)) {
      inputs.push_back(g.ints(to_shape(out)));
    } else {
      // -1 keeps an input axis: those sizes from Shape(x)
      std::vector<int64_t> sizes = attr_ints(n.attrs, "sizes");
      std::vector<std::string> parts;
      for (std::size_t i = 0; i < sizes.size(); ++i)
        parts.push_back(sizes[i] >= 0 ? g.ints({sizes[i]}) : g.dims(n.inputs[0], n.input_infos[0].shape, static_cast<int64_t>(i), static_cast<int64_t>(i) + 1));
      inputs.push_back(g.node("Concat", parts, {o_int("axis", 0)}));
    }
  }
  return g.node("Resize", inputs,
                {o_str("mode", attr_string(n.attrs, "mode")), o_str("coordinate_transformation_mode", ctm),
                 o_str("nearest_mode", attr_string(n.attrs, "nearest_mode")), o_float("cubic_coeff_a", attr_number(n.attrs, "cubic_coeff_a")),
                 o_int("exclude_outside", attr_bool(n.attrs, "exclude_outside") ? 1 : 0),
                 o_float("extrapolation_value", attr_number(n.attrs, "extrapolation_value"))});
}

Lowering top_k(int which) {
  return [which](G& g, const N& n) {
    std::vector<std::string> outs =
        g.node_outputs("TopK", {n.inputs[0], g.ints({attr_int(n.attrs, "k")})},
                       {o_int("axis", normalize_axis(attr_int(n.attrs, "axis"), rank_of(n))), o_int("largest", attr_bool(n.attrs, "largest") ? 1 : 0),
                        o_int("sorted", attr_bool(n.attrs, "sorted") ? 1 : 0)},
                       2);
    return outs[static_cast<std::size_t>(which)];
  };
}

// SpaceToDepth is DCR only: CRD (channel-major blocks) as reshape + transpose + reshape.
std::string space_to_depth(G& g, const N& n) {
  int64_t b = attr_int(n.attrs, "blocksize");
  if (attr_string(n.attrs, "mode") == "DCR") return g.node("SpaceToDepth", n.inputs, {o_int("blocksize", b)});
  const SymShape& s = n.input_infos[0].shape;
  if (!s[1].is_known() || !s[2].is_known() || !s[3].is_known())
    throw Error(ErrorKind::unsupported, "space_to_depth mode CRD needs the channel and spatial sizes known");
  int64_t c = s[1].size, h = s[2].size, w = s[3].size;
  std::string x = g.reshape(n.inputs[0], g.ints({0, c, h / b, b, w / b, b}));
  x = g.node("Transpose", {x}, {o_ints("perm", {0, 1, 3, 5, 2, 4})});
  return g.reshape(x, g.ints({0, c * b * b, h / b, w / b}));
}

std::map<std::string, Lowering> make_lowerings() {
  std::map<std::string, Lowering> m;
  // elementwise
  m["add"] = direct("Add");
  m["subtract"] = direct("Sub");
  m["multiply"] = direct("Mul");
  m["divide"] = direct("Div");
  m["power"] = direct("Pow");
  m["maximum"] = direct("Max");
  m["minimum"] = direct("Min");
  m["floor_divide"] = floor_divide;
  m["shift_left"] = [](G& g, const N& n) { return shift(g, n, true); };
  m["shift_right"] = [](G& g, const N& n) { return shift(g, n, false); };
  m["negate"] = direct("Neg");
  m["abs"] = direct("Abs");
  m["exp"] = direct("Exp");
  m["log"] = direct("Log");
  m["sqrt"] = direct("Sqrt");
  m["sin"] = direct("Sin");
  m["cos"] = direct("Cos");
  m["where"] = direct("Where");
  m["cast"] = cast;
  // activations
  m["relu"] = direct("Relu");
  m["sigmoid"] = direct("Sigmoid");
  m["tanh"] = direct("Tanh");
  m["gelu"] = gelu;
  m["softplus"] = [](G& g, const N& n) { return softplus(g, n.inputs[0], n.output.dtype); };
  m["leaky_relu"] = [](G& g, const N& n) { return g.node("LeakyRelu", n.inputs, {o_float("alpha", attr_number(n.attrs, "slope"))}); };
  m["softmax"] = [](G& g, const N& n) {
    return g.node("Softmax", n.inputs, {o_int("axis", normalize_axis(attr_int(n.attrs, "axis"), rank_of(n)))});
  };
  // linalg
  m["matmul"] = direct("MatMul");
  // reductions
  m["sum"] = reduction("ReduceSum");
  m["mean"] = reduction("ReduceMean");
  m["max"] = reduction("ReduceMax");
  m["min"] = reduction("ReduceMin");
  m["prod"] = reduction("ReduceProd");
  m["variance"] = variance;
  // shape
  m["reshape"] = reshape;
  m["transpose"] = transpose;
  m["concat"] = concat;
  m["flatten"] = flatten;
  // nn
  m["identity"] = direct("Identity");
  m["gather"] = [](G& g, const N& n) {
    int64_t axis = n.attrs.count("axis") ? normalize_axis(attr_int(n.attrs, "axis"), rank_of(n)) : 0;  // axis came with issue 14
    return g.node("Gather", n.inputs, {o_int("axis", axis)});
  };
  m["conv1d"] = conv;
  m["conv2d"] = conv;
  m["max_pool1d"] = max_pool(1);
  m["max_pool2d"] = max_pool(2);
  m["robust_sqrt"] = robust_sqrt;
  m["robust_log"] = [](G& g, const N& n) { return robust_log(g, n.inputs[0], n.inputs[1], n.output.dtype); };
  m["robust_power"] = robust_power;
  m["stable_reciprocal"] = stable_reciprocal;
  m["polynomial_features"] = polynomial_features;
  m["cartesian_difference"] = cartesian_difference;
  // losses
  m["cross_entropy"] = cross_entropy;
  m["binary_cross_entropy"] = binary_cross_entropy;
  m["max_pool3d"] = max_pool(3);
  // --- ONNX nn/math operators (issue 14)
  m["log_softmax"] = [](G& g, const N& n) {
    return g.node("LogSoftmax", n.inputs, {o_int("axis", normalize_axis(attr_int(n.attrs, "axis"), rank_of(n)))});
  };
  m["prelu"] = prelu;
  m["elu"] = activation("Elu", {{"alpha", "alpha"}});
  m["selu"] = activation("Selu", {{"alpha", "alpha"}, {"gamma", "gamma"}});
  m["celu"] = celu;
  m["hard_sigmoid"] = activation("HardSigmoid", {{"alpha", "alpha"}, {"beta", "beta"}});
  m["hard_swish"] = hard_swish;
  m["softsign"] = direct("Softsign");
  m["thresholded_relu"] = activation("ThresholdedRelu", {{"alpha", "alpha"}});
  m["shrink"] = activation("Shrink", {{"bias", "bias"}, {"lambd", "lambd"}});
  m["mish"] = mish;
  for (const auto& [ours, theirs] : std::vector<std::pair<std::string, std::string>>{
           {"erf", "Erf"}, {"floor", "Floor"}, {"ceil", "Ceil"}, {"round", "Round"}, {"sign", "Sign"}, {"reciprocal", "Reciprocal"},
           {"tan", "Tan"}, {"asin", "Asin"}, {"acos", "Acos"}, {"atan", "Atan"}, {"sinh", "Sinh"}, {"cosh", "Cosh"},
           {"asinh", "Asinh"}, {"acosh", "Acosh"}, {"atanh", "Atanh"}, {"logical_not", "Not"}, {"isnan", "IsNaN"},
           {"equal", "Equal"}, {"less", "Less"}, {"less_equal", "LessOrEqual"}, {"greater", "Greater"},
           {"greater_equal", "GreaterOrEqual"}, {"logical_and", "And"}, {"logical_or", "Or"}, {"logical_xor", "Xor"}})
    m[ours] = direct(theirs);
  m["isinf"] = [](G& g, const N& n) {
    return g.node("IsInf", n.inputs, {o_int("detect_positive", attr_bool(n.attrs, "detect_positive") ? 1 : 0),
                                      o_int("detect_negative", attr_bool(n.attrs, "detect_negative") ? 1 : 0)});
  };
  m["clip"] = clip;
  m["mod"] = mod;
  m["argmax"] = arg("ArgMax");
  m["argmin"] = arg("ArgMin");
  m["avg_pool1d"] = avg_pool(1);
  m["avg_pool2d"] = avg_pool(2);
  m["avg_pool3d"] = avg_pool(3);
  m["conv3d"] = conv;
  m["conv_transpose1d"] = conv_transpose;
  m["conv_transpose2d"] = conv_transpose;
  m["conv_transpose3d"] = conv_transpose;
  m["batch_norm"] = [](G& g, const N& n) { return g.node("BatchNormalization", n.inputs, {o_float("epsilon", attr_number(n.attrs, "epsilon"))}); };
  m["instance_norm"] = [](G& g, const N& n) {
    return g.node("InstanceNormalization", n.inputs, {o_float("epsilon", attr_number(n.attrs, "epsilon"))});
  };
  m["layer_norm"] = layer_norm;
  // --- ONNX shape/indexing operators (issue 14)
  m["slice"] = slice;
  m["dim_size"] = dim_size;
  m["eye_of_dim"] = eye_of_dim;
  m["slice_at_dim"] = slice_at_dim;
  m["split_section"] = split_section;
  m["expand"] = [](G& g, const N& n) { return g.node("Expand", {n.inputs[0], g.ints(attr_ints(n.attrs, "shape"))}); };
  m["tile"] = [](G& g, const N& n) { return g.node("Tile", {n.inputs[0], g.ints(attr_ints(n.attrs, "repeats"))}); };
  m["pad"] = pad;
  m["gather_elements"] = [](G& g, const N& n) {
    return g.node("GatherElements", n.inputs, {o_int("axis", normalize_axis(attr_int(n.attrs, "axis"), rank_of(n)))});
  };
  m["scatter_elements"] = with_reduction("ScatterElements", true);
  m["gather_nd"] = [](G& g, const N& n) { return g.node("GatherND", n.inputs, {o_int("batch_dims", attr_int(n.attrs, "batch_dims"))}); };
  m["scatter_nd"] = with_reduction("ScatterND", false);
  m["one_hot"] = one_hot;
  m["trilu"] = trilu;
  m["cumsum"] = cumsum;
  m["resize"] = resize;
  m["top_k_values"] = top_k(0);
  m["top_k_indices"] = top_k(1);
  m["depth_to_space"] = [](G& g, const N& n) {
    return g.node("DepthToSpace", n.inputs, {o_int("blocksize", attr_int(n.attrs, "blocksize")), o_str("mode", attr_string(n.attrs, "mode"))});
  };
  m["space_to_depth"] = space_to_depth;
  m["hardmax"] = [](G& g, const N& n) {
    return g.node("Hardmax", n.inputs, {o_int("axis", normalize_axis(attr_int(n.attrs, "axis"), rank_of(n)))});
  };
  m["einsum"] = [](G& g, const N& n) {
    std::string equation;  // ONNX's grammar has no spaces
    for (char c : attr_string(n.attrs, "equation"))
      if (c != ' ') equation += c;
    return g.node("Einsum", n.inputs, {o_str("equation", equation)});
  };
  m["det"] = direct("Det");
  m["max_unpool"] = [](G& g, const N& n) {
    std::vector<int64_t> kernel = attr_ints(n.attrs, "kernel_size"), stride = attr_ints(n.attrs, "stride");
    std::vector<int64_t> padding = attr_ints(n.attrs, "padding"), pads;
    for (std::size_t i = 0; i < padding.size(); i += 2) pads.push_back(padding[i]);  // ONNX: begins, then ends
    for (std::size_t i = 1; i < padding.size(); i += 2) pads.push_back(padding[i]);
    std::vector<OnnxAttr> attrs{o_ints("kernel_shape", kernel)};
    if (!stride.empty()) attrs.push_back(o_ints("strides", stride));
    if (!pads.empty()) attrs.push_back(o_ints("pads", pads));
    std::vector<std::string> inputs{n.inputs[0], n.input_infos[1].dtype == DType::int64 ? n.inputs[1] : g.cast(n.inputs[1], DType::int64)};
    if (!attr_ints(n.attrs, "output_size").empty()) {
      std::vector<int64_t> shape;
      for (const Dim& d : n.output.shape) {
        if (!d.is_known()) throw Error(ErrorKind::unsupported, "max_unpool with output_size needs N and C known (ONNX's output_shape is the full shape)");
        shape.push_back(d.size);
      }
      inputs.push_back(g.ints(shape));
    }
    return g.node("MaxUnpool", inputs, attrs);
  };
  m["grid_sample"] = [](G& g, const N& n) {
    if (g.opset() < 16) throw Error(ErrorKind::unsupported, "grid_sample needs GridSample of opset 16");
    return g.node("GridSample", n.inputs,
                  {o_str("mode", attr_string(n.attrs, "mode")), o_str("padding_mode", attr_string(n.attrs, "padding_mode")),
                   o_int("align_corners", attr_bool(n.attrs, "align_corners") ? 1 : 0)});
  };
  m["reverse_sequence"] = [](G& g, const N& n) {
    std::string lengths = n.input_infos[1].dtype == DType::int64 ? n.inputs[1] : g.cast(n.inputs[1], DType::int64);
    return g.node("ReverseSequence", {n.inputs[0], lengths},
                  {o_int("batch_axis", attr_int(n.attrs, "batch_axis")), o_int("time_axis", attr_int(n.attrs, "time_axis"))});
  };
  m["tf_idf_vectorizer"] = [](G& g, const N& n) {
    std::vector<OnnxAttr> attrs{o_str("mode", attr_string(n.attrs, "mode")),
                                o_int("min_gram_length", attr_int(n.attrs, "min_gram_length")),
                                o_int("max_gram_length", attr_int(n.attrs, "max_gram_length")),
                                o_int("max_skip_count", attr_int(n.attrs, "max_skip_count")),
                                o_ints("ngram_counts", attr_ints(n.attrs, "ngram_counts")),
                                o_ints("ngram_indexes", attr_ints(n.attrs, "ngram_indexes")),
                                o_ints("pool_int64s", attr_ints(n.attrs, "pool_int64s"))};
    if (!attr_numbers(n.attrs, "weights").empty()) attrs.push_back(o_floats("weights", attr_numbers(n.attrs, "weights")));
    return g.node("TfIdfVectorizer", n.inputs, attrs);
  };
  return m;
}

}  // namespace

const std::map<std::string, Lowering>& lowerings() {
  static const std::map<std::string, Lowering> table = make_lowerings();
  return table;
}

}  // namespace mithril::onnx_export
