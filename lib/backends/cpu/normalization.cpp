// softmax and log_softmax on oneDNN, over any axis of a float32 tensor; batch_norm, instance_norm
// and layer_norm.
#include <algorithm>
#include <cmath>

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

// --- ONNX nn/math ops (issue 14): log_softmax, batch_norm, layer_norm.
namespace mithril::cpu {
namespace {

std::optional<dnnl::softmax_v2_forward::primitive_desc> build_log_softmax(const NodeSpec& node) {
  const Shape& shape = node.inputs[0].shape;
  if (!all_float32(node) || !node.fused.empty() || shape.empty() || shape_numel(shape) == 0) return std::nullopt;
  int axis = static_cast<int>(normalize_axis(attr_int(*node.attributes, "axis"), static_cast<int64_t>(shape.size())));
  dnnl::primitive_attr attr = make_attr(nullptr);
  return try_primitive_desc<dnnl::softmax_v2_forward::primitive_desc>([&] {
    memory::desc data = plain_desc(dims_of(shape), memory::data_type::f32);
    dnnl::softmax_v2_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::softmax_log, data, data, axis);
    return dnnl::softmax_v2_forward::primitive_desc(desc, attr, engine());
  });
}

// batch_norm over [N, C, rest] with the statistics given (use_global_stats): inputs scale, bias,
// mean and variance are bound per run, so they may change between runs.
std::optional<dnnl::batch_normalization_forward::primitive_desc> build_batch_norm(const NodeSpec& node) {
  const Shape& shape = node.inputs[0].shape;
  if (!all_float32(node) || !node.fused.empty() || shape.size() < 2 || shape_numel(shape) == 0) return std::nullopt;
  Dims dims{shape[0], shape[1]};
  if (shape.size() > 2) dims.push_back(shape_numel(shape) / (shape[0] * shape[1]));
  dnnl::primitive_attr attr = make_attr(nullptr);
  auto flags = dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale |
               dnnl::normalization_flags::use_shift;
  return try_primitive_desc<dnnl::batch_normalization_forward::primitive_desc>([&] {
    dnnl::batch_normalization_forward::desc desc(dnnl::prop_kind::forward_inference, plain_desc(dims, memory::data_type::f32),
                                                 static_cast<float>(attr_number(*node.attributes, "epsilon")), flags);
    return dnnl::batch_normalization_forward::primitive_desc(desc, attr, engine());
  });
}

class BatchNormKernel final : public PrimitiveKernel {
 public:
  explicit BatchNormKernel(const NodeSpec& node) {
    auto pd = *build_batch_norm(node);
    src_ = unbound_memory(pd.src_desc());
    dst_ = unbound_memory(pd.dst_desc());
    memory::desc channel = plain_desc({node.inputs[0].shape[1]}, memory::data_type::f32);
    for (memory& m : channel_) m = unbound_memory(channel);
    set_primitive(dnnl::batch_normalization_forward(pd), pd, nullptr);
  }

  void run(std::span<const Tensor* const> inputs, Tensor& out) override {
    src_.set_data_handle(handle(*inputs[0]));
    dst_.set_data_handle(out.mutable_data());
    for (std::size_t i = 0; i < 4; ++i) channel_[i].set_data_handle(handle(*inputs[i + 1]));
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src_},         {DNNL_ARG_DST, dst_},
                                         {DNNL_ARG_SCALE, channel_[0]}, {DNNL_ARG_SHIFT, channel_[1]},
                                         {DNNL_ARG_MEAN, channel_[2]},  {DNNL_ARG_VARIANCE, channel_[3]}};
    execute(inputs, args);
  }

 private:
  memory src_, dst_;
  memory channel_[4];  // scale, bias, mean, variance
};

// layer_norm as oneDNN's (over the last axis) on [rows, normalized elements]: only when scale and
// bias hold every normalized element (their shapes are the normalized axes, maybe with leading 1s).
struct LayerNormShape {
  Dims data;
  int64_t inner;
};

std::optional<LayerNormShape> layer_norm_shape(const NodeSpec& node) {
  const Shape& shape = node.inputs[0].shape;
  if (shape.empty()) return std::nullopt;
  auto axis = static_cast<std::size_t>(normalize_axis(attr_int(*node.attributes, "axis"), static_cast<int64_t>(shape.size())));
  Shape normalized(shape.begin() + static_cast<std::ptrdiff_t>(axis), shape.end());
  for (std::size_t i = 1; i < 3; ++i) {
    Shape operand = node.inputs[i].shape;
    while (operand.size() > normalized.size() && operand.front() == 1) operand.erase(operand.begin());
    if (operand.size() > normalized.size()) return std::nullopt;
    Dims padded = left_pad(operand, normalized.size());
    if (!std::equal(padded.begin(), padded.end(), normalized.begin())) return std::nullopt;
  }
  int64_t inner = shape_numel(normalized);
  if (inner == 0 || shape_numel(shape) == 0) return std::nullopt;
  return LayerNormShape{{shape_numel(shape) / inner, inner}, inner};
}

std::optional<dnnl::layer_normalization_forward::primitive_desc> build_layer_norm(const NodeSpec& node) {
  if (!all_float32(node) || !node.fused.empty()) return std::nullopt;
  std::optional<LayerNormShape> s = layer_norm_shape(node);
  if (!s) return std::nullopt;
  dnnl::primitive_attr attr = make_attr(nullptr);
  auto flags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
  return try_primitive_desc<dnnl::layer_normalization_forward::primitive_desc>([&] {
    dnnl::layer_normalization_forward::desc desc(dnnl::prop_kind::forward_inference, plain_desc(s->data, memory::data_type::f32),
                                                 static_cast<float>(attr_number(*node.attributes, "epsilon")), flags);
    return dnnl::layer_normalization_forward::primitive_desc(desc, attr, engine());
  });
}

class LayerNormKernel final : public PrimitiveKernel {
 public:
  explicit LayerNormKernel(const NodeSpec& node) {
    auto pd = *build_layer_norm(node);
    src_ = unbound_memory(pd.src_desc());
    dst_ = unbound_memory(pd.dst_desc());
    memory::desc vector = plain_desc({layer_norm_shape(node)->inner}, memory::data_type::f32);
    scale_ = unbound_memory(vector);
    shift_ = unbound_memory(vector);
    set_primitive(dnnl::layer_normalization_forward(pd), pd, nullptr);
  }

  void run(std::span<const Tensor* const> inputs, Tensor& out) override {
    src_.set_data_handle(handle(*inputs[0]));
    dst_.set_data_handle(out.mutable_data());
    scale_.set_data_handle(handle(*inputs[1]));
    shift_.set_data_handle(handle(*inputs[2]));
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, src_}, {DNNL_ARG_DST, dst_}, {DNNL_ARG_SCALE, scale_}, {DNNL_ARG_SHIFT, shift_}};
    execute(inputs, args);
  }

 private:
  memory src_, dst_, scale_, shift_;
};

// instance_norm as a batch normalization of [1, N * C, rest] that computes its own statistics:
// oneDNN's per-channel mean and variance of that view are the per-instance ones. Scale and bias
// ([C]) are repeated N times into buffers the kernel owns, on each run.
Dims instance_dims(const Shape& shape) {
  int64_t planes = shape[0] * shape[1];
  return {1, planes, planes == 0 ? 0 : shape_numel(shape) / planes};
}

std::optional<dnnl::batch_normalization_forward::primitive_desc> build_instance_norm(const NodeSpec& node) {
  const Shape& shape = node.inputs[0].shape;
  if (!all_float32(node) || !node.fused.empty() || shape.size() < 2 || shape_numel(shape) == 0) return std::nullopt;
  dnnl::primitive_attr attr = make_attr(nullptr);
  auto flags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
  return try_primitive_desc<dnnl::batch_normalization_forward::primitive_desc>([&] {
    dnnl::batch_normalization_forward::desc desc(dnnl::prop_kind::forward_inference,
                                                 plain_desc(instance_dims(shape), memory::data_type::f32),
                                                 static_cast<float>(attr_number(*node.attributes, "epsilon")), flags);
    return dnnl::batch_normalization_forward::primitive_desc(desc, attr, engine());
  });
}

class InstanceNormKernel final : public PrimitiveKernel {
 public:
  explicit InstanceNormKernel(const NodeSpec& node) : n_(node.inputs[0].shape[0]), c_(node.inputs[0].shape[1]) {
    auto pd = *build_instance_norm(node);
    src_ = unbound_memory(pd.src_desc());
    dst_ = unbound_memory(pd.dst_desc());
    memory::desc planes = plain_desc({n_ * c_}, memory::data_type::f32);
    scale_ = own(owned_memory(planes)).mem;
    shift_ = own(owned_memory(planes)).mem;
    mean_ = own(owned_memory(planes)).mem;
    variance_ = own(owned_memory(planes)).mem;
    set_primitive(dnnl::batch_normalization_forward(pd), pd, nullptr);
  }

  void run(std::span<const Tensor* const> inputs, Tensor& out) override {
    auto* scale = static_cast<float*>(scale_.get_data_handle());
    auto* shift = static_cast<float*>(shift_.get_data_handle());
    const float* given_scale = inputs[1]->data_as<float>();
    const float* given_shift = inputs[2]->data_as<float>();
    for (int64_t b = 0; b < n_; ++b)
      for (int64_t ch = 0; ch < c_; ++ch) {
        scale[b * c_ + ch] = given_scale[ch];
        shift[b * c_ + ch] = given_shift[ch];
      }
    src_.set_data_handle(handle(*inputs[0]));
    dst_.set_data_handle(out.mutable_data());
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src_},     {DNNL_ARG_DST, dst_},       {DNNL_ARG_SCALE, scale_},
                                         {DNNL_ARG_SHIFT, shift_}, {DNNL_ARG_MEAN, mean_}, {DNNL_ARG_VARIANCE, variance_}};
    execute(inputs, args);
  }

 private:
  int64_t n_, c_;
  memory src_, dst_, scale_, shift_, mean_, variance_;
};

}  // namespace

void add_normalization_ops(CpuOpTable& table) {
  table["instance_norm"] = CpuOp{[](const NodeSpec& node) { return build_instance_norm(node).has_value(); },
                                 [](const NodeSpec& node) -> std::unique_ptr<Kernel> { return std::make_unique<InstanceNormKernel>(node); },
                                 [](const NodeSpec& node) {
                                   // Statistics over each plane are summed in another order than reference.
                                   double n = static_cast<double>(instance_dims(node.inputs[0].shape)[2]);
                                   return Tolerance{1e-5 + 1e-6 * std::sqrt(n), 1e-5};
                                 },
                                 false};
  table["log_softmax"] = CpuOp{[](const NodeSpec& node) { return build_log_softmax(node).has_value(); },
                               [](const NodeSpec& node) -> std::unique_ptr<Kernel> {
                                 auto pd = *build_log_softmax(node);
                                 return std::make_unique<SrcDstKernel>(dnnl::softmax_v2_forward(pd), pd, nullptr);
                               },
                               [](const NodeSpec&) { return Tolerance{2e-6, 2e-5}; }, false};
  table["batch_norm"] = CpuOp{[](const NodeSpec& node) { return build_batch_norm(node).has_value(); },
                              [](const NodeSpec& node) -> std::unique_ptr<Kernel> { return std::make_unique<BatchNormKernel>(node); },
                              [](const NodeSpec&) { return Tolerance{1e-6, 1e-5}; }, false};
  // Means and variances over long rows are summed in another order than reference.
  table["layer_norm"] = CpuOp{[](const NodeSpec& node) { return build_layer_norm(node).has_value(); },
                              [](const NodeSpec& node) -> std::unique_ptr<Kernel> { return std::make_unique<LayerNormKernel>(node); },
                              [](const NodeSpec& node) {
                                double n = static_cast<double>(layer_norm_shape(node)->inner);
                                return Tolerance{1e-5 + 1e-6 * std::sqrt(n), 1e-5};
                              },
                              false};
}

}  // namespace mithril::cpu
