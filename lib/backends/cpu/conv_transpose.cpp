// conv_transpose1d/2d/3d on oneDNN's deconvolution. Like convolutions, oneDNN picks the layouts:
// the input is reordered in and the output out around the primitive, weights known at plan time
// once. Our weight [C, O/groups, k...] is oneDNN's iohw (giohw for groups) with the same bytes.
#include <cmath>

#include "backends/cpu/dnnl_util.h"

namespace mithril::cpu {
namespace {

using dt = memory::data_type;
using tag = memory::format_tag;

struct DeconvBuilt {
  Dims src, weights, dst;
  tag weights_tag;
  dnnl::deconvolution_forward::primitive_desc pd;
};

std::optional<DeconvBuilt> build_deconv(const NodeSpec& node) {
  if (!all_float32(node) || !node.fused.empty()) return std::nullopt;
  const Shape& x = node.inputs[0].shape;
  const Shape& k = node.inputs[1].shape;
  std::size_t rank = x.size() - 2;
  bool one_d = rank == 1;
  const Attributes& attrs = *node.attributes;
  std::vector<int64_t> stride = attr_ints(attrs, "stride"), padding = attr_ints(attrs, "padding"),
                       output_padding = attr_ints(attrs, "output_padding"), dilation = attr_ints(attrs, "dilation");
  int64_t groups = attr_int(attrs, "groups");
  DeconvBuilt b;
  b.src = Dims(x.begin(), x.end());
  b.dst = Dims(node.output.shape.begin(), node.output.shape.end());
  Dims kernel(k.begin() + 2, k.end());
  Dims strides, dilates, pad_l, pad_r;
  if (one_d) {  // as 2-D with height 1
    b.src.insert(b.src.begin() + 2, 1);
    b.dst.insert(b.dst.begin() + 2, 1);
    kernel.insert(kernel.begin(), 1);
    strides.push_back(1);
    dilates.push_back(0);
    pad_l.push_back(0);
    pad_r.push_back(0);
  }
  for (std::size_t i = 0; i < rank; ++i) {
    strides.push_back(stride[i]);
    dilates.push_back(dilation[i] - 1);
    pad_l.push_back(padding[2 * i]);
    // output_padding extends the output at the end: oneDNN's size formula takes it as less right padding.
    pad_r.push_back(padding[2 * i + 1] - output_padding[i]);
  }
  for (int64_t v : b.src)
    if (v <= 0) return std::nullopt;
  for (int64_t v : b.dst)
    if (v <= 0) return std::nullopt;
  // Weights as oneDNN dims: [O, I, k...] or [G, O/G, I/G, k...].
  int64_t in_per_group = k[0] / groups, out_per_group = k[1];
  b.weights = groups > 1 ? Dims{groups, out_per_group, in_per_group} : Dims{out_per_group, in_per_group};
  b.weights.insert(b.weights.end(), kernel.begin(), kernel.end());
  std::size_t spatial = kernel.size();
  b.weights_tag = groups > 1 ? (spatial == 2 ? tag::giohw : tag::giodhw) : (spatial == 2 ? tag::iohw : tag::iodhw);
  dt compute = node.bfloat16_compute ? dt::bf16 : dt::f32;
  dnnl::primitive_attr attr = make_attr(nullptr);
  auto pd = try_primitive_desc<dnnl::deconvolution_forward::primitive_desc>([&] {
    dnnl::deconvolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                                           memory::desc(b.src, compute, tag::any), memory::desc(b.weights, compute, tag::any),
                                           memory::desc(b.dst, dt::f32, tag::any), strides, dilates, pad_l, pad_r);
    return dnnl::deconvolution_forward::primitive_desc(desc, attr, engine());
  });
  if (!pd) return std::nullopt;
  b.pd = std::move(*pd);
  return b;
}

class DeconvKernel final : public PrimitiveKernel {
 public:
  explicit DeconvKernel(const NodeSpec& node) {
    DeconvBuilt b = *build_deconv(node);
    memory::desc user_src = plain_desc(b.src, dt::f32), user_dst = plain_desc(b.dst, dt::f32);
    src_ = operand(user_src, b.pd.src_desc());
    weights_ = operand(memory::desc(b.weights, dt::f32, b.weights_tag), b.pd.weights_desc(), node.input_values[1]);
    if (b.pd.dst_desc() == user_dst) dst_ = unbound_memory(user_dst);
    else dst_stage_ = output_stage(b.pd.dst_desc(), user_dst);
    set_primitive(dnnl::deconvolution_forward(b.pd), b.pd, nullptr);
  }

  void run(std::span<const Tensor* const> inputs, Tensor& out) override {
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, bind(src_, *inputs[0])}, {DNNL_ARG_WEIGHTS, bind(weights_, *inputs[1])}};
    if (dst_stage_) {
      args[DNNL_ARG_DST] = dst_stage_->staged;
    } else {
      dst_.set_data_handle(out.mutable_data());
      args[DNNL_ARG_DST] = dst_;
    }
    execute(inputs, args);
    if (dst_stage_) stage_out(*dst_stage_, out);
  }

 private:
  Operand src_, weights_;
  memory dst_;
  std::optional<Stage> dst_stage_;
};

}  // namespace

void add_conv_transpose_ops(CpuOpTable& table) {
  CpuOp deconv{[](const NodeSpec& node) { return build_deconv(node).has_value(); },
               [](const NodeSpec& node) -> std::unique_ptr<Kernel> { return std::make_unique<DeconvKernel>(node); },
               [](const NodeSpec& node) {
                 // Each output sums at most C/groups * prod(kernel) products, as a convolution's.
                 const Shape& w = node.inputs[1].shape;
                 double k = static_cast<double>(w[0]);
                 for (std::size_t i = 2; i < w.size(); ++i) k *= static_cast<double>(w[i]);
                 return node.bfloat16_compute ? Tolerance{2e-2 * std::sqrt(k), 2e-2} : Tolerance{2e-6 * k, 1e-5};
               },
               false};
  for (const char* name : {"conv_transpose1d", "conv_transpose2d", "conv_transpose3d"}) table[name] = deconv;
}

}  // namespace mithril::cpu
