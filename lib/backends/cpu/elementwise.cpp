// Elementwise operators on oneDNN: unary ones as eltwise primitives, add/subtract/multiply/divide
// as binary primitives with numpy broadcasting of the right operand (of either one for add and
// multiply). Both run in place and take further elementwise operators as post-ops.
#include "backends/cpu/dnnl_util.h"

namespace mithril::cpu {
namespace {

using dt = memory::data_type;

std::optional<dnnl::eltwise_forward::primitive_desc> build_unary(const NodeSpec& node, PostOps* post_out) {
  if (!all_float32(node) || node.output.shape != node.inputs[0].shape) return std::nullopt;
  auto e = eltwise_of(*node.op, *node.attributes);
  if (!e) return std::nullopt;
  Dims dims = dims_of(node.output.shape);
  if (shape_numel(node.output.shape) == 0) return std::nullopt;
  // The primitive writes in its source's layout.
  if (node.input_layout(0) != node.output_layout) return std::nullopt;
  std::optional<PostOps> post = post_ops_of(node, same_rank_mapper(dims));
  if (!post) return std::nullopt;
  dnnl::primitive_attr attr = make_attr(&*post);
  auto pd = try_primitive_desc<dnnl::eltwise_forward::primitive_desc>([&] {
    dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, e->algorithm, layout_desc(dims, dt::f32, node.output_layout),
                                     e->alpha, e->beta);
    return dnnl::eltwise_forward::primitive_desc(desc, attr, engine());
  });
  if (pd && post_out) *post_out = std::move(*post);
  return pd;
}

// Which input is oneDNN's src0 (it must have the output's shape; src1 broadcasts).
struct BinaryOrder {
  int left = 0, right = 1;
};

std::optional<BinaryOrder> order_of(const NodeSpec& node) {
  const Shape& out = node.output.shape;
  if (node.inputs[0].shape == out) return BinaryOrder{0, 1};
  bool commutative = node.op->name == "add" || node.op->name == "multiply";
  if (commutative && node.inputs[1].shape == out) return BinaryOrder{1, 0};
  return std::nullopt;
}

std::optional<dnnl::binary::primitive_desc> build_binary(const NodeSpec& node, PostOps* post_out) {
  if (!all_float32(node)) return std::nullopt;
  auto algorithm = binary_of(*node.op);
  std::optional<BinaryOrder> order = order_of(node);
  if (!algorithm || !order || shape_numel(node.output.shape) == 0) return std::nullopt;
  Dims dst = dims_of(node.output.shape);
  const std::size_t left_index = static_cast<std::size_t>(order->left), right_index = static_cast<std::size_t>(order->right);
  std::optional<Dims> right = same_rank_mapper(dst)(node.inputs[right_index].shape);
  if (!right) return std::nullopt;
  if (node.input_layout(right_index) != Layout::plain && node.inputs[right_index].shape.size() != dst.size()) return std::nullopt;
  std::optional<PostOps> post = post_ops_of(node, same_rank_mapper(dst));
  if (!post) return std::nullopt;
  dnnl::primitive_attr attr = make_attr(&*post);
  auto pd = try_primitive_desc<dnnl::binary::primitive_desc>([&] {
    dnnl::binary::desc desc(*algorithm, layout_desc(dst, dt::f32, node.input_layout(left_index)),
                            layout_desc(*right, dt::f32, node.input_layout(right_index)), layout_desc(dst, dt::f32, node.output_layout));
    return dnnl::binary::primitive_desc(desc, attr, engine());
  });
  if (pd && post_out) *post_out = std::move(*post);
  return pd;
}

class BinaryKernel final : public PrimitiveKernel {
 public:
  explicit BinaryKernel(const NodeSpec& node) : order_(*order_of(node)) {
    PostOps post;
    auto pd = *build_binary(node, &post);
    left_ = unbound_memory(pd.src_desc(0));
    right_ = unbound_memory(pd.src_desc(1));
    dst_ = unbound_memory(pd.dst_desc());
    set_primitive(dnnl::binary(pd), pd, &post);
  }

  void run(std::span<const Tensor* const> inputs, Tensor& out) override {
    left_.set_data_handle(handle(*inputs[static_cast<std::size_t>(order_.left)]));
    right_.set_data_handle(handle(*inputs[static_cast<std::size_t>(order_.right)]));
    dst_.set_data_handle(out.mutable_data());
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC_0, left_}, {DNNL_ARG_SRC_1, right_}, {DNNL_ARG_DST, dst_}};
    execute(inputs, args);
  }

 private:
  BinaryOrder order_;
  memory left_, right_, dst_;
};

// prelu: the slope broadcast to the input's rank (oneDNN takes it as the primitive's weights).
std::optional<dnnl::prelu_forward::primitive_desc> build_prelu(const NodeSpec& node) {
  if (!all_float32(node) || !node.fused.empty() || node.output.shape != node.inputs[0].shape) return std::nullopt;
  if (shape_numel(node.output.shape) == 0) return std::nullopt;
  Dims dims = dims_of(node.output.shape);
  std::optional<Dims> slope = same_rank_mapper(dims)(node.inputs[1].shape);
  if (!slope) return std::nullopt;
  dnnl::primitive_attr attr = make_attr(nullptr);
  return try_primitive_desc<dnnl::prelu_forward::primitive_desc>([&] {
    dnnl::prelu_forward::desc desc(dnnl::prop_kind::forward_inference, plain_desc(dims, dt::f32), plain_desc(*slope, dt::f32));
    return dnnl::prelu_forward::primitive_desc(desc, attr, engine());
  });
}

class PreluKernel final : public PrimitiveKernel {
 public:
  explicit PreluKernel(const NodeSpec& node) {
    auto pd = *build_prelu(node);
    src_ = unbound_memory(pd.src_desc());
    slope_ = unbound_memory(pd.weights_desc());
    dst_ = unbound_memory(pd.dst_desc());
    set_primitive(dnnl::prelu_forward(pd), pd, nullptr);
  }

  void run(std::span<const Tensor* const> inputs, Tensor& out) override {
    src_.set_data_handle(handle(*inputs[0]));
    slope_.set_data_handle(handle(*inputs[1]));
    dst_.set_data_handle(out.mutable_data());
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, slope_}, {DNNL_ARG_DST, dst_}};
    execute(inputs, args);
  }

 private:
  memory src_, slope_, dst_;
};

}  // namespace

void add_elementwise_ops(CpuOpTable& table) {
  table["prelu"] = CpuOp{[](const NodeSpec& node) { return build_prelu(node).has_value(); },
                         [](const NodeSpec& node) -> std::unique_ptr<Kernel> { return std::make_unique<PreluKernel>(node); },
                         [](const NodeSpec&) { return Tolerance{}; }, false};
  CpuOp unary{[](const NodeSpec& node) { return build_unary(node, nullptr).has_value(); },
              [](const NodeSpec& node) -> std::unique_ptr<Kernel> {
                PostOps post;
                auto pd = *build_unary(node, &post);
                return std::make_unique<SrcDstKernel>(dnnl::eltwise_forward(pd), pd, &post);
              },
              [](const NodeSpec& node) { return with_fused(elementwise_tolerance(*node.op), node); }, true, true};
  for (const char* name : {"relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softplus", "exp", "log", "sqrt", "abs", "negate",
                           "elu", "round", "hard_swish", "mish", "reciprocal"})
    table[name] = unary;
  // In place only over src0 when src0 is inputs[0] (the executor aliases inputs[0] with the output).
  CpuOp binary{[](const NodeSpec& node) { return build_binary(node, nullptr).has_value(); },
               [](const NodeSpec& node) -> std::unique_ptr<Kernel> { return std::make_unique<BinaryKernel>(node); },
               [](const NodeSpec& node) { return with_fused(elementwise_tolerance(*node.op), node); }, true, true};
  for (const char* name : {"add", "subtract", "multiply", "divide"}) table[name] = binary;
}

}  // namespace mithril::cpu
