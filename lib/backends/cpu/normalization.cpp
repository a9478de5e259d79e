// softmax on oneDNN, over any axis of a float32 tensor.
#include "backends/cpu/dnnl_util.h"
#include "ops/shape_inference.h"

namespace mithril::cpu {
namespace {

using dt = memory::data_type;

std::optional<dnnl::softmax_forward::primitive_desc> build_softmax(const NodeSpec& node) {
  const Shape& shape = node.inputs[0].shape;
  if (!all_float32(node) || !node.fused.empty() || shape.empty() || shape_numel(shape) == 0) return std::nullopt;
  int axis = static_cast<int>(normalize_axis(attr_int(*node.attributes, "axis"), static_cast<int64_t>(shape.size())));
  dnnl::primitive_attr attr = make_attr(nullptr);
  return try_primitive_desc<dnnl::softmax_forward::primitive_desc>([&] {
    dnnl::softmax_forward::desc desc(dnnl::prop_kind::forward_inference, plain_desc(dims_of(shape), dt::f32), axis);
    return dnnl::softmax_forward::primitive_desc(desc, attr, engine());
  });
}

class SoftmaxKernel final : public PrimitiveKernel {
 public:
  explicit SoftmaxKernel(const NodeSpec& node) {
    auto pd = *build_softmax(node);
    src_ = unbound_memory(pd.src_desc());
    dst_ = unbound_memory(pd.dst_desc());
    set_primitive(dnnl::softmax_forward(pd), pd, nullptr);
  }

  void run(std::span<const Tensor* const> inputs, Tensor& out) override {
    src_.set_data_handle(handle(*inputs[0]));
    dst_.set_data_handle(out.mutable_data());
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src_}, {DNNL_ARG_DST, dst_}};
    execute(inputs, args);
  }

 private:
  memory src_, dst_;
};

}  // namespace

void add_softmax_ops(CpuOpTable& table) {
  table["softmax"] = CpuOp{[](const NodeSpec& node) { return build_softmax(node).has_value(); },
                           [](const NodeSpec& node) -> std::unique_ptr<Kernel> { return std::make_unique<SoftmaxKernel>(node); },
                           [](const NodeSpec&) { return Tolerance{1e-6, 2e-5}; }, false};
}

}  // namespace mithril::cpu
