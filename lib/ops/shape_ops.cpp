// Shape operators: reshape, transpose, concat, flatten. They accept every dtype.
#include <algorithm>
#include <string>

#include "core/error.h"
#include "ops/families.h"
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

ValueInfo infer_concat(const std::vector<ValueInfo>& in, const Attributes& attrs) {
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
      "concat",
      "The inputs joined along attribute `axis` (default 0); they share dtype and rank and agree on every other "
      "axis.",
      {{"inputs", true}}, {{"axis", AttrType::integer, AttrValue{int64_t{0}}}}, infer_concat));
  registry.add(builtin_schema(
      "flatten",
      "torch.flatten: axes start_dim..end_dim (inclusive; defaults 0 and -1) merged into one; a 0-d input gives "
      "[1].",
      {{"input"}},
      {{"start_dim", AttrType::integer, AttrValue{int64_t{0}}}, {"end_dim", AttrType::integer, AttrValue{int64_t{-1}}}},
      infer_flatten));
}

}  // namespace mithril
