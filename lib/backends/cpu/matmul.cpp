// matmul on oneDNN: one primitive per node with the fused bias and activations as post-ops.
// Weights known at plan time are reordered once into the layout the primitive asks for
// (format_tag::any: blocked for the brgemm kernels), in bfloat16 when computing in bf16.
#include <cmath>

#include "backends/cpu/dnnl_util.h"

namespace mithril::cpu {
namespace {

using dt = memory::data_type;

// The node as a 2-D GEMM ([lead*M, K] @ [K, N], weights shared by every leading index) or a 3-D
// batched one (equal batch dims); other broadcasts stay on reference.
struct Geometry {
  Dims src, weights, dst;
  int64_t k = 0;
  bool vector_operand = false;  // a 1-D operand: no fused operands (its output drops an axis)
  OperandMapper mapper;
};

bool all_ones(const Shape& s) {
  for (int64_t d : s)
    if (d != 1) return false;
  return true;
}

// Maps a fused operand (broadcast against the output `out`) onto dims where the output's leading
// axes are collapsed into one of size `collapsed`: the operand's leading axes must be all 1 or all
// the output's, each of its `kept` trailing axes 1 or the output's.
OperandMapper collapsing_mapper(const Shape& out, std::size_t kept, int64_t collapsed) {
  return [out, kept, collapsed](const Shape& operand) -> std::optional<Dims> {
    std::size_t r = out.size();
    if (operand.size() > r || r < kept) return std::nullopt;
    Dims p = left_pad(operand, r);
    bool ones = true, full = true;
    for (std::size_t i = 0; i + kept < r; ++i) {
      ones = ones && p[i] == 1;
      full = full && p[i] == out[i];
    }
    if (!ones && !full) return std::nullopt;
    Dims mapped{ones ? 1 : collapsed};
    for (std::size_t i = r - kept; i < r; ++i) {
      if (p[i] != 1 && p[i] != out[i]) return std::nullopt;
      mapped.push_back(p[i]);
    }
    return mapped;
  };
}

std::optional<Geometry> geometry_of(const NodeSpec& node) {
  Shape a = node.inputs[0].shape, b = node.inputs[1].shape;
  Geometry g;
  g.vector_operand = a.size() == 1 || b.size() == 1;
  if (a.size() == 1) a.insert(a.begin(), 1);
  if (b.size() == 1) b.push_back(1);
  if (a.size() < 2 || b.size() < 2) return std::nullopt;
  int64_t m = a[a.size() - 2], k = a.back(), n = b.back();
  Shape a_batch(a.begin(), a.end() - 2), b_batch(b.begin(), b.end() - 2);
  int64_t lead = 1;
  for (int64_t d : a_batch) lead *= d;
  if (m == 0 || k == 0 || n == 0 || lead == 0) return std::nullopt;
  g.k = k;
  const Shape& out = node.output.shape;
  if (all_ones(b_batch)) {
    g.src = {lead * m, k};
    g.weights = {k, n};
    g.dst = {lead * m, n};
    g.mapper = collapsing_mapper(out, 1, lead * m);
    return g;
  }
  if (a_batch == b_batch) {
    g.src = {lead, m, k};
    g.weights = {lead, k, n};
    g.dst = {lead, m, n};
    g.mapper = collapsing_mapper(out, 2, lead);
    return g;
  }
  return std::nullopt;
}

struct Built {
  Geometry geometry;
  PostOps post_ops;
  dnnl::matmul::primitive_desc pd;
};

std::optional<Built> build(const NodeSpec& node) {
  if (!all_float32(node)) return std::nullopt;
  std::optional<Geometry> g = geometry_of(node);
  if (!g || (g->vector_operand && !node.fused.empty())) return std::nullopt;
  std::optional<PostOps> post = post_ops_of(node, g->mapper);
  if (!post) return std::nullopt;
  dt compute = node.bfloat16_compute ? dt::bf16 : dt::f32;
  bool fixed_weights = node.input_values.size() > 1 && node.input_values[1] != nullptr;
  memory::desc src = plain_desc(g->src, compute);
  memory::desc weights = fixed_weights ? memory::desc(g->weights, compute, memory::format_tag::any) : plain_desc(g->weights, compute);
  memory::desc dst = plain_desc(g->dst, dt::f32);
  dnnl::primitive_attr attr = make_attr(&*post);
  auto pd = try_primitive_desc<dnnl::matmul::primitive_desc>(
      [&] { return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights, dst), attr, engine()); });
  if (!pd) return std::nullopt;
  return Built{std::move(*g), std::move(*post), std::move(*pd)};
}

class MatmulKernel final : public PrimitiveKernel {
 public:
  explicit MatmulKernel(const NodeSpec& node) {
    Built b = *build(node);
    memory::desc user_src = plain_desc(b.geometry.src, dt::f32), user_weights = plain_desc(b.geometry.weights, dt::f32);
    src_ = operand(user_src, b.pd.src_desc());
    weights_ = operand(user_weights, b.pd.weights_desc(), node.input_values[1]);
    dst_ = unbound_memory(b.pd.dst_desc());
    set_primitive(dnnl::matmul(b.pd), b.pd, &b.post_ops);
  }

  void run(std::span<const Tensor* const> inputs, Tensor& out) override {
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, bind(src_, *inputs[0])}, {DNNL_ARG_WEIGHTS, bind(weights_, *inputs[1])}};
    dst_.set_data_handle(out.mutable_data());
    args[DNNL_ARG_DST] = dst_;
    execute(inputs, args);
  }

 private:
  Operand src_, weights_;
  memory dst_;
};

}  // namespace

void add_matmul_ops(CpuOpTable& table) {
  table["matmul"] = CpuOp{
      [](const NodeSpec& node) { return build(node).has_value(); },
      [](const NodeSpec& node) -> std::unique_ptr<Kernel> { return std::make_unique<MatmulKernel>(node); },
      [](const NodeSpec& node) {
        std::optional<Geometry> g = geometry_of(node);
        double k = g ? static_cast<double>(g->k) : 1.0;
        // Summation order differs from the reference loop: a few ulps per accumulated product.
        // bf16 rounds both operands to 8 significant bits: errors grow like sqrt(k).
        Tolerance t = node.bfloat16_compute ? Tolerance{2e-2 * std::sqrt(k), 2e-2} : Tolerance{2e-6 * k, 1e-5};
        return with_fused(t, node);
      },
      false};
}

}  // namespace mithril::cpu
