// sum, mean and prod on oneDNN's reduction primitive. (max and min stay on reference: oneDNN does
// not propagate NaN as numpy does; variance has no primitive.)
#include <algorithm>
#include <cmath>

#include "backends/cpu/dnnl_util.h"
#include "ops/shape_inference.h"

namespace mithril::cpu {
namespace {

using dt = memory::data_type;

std::optional<dnnl::algorithm> reduction_of(const std::string& name) {
  if (name == "sum") return dnnl::algorithm::reduction_sum;
  if (name == "mean") return dnnl::algorithm::reduction_mean;
  if (name == "prod") return dnnl::algorithm::reduction_mul;
  return std::nullopt;
}

// The input's dims and the output's with reduced axes kept as 1 (keepdims or not, the output's
// bytes are the same).
struct ReductionDims {
  Dims src, dst;
  int64_t length = 1;  // elements reduced into each output
};

std::optional<ReductionDims> dims_of_reduction(const NodeSpec& node) {
  const Shape& shape = node.inputs[0].shape;
  if (shape.empty() || shape_numel(shape) == 0) return std::nullopt;
  std::vector<int64_t> axes = reduction_axes(*node.attributes, static_cast<int64_t>(shape.size()));
  if (axes.empty()) return std::nullopt;  // nothing reduced: oneDNN refuses src == dst
  ReductionDims r{dims_of(shape), dims_of(shape), 1};
  for (int64_t a : axes) {
    r.length *= r.dst[static_cast<std::size_t>(a)];
    r.dst[static_cast<std::size_t>(a)] = 1;
  }
  return r;
}

struct ReductionBuilt {
  PostOps post_ops;
  dnnl::reduction::primitive_desc pd;
};

std::optional<ReductionBuilt> build_reduction(const NodeSpec& node) {
  auto algorithm = reduction_of(node.op->name);
  std::optional<ReductionDims> r = dims_of_reduction(node);
  if (!algorithm || !r || !all_float32(node)) return std::nullopt;
  // Fused operands broadcast against the output as the user sees it; without keepdims its
  // reduced axes are missing: put them back as 1s.
  Dims out = dims_of(node.output.shape);
  Dims dst = r->dst;
  bool keepdims = attr_bool(*node.attributes, "keepdims");
  std::vector<int64_t> axes = reduction_axes(*node.attributes, static_cast<int64_t>(r->src.size()));
  std::optional<PostOps> post = post_ops_of(node, [&](const Shape& operand) -> std::optional<Dims> {
    if (keepdims) return same_rank_mapper(dst)(operand);
    if (node.output.shape.empty()) return operand.empty() ? std::optional<Dims>(Dims(dst.size(), 1)) : std::nullopt;
    std::optional<Dims> mapped = same_rank_mapper(out)(operand);
    if (!mapped) return std::nullopt;
    Dims full;
    std::size_t next = 0;
    for (std::size_t i = 0; i < dst.size(); ++i)
      full.push_back(std::find(axes.begin(), axes.end(), static_cast<int64_t>(i)) != axes.end() ? 1 : (*mapped)[next++]);
    return full;
  });
  if (!post) return std::nullopt;
  dnnl::primitive_attr attr = make_attr(&*post);
  auto pd = try_primitive_desc<dnnl::reduction::primitive_desc>([&] {
    dnnl::reduction::desc desc(*algorithm, plain_desc(r->src, dt::f32), plain_desc(dst, dt::f32), 0.f, 0.f);
    return dnnl::reduction::primitive_desc(desc, attr, engine());
  });
  if (!pd) return std::nullopt;
  return ReductionBuilt{std::move(*post), std::move(*pd)};
}

}  // namespace

void add_reduction_ops(CpuOpTable& table) {
  CpuOp reduction{[](const NodeSpec& node) { return build_reduction(node).has_value(); },
                  [](const NodeSpec& node) -> std::unique_ptr<Kernel> {
                    ReductionBuilt b = *build_reduction(node);
                    return std::make_unique<SrcDstKernel>(dnnl::reduction(b.pd), b.pd, &b.post_ops);
                  },
                  [](const NodeSpec& node) {
                    std::optional<ReductionDims> r = dims_of_reduction(node);
                    double n = r ? static_cast<double>(r->length) : 1.0;
                    // Another summation order: a few ulps of the magnitudes summed per element.
                    return with_fused(Tolerance{2e-6 * n, 2e-6 * n}, node);
                  },
                  false};
  for (const char* name : {"sum", "mean", "prod"}) table[name] = reduction;
}

}  // namespace mithril::cpu
