// Reductions over a set of axes: sum, mean, max, min, prod, variance; argmax and argmin over one.
#include <algorithm>
#include <string>

#include "core/error.h"
#include "ops/families.h"
#include "ops/shape_inference.h"

namespace mithril {

namespace {

struct ReductionKind {
  std::string name;
  std::string doc;
  bool floating_only;  // mean and variance divide, so they would truncate on integers
  bool needs_elements;  // max and min have no identity, so an empty reduction is an error
};

ValueInfo infer_reduction(const ReductionKind& kind, const std::vector<ValueInfo>& in, const Attributes& attrs) {
  if (kind.floating_only) require_floating(kind.name, in[0].dtype);
  else require_numeric(kind.name, in[0].dtype);
  const SymShape& shape = in[0].shape;
  std::vector<int64_t> axes = reduction_axes(attrs, static_cast<int64_t>(shape.size()));
  if (attrs.count("correction") && attr_number(attrs, "correction") < 0)
    throw Error(ErrorKind::schema, kind.name + ": correction must be >= 0, got " + attr_str(attrs.at("correction")));
  bool keepdims = attr_bool(attrs, "keepdims");
  SymShape out;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    bool reduced = std::find(axes.begin(), axes.end(), static_cast<int64_t>(i)) != axes.end();
    if (reduced && kind.needs_elements && shape[i].is_known() && shape[i].size == 0)
      throw Error(ErrorKind::shape, kind.name + " over an empty axis " + std::to_string(i) + " of " +
                                        shape_str(shape) + " has no identity");
    if (!reduced) out.push_back(shape[i]);
    else if (keepdims) out.push_back(Dim::known(1));
  }
  return ValueInfo{in[0].dtype, out};
}

ValueInfo infer_arg_reduction(const std::string& name, const std::vector<ValueInfo>& in, const Attributes& attrs) {
  if (in[0].dtype != DType::bool_) require_numeric(name, in[0].dtype);
  const SymShape& shape = in[0].shape;
  int64_t axis = normalize_axis(attr_int(attrs, "axis"), std::max<int64_t>(1, static_cast<int64_t>(shape.size())));
  if (shape.empty()) return ValueInfo{DType::int64, {}};
  if (shape[static_cast<std::size_t>(axis)].is_known() && shape[static_cast<std::size_t>(axis)].size == 0)
    throw Error(ErrorKind::shape, name + " over the empty axis " + std::to_string(axis) + " of " + shape_str(shape));
  SymShape out = shape;
  if (attr_bool(attrs, "keepdims")) out[static_cast<std::size_t>(axis)] = Dim::known(1);
  else out.erase(out.begin() + axis);
  return ValueInfo{DType::int64, out};
}

}  // namespace

void register_reduction_ops(OpRegistry& registry) {
  const std::string common =
      " over attribute `axes` (an int, a list of ints — empty reduces nothing — or null for all axes); keepdims "
      "keeps each reduced axis with size 1. The output keeps the input dtype (numpy widens int32 sums to int64; "
      "cast first if that matters).";
  std::vector<ReductionKind> kinds = {
      {"sum", "Sum" + common, false, false},
      {"mean", "Arithmetic mean (NaN when empty)" + common, true, false},
      {"max", "Maximum (NaN propagates)" + common, false, true},
      {"min", "Minimum (NaN propagates)" + common, false, true},
      {"prod", "Product" + common, false, false},
      {"variance",
       "Variance sum((x - mean)^2) / max(n - correction, 0) (numpy's var with ddof = correction)" + common, true,
       false},
  };
  for (const ReductionKind& kind : kinds) {
    std::vector<AttrSpec> attributes = {{"axes", AttrType::int_list_or_null, AttrValue{}},
                                        {"keepdims", AttrType::boolean, AttrValue{false}}};
    if (kind.name == "variance") attributes.push_back({"correction", AttrType::number, AttrValue{0.0}});
    registry.add(builtin_schema(kind.name, kind.doc, {{"input"}}, attributes,
                                [kind](const std::vector<ValueInfo>& in, const Attributes& attrs) {
                                  return infer_reduction(kind, in, attrs);
                                }));
  }

  // --- ONNX nn/math ops (issue 14)
  for (const char* name : {"argmax", "argmin"}) {
    std::string op = name;
    bool max = op == "argmax";
    registry.add(builtin_schema(
        op,
        std::string("Index (int64) of the ") + (max ? "largest" : "smallest") +
            " element along attribute `axis` (default 0); keepdims (default true) keeps that axis with size 1; "
            "ties give the first index, or the last with select_last_index. NaN counts as the extreme (numpy's "
            "rule). A 0-d input gives 0.",
        {{"input"}},
        {{"axis", AttrType::integer, AttrValue{int64_t{0}}},
         {"keepdims", AttrType::boolean, AttrValue{true}},
         {"select_last_index", AttrType::boolean, AttrValue{false}}},
        [op](const std::vector<ValueInfo>& in, const Attributes& attrs) { return infer_arg_reduction(op, in, attrs); }));
  }
}

}  // namespace mithril
