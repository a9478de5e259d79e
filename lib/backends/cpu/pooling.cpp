// max_pool1d/2d/3d and avg_pool1d/2d/3d on oneDNN's pooling primitive. Every leading axis is a
// separate plane, so the primitive sees [1, planes, spatial...] (1-D with height 1).
#include "backends/cpu/dnnl_util.h"

namespace mithril::cpu {

namespace {

using dt = memory::data_type;

std::size_t pool_rank(const OpSchema& op) { return static_cast<std::size_t>(op.name[8] - '0'); }

// [..., spatial...] -> [1, planes, spatial...], 1-D as 2-D.
Dims planar(const Shape& shape, std::size_t rank) {
  if (shape.size() < rank) return {0};
  int64_t planes = 1;
  for (std::size_t i = 0; i + rank < shape.size(); ++i) planes *= shape[i];
  Dims d{1, planes};
  if (rank == 1) d.push_back(1);
  d.insert(d.end(), shape.end() - static_cast<std::ptrdiff_t>(rank), shape.end());
  return d;
}

bool has_zero(const Dims& d) {
  for (int64_t v : d)
    if (v <= 0) return true;
  return false;
}

std::optional<dnnl::pooling_v2_forward::primitive_desc> build_pool(const NodeSpec& node) {
  if (!all_float32(node) || !node.fused.empty()) return std::nullopt;
  std::size_t rank = pool_rank(*node.op);
  Dims src = planar(node.inputs[0].shape, rank), dst = planar(node.output.shape, rank);
  Layout in_layout = node.input_layout(0), out_layout = node.output_layout;
  if (in_layout != Layout::plain || out_layout != Layout::plain) {
    // Channels-last needs the [N, C, spatial...] dims themselves (1-D as 2-D).
    if (node.inputs[0].shape.size() != rank + 2) return std::nullopt;
    src = Dims(node.inputs[0].shape.begin(), node.inputs[0].shape.end());
    dst = Dims(node.output.shape.begin(), node.output.shape.end());
    if (rank == 1) {
      src.insert(src.begin() + 2, 1);
      dst.insert(dst.begin() + 2, 1);
    }
  }
  if (has_zero(src) || has_zero(dst)) return std::nullopt;
  std::optional<PoolWindow> w = pool_window_of(*node.op, *node.attributes, node.inputs[0].shape, node.output.shape);
  if (!w) return std::nullopt;
  dnnl::primitive_attr attr = make_attr(nullptr);
  return try_primitive_desc<dnnl::pooling_v2_forward::primitive_desc>([&] {
    dnnl::pooling_v2_forward::desc desc(dnnl::prop_kind::forward_inference, w->algorithm, layout_desc(src, dt::f32, in_layout),
                                        layout_desc(dst, dt::f32, out_layout), w->stride, w->kernel, w->dilation, w->padding_l,
                                        w->padding_r);
    return dnnl::pooling_v2_forward::primitive_desc(desc, attr, engine());
  });
}

}  // namespace

std::optional<PoolWindow> pool_window_of(const OpSchema& op, const Attributes& attrs, const Shape& in, const Shape& out) {
  bool average = op.name.starts_with("avg_pool");
  std::size_t rank = pool_rank(op);
  if (in.size() < rank || out.size() < rank) return std::nullopt;
  std::vector<int64_t> kernel = attr_ints(attrs, "kernel_size"), stride = attr_ints(attrs, "stride"),
                       padding = attr_ints(attrs, "padding"), dilation = attr_ints(attrs, "dilation");
  bool padded = false;
  for (int64_t p : padding) padded = padded || p != 0;
  // oneDNN's max pooling never sees its padding, Python Mithril's sees zeros there.
  if (!average && padded && !attr_bool(attrs, "pad_with_neg_inf")) return std::nullopt;
  bool include_pad = average && attr_bool(attrs, "count_include_pad");
  PoolWindow w;
  w.algorithm = !average     ? dnnl::algorithm::pooling_max
                : include_pad ? dnnl::algorithm::pooling_avg_include_padding
                              : dnnl::algorithm::pooling_avg_exclude_padding;
  if (rank == 1) {
    w.stride.push_back(1);
    w.kernel.push_back(1);
    w.dilation.push_back(0);
    w.padding_l.push_back(0);
    w.padding_r.push_back(0);
  }
  for (std::size_t i = 0; i < rank; ++i) {
    int64_t size = in[in.size() - rank + i], count = out[out.size() - rank + i];
    int64_t extent = (kernel[i] - 1) * dilation[i] + 1;
    // ceil_mode's last windows reach past the right padding: oneDNN gets that much more padding,
    // which it ignores as ours does, except that an average including padding would count it.
    int64_t right = std::max<int64_t>(padding[2 * i + 1], (count - 1) * stride[i] + extent - size - padding[2 * i]);
    if (include_pad && right != padding[2 * i + 1]) return std::nullopt;
    w.stride.push_back(stride[i]);
    w.kernel.push_back(kernel[i]);
    w.dilation.push_back(dilation[i] - 1);
    w.padding_l.push_back(padding[2 * i]);
    w.padding_r.push_back(right);
  }
  return w;
}

void add_pool_ops(CpuOpTable& table) {
  CpuOp pool{[](const NodeSpec& node) { return build_pool(node).has_value(); },
             [](const NodeSpec& node) -> std::unique_ptr<Kernel> {
               auto pd = *build_pool(node);
               return std::make_unique<SrcDstKernel>(dnnl::pooling_v2_forward(pd), pd, nullptr);
             },
             [](const NodeSpec& node) {
               // Averages sum in another order than reference (which sums in double).
               return node.op->name.starts_with("avg_pool") ? Tolerance{1e-6, 1e-5} : Tolerance{};
             },
             false, true};
  for (const char* name : {"max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d"}) table[name] = pool;
}

}  // namespace mithril::cpu
