// Neural-network operators that Python Mithril models need and the primitive families do not
// give by composition: identity, gather (indexing along axis 0), convolutions and max pooling
// (Python Mithril's zero padding), and the "robust" sqrt/log/power that stay finite near zero.
#include <algorithm>
#include <limits>
#include <optional>
#include <string>

#include "core/error.h"
#include "ops/families.h"
#include "ops/shape_inference.h"

namespace mithril {

namespace {

void require_index_dtype(const std::string& op, DType dtype) {
  if (dtype != DType::int32 && dtype != DType::int64)
    throw Error(ErrorKind::shape, op + ": indices must be int32 or int64, got " + std::string(dtype_name(dtype)));
}

ValueInfo infer_gather(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  require_index_dtype("gather", in[1].dtype);
  const SymShape& input = in[0].shape;
  if (input.empty()) throw Error(ErrorKind::shape, "gather: cannot index a 0-d value");
  auto axis = normalize_axis(attr_int(attrs, "axis"), static_cast<int64_t>(input.size()));
  SymShape out(input.begin(), input.begin() + axis);
  out.insert(out.end(), in[1].shape.begin(), in[1].shape.end());
  out.insert(out.end(), input.begin() + axis + 1, input.end());
  return ValueInfo{in[0].dtype, out};
}

ValueInfo infer_cartesian_difference(const std::vector<ValueInfo>& in, const Attributes&) {
  require_same_dtype(in[0].dtype, in[1].dtype);
  require_numeric("cartesian_difference", in[0].dtype);
  if (in[0].shape.size() != 2 || in[1].shape.size() != 2)
    throw Error(ErrorKind::shape, "cartesian_difference: left and right must be 2-D [N, D] and [M, D], got " +
                                      shape_str(in[0].shape) + " and " + shape_str(in[1].shape));
  const Dim& a = in[0].shape[1];
  const Dim& b = in[1].shape[1];
  if (a.is_known() && b.is_known() && a.size != b.size)
    throw Error(ErrorKind::shape, "cartesian_difference: left " + shape_str(in[0].shape) + " and right " +
                                      shape_str(in[1].shape) + " differ in their last axis");
  return ValueInfo{in[0].dtype, {in[0].shape[0], in[1].shape[0], a.is_known() ? a : b}};
}

// C(n, k) for the feature count of polynomial_features; nullopt past int64.
std::optional<int64_t> binomial(int64_t n, int64_t k) {
  int64_t r = 1;
  for (int64_t i = 1; i <= k; ++i) {
    if (r > std::numeric_limits<int64_t>::max() / (n - k + i)) return std::nullopt;
    r = r * (n - k + i) / i;
  }
  return r;
}

ValueInfo infer_polynomial_features(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  require_numeric("polynomial_features", in[0].dtype);
  if (in[0].shape.size() != 2)
    throw Error(ErrorKind::shape, "polynomial_features: input must be 2-D [samples, features], got " + shape_str(in[0].shape));
  int64_t degree = attr_int(attrs, "degree");
  if (degree < 1 || degree > 64)
    throw Error(ErrorKind::shape, "polynomial_features: degree " + std::to_string(degree) + " is not in 1..64");
  const Dim& d = in[0].shape[1];
  Dim features = Dim::any();
  if (d.is_known()) {
    std::optional<int64_t> count = binomial(d.size + degree, degree);
    if (!count) throw Error(ErrorKind::shape, "polynomial_features: too many features for input " + shape_str(in[0].shape));
    features = Dim::known(*count - 1);
  }
  return ValueInfo{in[0].dtype, {in[0].shape[0], features}};
}

// One spatial output size: (size + before + after - dilation * (kernel - 1) - 1) / stride + 1,
// the division rounded up with ceil_mode, but never a window that starts past the input and its
// leading padding (torch's rule, which ONNX runtimes follow).
Dim window_dim(const Dim& size, int64_t kernel, int64_t stride, int64_t before, int64_t after, int64_t dilation,
               const std::string& op, bool ceil_mode = false) {
  if (!size.is_known()) return Dim::any();
  int64_t span = size.size + before + after - dilation * (kernel - 1) - 1;
  if (span < 0)
    throw Error(ErrorKind::shape, op + ": window of " + std::to_string(kernel) + " (dilation " +
                                      std::to_string(dilation) + ") is larger than the padded size " +
                                      std::to_string(size.size + before + after));
  int64_t count = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  if (ceil_mode && (count - 1) * stride >= size.size + before) --count;
  return Dim::known(count);
}

std::vector<int64_t> positive_ints(const Attributes& attrs, const std::string& name, std::size_t count,
                                   const std::string& op, bool allow_zero = false) {
  std::vector<int64_t> v = attr_ints(attrs, name);
  if (v.size() != count)
    throw Error(ErrorKind::schema, op + ": " + name + " needs " + std::to_string(count) + " values, got " + ints_str(v));
  for (int64_t x : v)
    if (x < (allow_zero ? 0 : 1))
      throw Error(ErrorKind::schema, op + ": " + name + " " + ints_str(v) + (allow_zero ? " has a negative value" : " must be positive"));
  return v;
}

std::string spatial_names(std::size_t rank) { return rank == 1 ? "W" : rank == 2 ? "H,W" : "D,H,W"; }
std::string kernel_names(std::size_t rank) { return rank == 1 ? "k" : rank == 2 ? "kh,kw" : "kd,kh,kw"; }

// conv<rank>d: input [N, C, spatial...], weight [O, C / groups, kernel...] -> [N, O, spatial'...].
InferFn infer_conv(std::size_t rank) {
  std::string op = "conv" + std::to_string(rank) + "d";
  return [rank, op](const std::vector<ValueInfo>& in, const Attributes& attrs) {
    require_same_dtype(in[0].dtype, in[1].dtype);
    require_numeric(op, in[0].dtype);
    const SymShape& x = in[0].shape;
    const SymShape& w = in[1].shape;
    if (x.size() != rank + 2 || w.size() != rank + 2)
      throw Error(ErrorKind::shape, op + " needs input [N,C," + spatial_names(rank) + "] and weight [O,C," + kernel_names(rank) +
                                        "], got " + shape_str(x) + " and " + shape_str(w));
    std::vector<int64_t> stride = positive_ints(attrs, "stride", rank, op);
    std::vector<int64_t> padding = positive_ints(attrs, "padding", 2 * rank, op, true);
    std::vector<int64_t> dilation = positive_ints(attrs, "dilation", rank, op);
    int64_t groups = attr_int(attrs, "groups");
    if (groups < 1) throw Error(ErrorKind::schema, op + ": groups must be positive, got " + std::to_string(groups));
    if (x[1].is_known() && w[1].is_known() && x[1].size != w[1].size * groups)
      throw Error(ErrorKind::shape, op + ": input has " + std::to_string(x[1].size) + " channels, weight " + shape_str(w) +
                                        " with groups " + std::to_string(groups) + " expects " + std::to_string(w[1].size * groups));
    if (w[0].is_known() && w[0].size % groups != 0)
      throw Error(ErrorKind::shape, op + ": " + std::to_string(w[0].size) + " output channels do not split into " +
                                        std::to_string(groups) + " groups");
    SymShape out = {x[0], w[0]};
    for (std::size_t i = 0; i < rank; ++i) {
      if (!w[2 + i].is_known()) {
        out.push_back(Dim::any());
        continue;
      }
      out.push_back(window_dim(x[2 + i], w[2 + i].size, stride[i], padding[2 * i], padding[2 * i + 1], dilation[i], op));
    }
    return ValueInfo{in[0].dtype, out};
  };
}

// max_pool<rank>d / avg_pool<rank>d over the last `rank` axes of an input of rank >= rank.
InferFn infer_pool(std::size_t rank, const std::string& kind = "max") {
  std::string op = kind + "_pool" + std::to_string(rank) + "d";
  return [rank, op, kind](const std::vector<ValueInfo>& in, const Attributes& attrs) {
    if (kind == "avg") require_floating(op, in[0].dtype);
    else require_numeric(op, in[0].dtype);
    const SymShape& x = in[0].shape;
    if (x.size() < rank)
      throw Error(ErrorKind::shape, op + " needs an input of rank " + std::to_string(rank) + " or more, got " + shape_str(x));
    std::vector<int64_t> kernel = positive_ints(attrs, "kernel_size", rank, op);
    std::vector<int64_t> stride = positive_ints(attrs, "stride", rank, op);
    std::vector<int64_t> padding = positive_ints(attrs, "padding", 2 * rank, op, true);
    std::vector<int64_t> dilation = positive_ints(attrs, "dilation", rank, op);
    SymShape out(x.begin(), x.end() - static_cast<std::ptrdiff_t>(rank));
    bool ceil_mode = attr_bool(attrs, "ceil_mode");
    for (std::size_t i = 0; i < rank; ++i) {
      if (padding[2 * i] >= (kernel[i] - 1) * dilation[i] + 1 || padding[2 * i + 1] >= (kernel[i] - 1) * dilation[i] + 1)
        if (ceil_mode || kind == "avg" || attr_bool(attrs, "pad_with_neg_inf"))
          throw Error(ErrorKind::shape, op + ": padding " + ints_str(padding) + " must be smaller than the window " +
                                            ints_str(kernel) + " (a window would cover padding only)");
      out.push_back(window_dim(x[x.size() - rank + i], kernel[i], stride[i], padding[2 * i], padding[2 * i + 1], dilation[i], op,
                               ceil_mode));
    }
    return ValueInfo{in[0].dtype, out};
  };
}

// conv_transpose<rank>d: input [N, C, spatial...], weight [C, O / groups, kernel...] -> [N, O, spatial'...]
// with spatial' = (in - 1) * stride - before - after + dilation * (kernel - 1) + output_padding + 1.
InferFn infer_conv_transpose(std::size_t rank) {
  std::string op = "conv_transpose" + std::to_string(rank) + "d";
  return [rank, op](const std::vector<ValueInfo>& in, const Attributes& attrs) {
    require_same_dtype(in[0].dtype, in[1].dtype);
    require_floating(op, in[0].dtype);
    const SymShape& x = in[0].shape;
    const SymShape& w = in[1].shape;
    if (x.size() != rank + 2 || w.size() != rank + 2)
      throw Error(ErrorKind::shape, op + " needs input [N,C," + spatial_names(rank) + "] and weight [C,O/groups," +
                                        kernel_names(rank) + "], got " + shape_str(x) + " and " + shape_str(w));
    std::vector<int64_t> stride = positive_ints(attrs, "stride", rank, op);
    std::vector<int64_t> padding = positive_ints(attrs, "padding", 2 * rank, op, true);
    std::vector<int64_t> output_padding = positive_ints(attrs, "output_padding", rank, op, true);
    std::vector<int64_t> dilation = positive_ints(attrs, "dilation", rank, op);
    int64_t groups = attr_int(attrs, "groups");
    if (groups < 1) throw Error(ErrorKind::schema, op + ": groups must be positive, got " + std::to_string(groups));
    for (std::size_t i = 0; i < rank; ++i)
      if (output_padding[i] >= std::max(stride[i], dilation[i]))
        throw Error(ErrorKind::schema, op + ": output_padding " + ints_str(output_padding) +
                                           " must be smaller than the stride or the dilation of its axis");
    if (x[1].is_known() && w[0].is_known() && x[1].size != w[0].size)
      throw Error(ErrorKind::shape, op + ": input has " + std::to_string(x[1].size) + " channels, weight " + shape_str(w) +
                                        " expects " + std::to_string(w[0].size));
    if (w[0].is_known() && w[0].size % groups != 0)
      throw Error(ErrorKind::shape, op + ": " + std::to_string(w[0].size) + " input channels do not split into " +
                                        std::to_string(groups) + " groups");
    SymShape out = {x[0], w[1].is_known() ? Dim::known(w[1].size * groups) : Dim::any()};
    for (std::size_t i = 0; i < rank; ++i) {
      if (!x[2 + i].is_known() || !w[2 + i].is_known()) {
        out.push_back(Dim::any());
        continue;
      }
      int64_t size = (x[2 + i].size - 1) * stride[i] - padding[2 * i] - padding[2 * i + 1] + dilation[i] * (w[2 + i].size - 1) +
                     output_padding[i] + 1;
      if (size < 0 || x[2 + i].size == 0)
        throw Error(ErrorKind::shape, op + ": padding " + ints_str(padding) + " leaves no output for input " + shape_str(x));
      out.push_back(Dim::known(size));
    }
    return ValueInfo{in[0].dtype, out};
  };
}

// Checks that a per-channel operand (scale, bias, mean, variance) is [C] for an input [N, C, ...].
void require_channel_vector(const std::string& op, const std::string& name, const ValueInfo& input, const ValueInfo& v) {
  require_same_dtype(input.dtype, v.dtype);
  if (v.shape.size() != 1 || !unify_dim(v.shape[0], input.shape[1]))
    throw Error(ErrorKind::shape, op + ": " + name + " must be [C] for input " + shape_str(input.shape) + ", got " +
                                      shape_str(v.shape));
}

InferFn infer_channel_norm(const std::string& op) {
  return [op](const std::vector<ValueInfo>& in, const Attributes& attrs) {
    require_floating(op, in[0].dtype);
    if (in[0].shape.size() < 2) throw Error(ErrorKind::shape, op + " needs an input [N, C, ...], got " + shape_str(in[0].shape));
    static const char* names[] = {"input", "scale", "bias", "mean", "variance"};
    for (std::size_t i = 1; i < in.size(); ++i) require_channel_vector(op, names[i], in[0], in[i]);
    if (attr_number(attrs, "epsilon") < 0) throw Error(ErrorKind::schema, op + ": epsilon must be >= 0");
    return in[0];
  };
}

// Python Mithril's GroupNorm without its scale and bias: each sample's elements split into
// num_groups equal runs.
ValueInfo infer_group_norm(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  require_floating("group_norm", in[0].dtype);
  int64_t groups = attr_int(attrs, "num_groups");
  if (groups < 1) throw Error(ErrorKind::schema, "group_norm: num_groups must be >= 1, got " + std::to_string(groups));
  if (attr_number(attrs, "epsilon") < 0) throw Error(ErrorKind::schema, "group_norm: epsilon must be >= 0");
  const SymShape& x = in[0].shape;
  if (x.empty()) throw Error(ErrorKind::shape, "group_norm needs an input [N, ...], got " + shape_str(x));
  int64_t per_sample = 1;
  bool known = true;
  for (std::size_t d = 1; d < x.size(); ++d) {
    known = known && x[d].is_known();
    if (known) per_sample *= x[d].size;
  }
  if (known && per_sample % groups != 0)
    throw Error(ErrorKind::shape, "group_norm: a sample of input " + shape_str(x) + " has " + std::to_string(per_sample) +
                                      " elements, not divisible into " + std::to_string(groups) + " groups");
  return in[0];
}

// query [..., L, E], key [..., S, E], value [..., S, O] -> [..., L, O]; the batch axes agree.
ValueInfo infer_attention(const std::vector<ValueInfo>& in, const Attributes&) {
  static const char* names[] = {"query", "key", "value"};
  require_floating("scaled_dot_product_attention", in[0].dtype);
  for (std::size_t i = 0; i < 3; ++i) {
    require_same_dtype(in[0].dtype, in[i].dtype);
    if (in[i].shape.size() < 2 || in[i].shape.size() != in[0].shape.size())
      throw Error(ErrorKind::shape, std::string("scaled_dot_product_attention: ") + names[i] + " " + shape_str(in[i].shape) +
                                        " must be [..., rows, columns] with the query's rank (query " + shape_str(in[0].shape) + ")");
  }
  const SymShape &q = in[0].shape, &k = in[1].shape, &v = in[2].shape;
  std::size_t r = q.size();
  auto mismatch = [&](const std::string& what) {
    throw Error(ErrorKind::shape, "scaled_dot_product_attention: " + what + " (query " + shape_str(q) + ", key " + shape_str(k) +
                                      ", value " + shape_str(v) + ")");
  };
  SymShape out;
  for (std::size_t d = 0; d + 2 < r; ++d) {
    std::optional<Dim> a = unify_dim(q[d], k[d]);
    std::optional<Dim> b = a ? unify_dim(*a, v[d]) : std::nullopt;
    if (!b) mismatch("their batch axes differ");
    out.push_back(*b);
  }
  if (!unify_dim(q[r - 1], k[r - 1])) mismatch("query and key differ in their last axis");
  if (!unify_dim(k[r - 2], v[r - 2])) mismatch("key and value differ in their number of rows");
  out.push_back(q[r - 2]);
  out.push_back(v[r - 1]);
  return ValueInfo{in[0].dtype, out};
}

// squared_distances [N, N] with 0-d target_perplexity and threshold -> [N, N].
ValueInfo infer_tsne_p_joint(const std::vector<ValueInfo>& in, const Attributes&) {
  require_floating("tsne_p_joint", in[0].dtype);
  const SymShape& d = in[0].shape;
  if (d.size() != 2 || !unify_dim(d[0], d[1]))
    throw Error(ErrorKind::shape, "tsne_p_joint: squared_distances must be a square matrix [N, N], got " + shape_str(d));
  for (std::size_t i = 1; i < 3; ++i) {
    require_same_dtype(in[0].dtype, in[i].dtype);
    if (!in[i].shape.empty())
      throw Error(ErrorKind::shape, std::string("tsne_p_joint: ") + (i == 1 ? "target_perplexity" : "threshold") +
                                        " must be a scalar (0-d), got " + shape_str(in[i].shape));
  }
  return in[0];
}

ValueInfo infer_layer_norm(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  require_floating("layer_norm", in[0].dtype);
  const SymShape& x = in[0].shape;
  int64_t axis = normalize_axis(attr_int(attrs, "axis"), static_cast<int64_t>(x.size()));
  for (std::size_t i = 1; i < 3; ++i) {
    require_same_dtype(in[0].dtype, in[i].dtype);
    // scale and bias broadcast over the normalized axes only: the output keeps the input's shape.
    if (static_cast<int64_t>(in[i].shape.size()) > static_cast<int64_t>(x.size()) - axis ||
        broadcast_shapes({x, in[i].shape}).size() != x.size())
      throw Error(ErrorKind::shape, std::string("layer_norm: ") + (i == 1 ? "scale " : "bias ") + shape_str(in[i].shape) +
                                        " must broadcast to the normalized axes of input " + shape_str(x));
    SymShape b = broadcast_shapes({x, in[i].shape});
    for (std::size_t d = 0; d < x.size(); ++d)
      if (x[d].is_known() && b[d].is_known() && x[d].size != b[d].size)
        throw Error(ErrorKind::shape, "layer_norm: " + shape_str(in[i].shape) + " does not broadcast to input " + shape_str(x));
  }
  if (attr_number(attrs, "epsilon") < 0) throw Error(ErrorKind::schema, "layer_norm: epsilon must be >= 0");
  return in[0];
}

// ONNX MaxUnpool: [N, C, spatial...] values and their flat positions -> [N, C, output spatial...].
ValueInfo infer_max_unpool(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  require_index_dtype("max_unpool", in[1].dtype);
  const SymShape& x = in[0].shape;
  std::vector<int64_t> kernel = attr_ints(attrs, "kernel_size"), stride = attr_ints(attrs, "stride");
  std::vector<int64_t> padding = attr_ints(attrs, "padding"), sizes = attr_ints(attrs, "output_size");
  std::size_t n = kernel.size();
  auto fail = [](const std::string& what) { throw Error(ErrorKind::shape, "max_unpool: " + what); };
  if (n == 0 || x.size() != n + 2) fail("input " + shape_str(x) + " must be [N, C] plus one axis per kernel size " + ints_str(kernel));
  if (in[1].shape.size() != x.size()) fail("indices " + shape_str(in[1].shape) + " must have the input's shape " + shape_str(x));
  for (std::size_t a = 0; a < x.size(); ++a)
    if (!unify_dim(x[a], in[1].shape[a])) fail("indices " + shape_str(in[1].shape) + " must have the input's shape " + shape_str(x));
  if (stride.empty()) stride.assign(n, 1);
  if (padding.empty()) padding.assign(2 * n, 0);
  if (stride.size() != n || padding.size() != 2 * n || (!sizes.empty() && sizes.size() != n))
    fail("stride, padding (before, after per axis) and output_size must match kernel_size " + ints_str(kernel));
  SymShape out{x[0], x[1]};
  for (std::size_t i = 0; i < n; ++i) {
    if (kernel[i] < 1 || stride[i] < 1 || padding[2 * i] < 0 || padding[2 * i + 1] < 0) fail("kernel sizes and strides must be positive, padding not negative");
    const Dim& d = x[i + 2];
    std::optional<int64_t> size;
    if (d.is_known()) {
      size = (d.size - 1) * stride[i] + kernel[i] - padding[2 * i] - padding[2 * i + 1];
      if (*size < 0) fail("the output of axis " + std::to_string(i + 2) + " would be " + std::to_string(*size));
    }
    if (!sizes.empty()) {
      if (sizes[i] < 0 || (size && sizes[i] < *size))
        fail("output_size " + ints_str(sizes) + " is smaller than the unpooled size " + std::to_string(size.value_or(0)) + " of axis " +
             std::to_string(i + 2));
      out.push_back(Dim::known(sizes[i]));
      continue;
    }
    out.push_back(size ? Dim::known(*size) : Dim::any());
  }
  return ValueInfo{in[0].dtype, out};
}

InferFn infer_robust(const std::string& op) {
  return [op](const std::vector<ValueInfo>& in, const Attributes&) {
    std::vector<SymShape> shapes;
    for (const ValueInfo& v : in) {
      require_same_dtype(in[0].dtype, v.dtype);
      shapes.push_back(v.shape);
    }
    require_floating(op, in[0].dtype);
    return ValueInfo{in[0].dtype, broadcast_shapes(shapes)};
  };
}

std::string max_pool_doc() {
  return " Padding is filled with zeros, not -inf (Python Mithril's semantics: a window that only covers padding and "
         "negative values gives 0), unless pad_with_neg_inf (ONNX and torch: padding is ignored; then, as with "
         "ceil_mode, padding must be smaller than the window); NaN propagates. ceil_mode rounds the output size up "
         "(windows past the end see no elements there), except that no window starts past the input and its leading "
         "padding.";
}

// --- ONNX nn/math ops (issue 14)
std::vector<int64_t> ones(std::size_t n) { return std::vector<int64_t>(n, 1); }
std::vector<int64_t> zeros(std::size_t n) { return std::vector<int64_t>(n, 0); }

void register_onnx_nn_ops(OpRegistry& registry) {
  const std::string pool_doc = max_pool_doc();
  registry.add(builtin_schema(
      "max_pool3d",
      "Maximum over windows of the last three axes: kernel_size [kd, kh, kw], stride, padding [front, back, top, "
      "bottom, left, right], dilation; as max_pool2d otherwise." + pool_doc,
      {{"input"}},
      {{"kernel_size", AttrType::int_list, std::nullopt},
       {"stride", AttrType::int_list, std::nullopt},
       {"padding", AttrType::int_list, AttrValue{zeros(6)}},
       {"dilation", AttrType::int_list, AttrValue{ones(3)}},
       {"ceil_mode", AttrType::boolean, AttrValue{false}},
       {"pad_with_neg_inf", AttrType::boolean, AttrValue{false}}},
      infer_pool(3)));
  for (std::size_t rank = 1; rank <= 3; ++rank) {
    std::string r = std::to_string(rank);
    registry.add(builtin_schema(
        "avg_pool" + r + "d",
        "Mean over windows of the last " + r + " axes (ONNX AveragePool): kernel_size, stride (one value per axis), padding "
        "(before, after per axis), dilation; padding must be smaller than the window. count_include_pad=false divides "
        "by the number of input elements in the window, true by the window's elements inside the padded input. "
        "ceil_mode rounds the output size up (windows past the end see no elements there), except that no window "
        "starts past the input and its leading padding.",
        {{"input"}},
        {{"kernel_size", AttrType::int_list, std::nullopt},
         {"stride", AttrType::int_list, std::nullopt},
         {"padding", AttrType::int_list, AttrValue{zeros(2 * rank)}},
         {"dilation", AttrType::int_list, AttrValue{ones(rank)}},
         {"ceil_mode", AttrType::boolean, AttrValue{false}},
         {"count_include_pad", AttrType::boolean, AttrValue{false}}},
        infer_pool(rank, "avg")));
    registry.add(builtin_schema(
        "conv_transpose" + r + "d",
        "Transposed convolution (the gradient of conv" + r + "d; ONNX ConvTranspose): input [N, C, " + spatial_names(rank) +
            "] and weight [C, O/groups, " + kernel_names(rank) + "] -> [N, O, ...] with each output size (in - 1) * stride - "
            "before - after + dilation * (kernel - 1) + output_padding + 1; padding is (before, after) per axis and "
            "crops the full result. Add a bias with `add`.",
        {{"input"}, {"weight"}},
        {{"stride", AttrType::int_list, AttrValue{ones(rank)}},
         {"padding", AttrType::int_list, AttrValue{zeros(2 * rank)}},
         {"output_padding", AttrType::int_list, AttrValue{zeros(rank)}},
         {"dilation", AttrType::int_list, AttrValue{ones(rank)}},
         {"groups", AttrType::integer, AttrValue{int64_t{1}}}},
        infer_conv_transpose(rank)));
  }
  registry.add(builtin_schema(
      "conv3d",
      "input [N, C, D, H, W] * weight [O, C/groups, kd, kh, kw] -> [N, O, D', H', W']; padding is [front, back, top, bottom, "
      "left, right]. Cross-correlation (no kernel flip) with zero padding; stride, dilation and groups as in torch.",
      {{"input"}, {"weight"}},
      {{"stride", AttrType::int_list, AttrValue{ones(3)}},
       {"padding", AttrType::int_list, AttrValue{zeros(6)}},
       {"dilation", AttrType::int_list, AttrValue{ones(3)}},
       {"groups", AttrType::integer, AttrValue{int64_t{1}}}},
      infer_conv(3)));
  registry.add(builtin_schema(
      "batch_norm",
      "Inference-mode batch normalization (ONNX BatchNormalization): (input - mean) / sqrt(variance + epsilon) * scale + "
      "bias, per channel of input [N, C, ...]; scale, bias, mean and variance are [C].",
      {{"input"}, {"scale"}, {"bias"}, {"mean"}, {"variance"}}, {{"epsilon", AttrType::number, AttrValue{1e-5}}},
      infer_channel_norm("batch_norm")));
  registry.add(builtin_schema(
      "instance_norm",
      "Instance normalization (ONNX InstanceNormalization): for input [N, C, ...], each (n, c) plane is normalized by its own "
      "mean and (biased) variance: (x - mean) / sqrt(variance + epsilon) * scale[c] + bias[c]; scale and bias are [C].",
      {{"input"}, {"scale"}, {"bias"}}, {{"epsilon", AttrType::number, AttrValue{1e-5}}}, infer_channel_norm("instance_norm")));
  registry.add(builtin_schema(
      "scaled_dot_product_attention",
      "Attention as Python Mithril's numpy backend computes it: softmax(query @ key^T * scale + bias) @ value along the "
      "last axis, with query [..., L, E], key [..., S, E], value [..., S, O] -> [..., L, O] (the batch axes agree); "
      "scale null is 1 / sqrt(E); is_causal gives bias -inf where column > row, else 0. The softmax subtracts the row's "
      "maximum (numpy's order).",
      {{"query"}, {"key"}, {"value"}},
      {{"is_causal", AttrType::boolean, AttrValue{false}}, {"scale", AttrType::number_or_null, AttrValue{}}}, infer_attention));
  registry.add(builtin_schema(
      "tsne_p_joint",
      "t-SNE's joint probabilities as Python Mithril's numpy backend computes them: for each row i of squared_distances "
      "[N, N], sigma_i from the bisection of Python's binary_search (lower 0, upper 1001, at most 1000 steps, then "
      "its widening of an exact hit to the largest interval) on the perplexity 2^H of the row's conditional "
      "probabilities (softmax of -d / (2 sigma^2) with the diagonal zeroed, clipped to [threshold, 1 - threshold], H "
      "in bits) against target_perplexity; sigma_i is the interval's midpoint. Output (P + P^T) / (2N) with P the "
      "conditional probabilities at those sigmas, where (as Python's calc_prob_matrix broadcasts them) entry (i, j) "
      "divides by 2 sigma_j^2.",
      {{"squared_distances"}, {"target_perplexity"}, {"threshold"}}, {}, infer_tsne_p_joint));
  registry.add(builtin_schema(
      "group_norm",
      "Group normalization as Python Mithril's GroupNorm computes it, without scale and bias (apply them with `multiply` "
      "and `add`): each sample of input [N, ...] (its elements in C order) is split into num_groups equal runs, each "
      "normalized by its own mean and biased variance: (x - mean) / sqrt(variance + epsilon), numpy's order. With C "
      "divisible by num_groups these are groups of channels, as torch's group_norm; the sample size must be divisible.",
      {{"input"}}, {{"num_groups", AttrType::integer, std::nullopt}, {"epsilon", AttrType::number, AttrValue{1e-5}}},
      infer_group_norm));
  registry.add(builtin_schema(
      "layer_norm",
      "Layer normalization (ONNX LayerNormalization): over the axes [axis, rank), (x - mean) / sqrt(variance + epsilon) "
      "* scale + bias with the biased variance; scale and bias broadcast (numpy rules) to the normalized axes. The "
      "output keeps the input's shape.",
      {{"input"}, {"scale"}, {"bias"}},
      {{"axis", AttrType::integer, AttrValue{int64_t{-1}}}, {"epsilon", AttrType::number, AttrValue{1e-5}}}, infer_layer_norm));
  registry.add(builtin_schema(
      "max_unpool",
      "ONNX MaxUnpool: zeros where each input value is written at its index, a position in the whole unpooled "
      "output [N, C, (in - 1) * stride + kernel - padding before - after, ...] flattened (as MaxPool's Indices "
      "output gives them; a position written twice keeps the later value); stride defaults to 1, padding to 0. "
      "output_size, when given, extends the spatial axes with zeros at their ends (it may not be smaller).",
      {{"input"}, {"indices"}},
      {{"kernel_size", AttrType::int_list, std::nullopt},
       {"stride", AttrType::int_list, AttrValue{std::vector<int64_t>{}}},
       {"padding", AttrType::int_list, AttrValue{std::vector<int64_t>{}}},
       {"output_size", AttrType::int_list, AttrValue{std::vector<int64_t>{}}}},
      infer_max_unpool));
}

}  // namespace

void register_nn_ops(OpRegistry& registry) {
  registry.add(builtin_schema("identity", "The input unchanged (any dtype, any shape).", {{"input"}}, {},
                              [](const std::vector<ValueInfo>& in, const Attributes&) { return in[0]; }));
  registry.add(builtin_schema(
      "gather",
      "numpy.take(input, indices, axis) / ONNX Gather (axis default 0: input[indices]): output shape "
      "input.shape[:axis] + indices.shape + input.shape[axis+1:]; indices are int32 or int64, negative ones count "
      "from the end, out-of-range ones are an error.",
      {{"input"}, {"indices"}}, {{"axis", AttrType::integer, AttrValue{int64_t{0}}, false}}, infer_gather));
  const std::string conv_doc =
      " Cross-correlation (no kernel flip) with zero padding; stride, padding (before, after per spatial axis), "
      "dilation and groups as in torch. Input and weight share the dtype; add a bias with `add`.";
  registry.add(builtin_schema(
      "conv1d", "input [N, C, W] * weight [O, C/groups, k] -> [N, O, W']." + conv_doc, {{"input"}, {"weight"}},
      {{"stride", AttrType::int_list, AttrValue{std::vector<int64_t>{1}}},
       {"padding", AttrType::int_list, AttrValue{std::vector<int64_t>{0, 0}}},
       {"dilation", AttrType::int_list, AttrValue{std::vector<int64_t>{1}}},
       {"groups", AttrType::integer, AttrValue{int64_t{1}}}},
      infer_conv(1)));
  registry.add(builtin_schema(
      "conv2d",
      "input [N, C, H, W] * weight [O, C/groups, kh, kw] -> [N, O, H', W']; padding is [top, bottom, left, right]." +
          conv_doc,
      {{"input"}, {"weight"}},
      {{"stride", AttrType::int_list, AttrValue{std::vector<int64_t>{1, 1}}},
       {"padding", AttrType::int_list, AttrValue{std::vector<int64_t>{0, 0, 0, 0}}},
       {"dilation", AttrType::int_list, AttrValue{std::vector<int64_t>{1, 1}}},
       {"groups", AttrType::integer, AttrValue{int64_t{1}}}},
      infer_conv(2)));
  const std::string pool_doc = max_pool_doc();
  registry.add(builtin_schema(
      "max_pool1d",
      "Maximum over windows of the last axis: kernel_size [k], stride [s], padding [left, right], dilation [d]." + pool_doc,
      {{"input"}},
      {{"kernel_size", AttrType::int_list, std::nullopt},
       {"stride", AttrType::int_list, std::nullopt},
       {"padding", AttrType::int_list, AttrValue{std::vector<int64_t>{0, 0}}},
       {"dilation", AttrType::int_list, AttrValue{std::vector<int64_t>{1}}},
       {"ceil_mode", AttrType::boolean, AttrValue{false}, false},
       {"pad_with_neg_inf", AttrType::boolean, AttrValue{false}, false}},
      infer_pool(1)));
  registry.add(builtin_schema(
      "max_pool2d",
      "Maximum over windows of the last two axes: kernel_size [kh, kw], stride [sh, sw], padding [top, bottom, "
      "left, right], dilation [dh, dw]." + pool_doc,
      {{"input"}},
      {{"kernel_size", AttrType::int_list, std::nullopt},
       {"stride", AttrType::int_list, std::nullopt},
       {"padding", AttrType::int_list, AttrValue{std::vector<int64_t>{0, 0, 0, 0}}},
       {"dilation", AttrType::int_list, AttrValue{std::vector<int64_t>{1, 1}}},
       {"ceil_mode", AttrType::boolean, AttrValue{false}, false},
       {"pad_with_neg_inf", AttrType::boolean, AttrValue{false}, false}},
      infer_pool(2)));
  registry.add(builtin_schema(
      "robust_sqrt",
      "Square root that stays differentiable at 0 (Python Mithril's robust sqrt): with a = |input|, a / sqrt(threshold) "
      "where a < threshold, else sqrt(a). Numpy broadcasting of input and threshold.",
      {{"input"}, {"threshold"}}, {}, infer_robust("robust_sqrt")));
  registry.add(builtin_schema(
      "robust_log",
      "Logarithm that stays finite at 0 (Python Mithril's robust log): with a = |input|, log(threshold) + a / "
      "threshold - 1 where a < threshold, else log(a). Numpy broadcasting of input and threshold.",
      {{"input"}, {"threshold"}}, {}, infer_robust("robust_log")));
  registry.add(builtin_schema(
      "robust_power",
      "Power that stays finite near 0 (Python Mithril's robust power): with b = |base|, b / threshold where b < "
      "threshold and exponent < 1 - log(threshold) / log(b), else b ** exponent. Numpy broadcasting of all three.",
      {{"base"}, {"exponent"}, {"threshold"}}, {}, infer_robust("robust_power")));
  registry.add(builtin_schema(
      "polynomial_features",
      "Every product of the input's features up to `degree` (Python Mithril's PolynomialFeatures): input [N, D] -> "
      "[N, C(D + degree, degree) - 1], the columns in the order of combinations with replacement of (1, x1, ..., xD), "
      "the constant one left out; each product is prod_j x_j ** p_j from left to right, as numpy computes it.",
      {{"input"}}, {{"degree", AttrType::integer, AttrValue{int64_t{2}}}}, infer_polynomial_features));
  registry.add(builtin_schema(
      "cartesian_difference",
      "Every difference of a row of left [N, D] and a row of right [M, D]: output [N, M, D] with output[i, j] = "
      "left[i] - right[j] (numpy's left[:, None, :] - right[None, :, :]).",
      {{"left"}, {"right"}}, {}, infer_cartesian_difference));
  registry.add(builtin_schema(
      "stable_reciprocal",
      "Reciprocal that stays finite near 0 (Python Mithril's StableReciprocal): 1 / input where |input| >= "
      "threshold, else (sign(input) + (1 - sign(|input|))) * 2 / threshold - input / threshold^2. Numpy "
      "broadcasting of input and threshold.",
      {{"input"}, {"threshold"}}, {}, infer_robust("stable_reciprocal")));
  register_onnx_nn_ops(registry);
}

}  // namespace mithril
