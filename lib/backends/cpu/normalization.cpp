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

}  // namespace

void add_softmax_ops(CpuOpTable& table) {
  table["softmax"] = CpuOp{[](const NodeSpec& node) { return build_softmax(node).has_value(); },
                           [](const NodeSpec& node) -> std::unique_ptr<Kernel> {
                             auto pd = *build_softmax(node);
                             return std::make_unique<SrcDstKernel>(dnnl::softmax_forward(pd), pd, nullptr);
                           },
                           [](const NodeSpec&) { return Tolerance{1e-6, 2e-5}; }, false};
}

}  // namespace mithril::cpu
