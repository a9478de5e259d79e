// conv1d/conv2d/conv3d on oneDNN, with a trailing max_pool1d/max_pool2d fused (pooling.cpp runs pools alone). Convolutions let oneDNN pick the layouts
// (channels-last or blocked nChw16c are much faster than plain NCHW): the input is reordered in and
// the output out around the primitive unless the executor passes them in that layout already
// (Layout::channels_last, what oneDNN picks for float32 on AVX-512), weights known at plan time
// once. 1-D is 2-D with height 1.
#include <cmath>

#include "backends/cpu/dnnl_util.h"

namespace mithril::cpu {
namespace {

using dt = memory::data_type;

// Spatial attributes in oneDNN's conventions (dilation 0 = dense): 1-D as 2-D, 2-D and 3-D as they are.
struct Window {
  Dims stride, dilation, padding_l, padding_r;
};

Window window_of(const Attributes& attrs, bool one_d) {
  std::vector<int64_t> stride = attr_ints(attrs, "stride"), padding = attr_ints(attrs, "padding"),
                       dilation = attr_ints(attrs, "dilation");
  if (one_d) {
    stride.insert(stride.begin(), 1);
    padding.insert(padding.begin(), {0, 0});
    dilation.insert(dilation.begin(), 1);
  }
  Window w;
  w.stride = Dims(stride.begin(), stride.end());
  for (int64_t d : dilation) w.dilation.push_back(d - 1);
  for (std::size_t i = 0; i < stride.size(); ++i) {
    w.padding_l.push_back(padding[2 * i]);
    w.padding_r.push_back(padding[2 * i + 1]);
  }
  return w;
}

// [N, C, W] -> [N, C, 1, W].
Dims as_2d(const Shape& shape, bool one_d) {
  Dims d(shape.begin(), shape.end());
  if (one_d) d.insert(d.begin() + 2, 1);
  return d;
}

bool has_zero(const Dims& d) {
  for (int64_t v : d)
    if (v <= 0) return true;
  return false;
}

struct ConvBuilt {
  Dims src, weights, dst;  // dst: the convolution's, before any fused pooling
  PostOps post_ops;
  dnnl::convolution_forward::primitive_desc pd;
  // A trailing max-pool fused into the kernel: it runs on the convolution's own (blocked or
  // channels-last) output, so only the 4x smaller pooled result is reordered to our layout.
  std::optional<dnnl::pooling_v2_forward::primitive_desc> pool;
  Dims pooled;
};

bool is_max_pool(const OpSchema& op) { return op.domain.empty() && (op.name == "max_pool1d" || op.name == "max_pool2d"); }

std::optional<dnnl::pooling_v2_forward::primitive_desc> build_pool_on(const memory::desc& src, const Dims& dst, const Attributes& attrs,
                                                                      const OpSchema& op, const Shape& in, const Shape& out);

std::optional<ConvBuilt> build_conv(const NodeSpec& full) {
  if (!all_float32(full)) return std::nullopt;
  bool one_d = full.op->name == "conv1d";
  // The convolution and its elementwise chain; a max-pool may end the chain.
  NodeSpec node = full;
  const FusedOp* pool = nullptr;
  if (!node.fused.empty() && is_max_pool(*node.fused.back().op)) {
    pool = &full.fused.back();
    if (full.op->name == "conv3d" || (pool->op->name == "max_pool1d") != one_d) return std::nullopt;
    node.fused.pop_back();
    std::vector<ValueInfo> infos;
    for (std::size_t i = 0; i < 2; ++i) infos.push_back({node.inputs[i].dtype, to_sym_shape(node.inputs[i].shape)});
    ValueInfo conv_out = node.op->infer(infos, *node.attributes);
    node.output = {conv_out.dtype, to_shape(conv_out.shape)};
  }
  ConvBuilt b{as_2d(node.inputs[0].shape, one_d), as_2d(node.inputs[1].shape, one_d), as_2d(node.output.shape, one_d), {}, {}, {}, {}};
  if (has_zero(b.src) || has_zero(b.weights) || has_zero(b.dst)) return std::nullopt;
  int64_t groups = attr_int(*node.attributes, "groups");
  Dims weights = b.weights;
  if (groups > 1) {
    weights[0] /= groups;
    weights.insert(weights.begin(), groups);
  }
  // The weights are a plain [O, I/G, k...] tensor (channels-last is for activations).
  if (full.input_layout(1) != Layout::plain) return std::nullopt;
  OperandMapper four_d = same_rank_mapper(b.dst);
  OperandMapper map_operand = [&](const Shape& operand) -> std::optional<Dims> {
    if (!one_d) return four_d(operand);
    if (operand.size() > 3) return std::nullopt;
    Dims p = left_pad(operand, 3);
    return four_d(Shape{p[0], p[1], 1, p[2]});
  };
  std::optional<PostOps> post = post_ops_of(node, map_operand, nullptr, one_d);
  if (!post) return std::nullopt;
  Window w = window_of(*node.attributes, one_d);
  dt compute = node.bfloat16_compute ? dt::bf16 : dt::f32;
  auto any = memory::format_tag::any;
  auto make = [&](const memory::desc& src, const memory::desc& dst, const PostOps* post_ops) {
    dnnl::primitive_attr attr = make_attr(post_ops);
    return try_primitive_desc<dnnl::convolution_forward::primitive_desc>([&] {
      dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src,
                                           memory::desc(weights, compute, any), dst, w.stride, w.dilation, w.padding_l, w.padding_r);
      return dnnl::convolution_forward::primitive_desc(desc, attr, engine());
    });
  };
  // The layouts oneDNN prefers for the bare convolution (channels-last or blocked, not plain). A
  // residual operand in any other layout than the destination's sends oneDNN to a slow
  // implementation, so a full-sized one is given in that layout (the kernel reorders it if it
  // comes otherwise); the fused chain then keeps the preferred layouts.
  auto bare = make(memory::desc(b.src, compute, any), memory::desc(b.dst, dt::f32, any), nullptr);
  std::optional<dnnl::convolution_forward::primitive_desc> pd;
  // A residual add as a sum post-op first (brgconv takes it; a full-sized binary operand sends
  // oneDNN to its slower jit convolution), else as a binary one.
  if (bare) {
    memory::desc preferred_dst = bare->dst_desc();
    for (bool sum : {true, false}) {
      std::optional<PostOps> staged = post_ops_of(node, map_operand, &preferred_dst, one_d, sum);
      if (staged) pd = make(bare->src_desc(), preferred_dst, &*staged);
      if (pd) {
        post = std::move(staged);
        break;
      }
    }
  }
  if (!pd) pd = make(memory::desc(b.src, compute, any), memory::desc(b.dst, dt::f32, any), &*post);
  b.post_ops = std::move(*post);
  if (!pd) return std::nullopt;
  b.weights = weights;
  b.pd = std::move(*pd);
  if (pool) {
    b.pooled = as_2d(full.output.shape, one_d);
    b.pool = build_pool_on(b.pd.dst_desc(), b.pooled, *pool->attributes, *pool->op, node.output.shape, full.output.shape);
    if (!b.pool) return std::nullopt;
  }
  return b;
}

class ConvKernel final : public PrimitiveKernel {
 public:
  explicit ConvKernel(const NodeSpec& node) {
    ConvBuilt b = *build_conv(node);
    memory::desc user_src = layout_desc(b.src, dt::f32, node.input_layout(0)), user_dst = layout_desc(b.dst, dt::f32, node.output_layout);
    // Grouped weights [G, O/G, I/G, kh, kw] have the same bytes as ours [O, I/G, kh, kw].
    memory::desc user_weights = plain_desc(b.weights, dt::f32);
    src_ = operand(user_src, b.pd.src_desc());
    weights_ = operand(user_weights, b.pd.weights_desc(), node.input_values[1]);
    if (b.pool) {
      // conv -> owned buffer (the primitive's layout) -> pool -> our layout.
      conv_out_ = own(owned_memory(b.pd.dst_desc())).mem;
      memory::desc user_pooled = layout_desc(b.pooled, dt::f32, node.output_layout);
      pool_ = dnnl::pooling_v2_forward(*b.pool);
      if (b.pool->dst_desc() == user_pooled) dst_ = unbound_memory(user_pooled);
      else dst_stage_ = output_stage(b.pool->dst_desc(), user_pooled);
      memory::desc pool_scratch = b.pool->scratchpad_desc();
      if (pool_scratch.get_size() > 0) pool_scratchpad_ = own(owned_memory(pool_scratch)).mem;
    } else if (b.pd.dst_desc() == user_dst) {
      dst_ = unbound_memory(user_dst);
    } else {
      dst_stage_ = output_stage(b.pd.dst_desc(), user_dst);
    }
    if (b.post_ops.sum_operand >= 0) {
      sum_operand_ = static_cast<std::size_t>(b.post_ops.sum_operand);
      sum_src_ = unbound_memory(b.post_ops.sum_user_desc);
      sum_copy_ = dnnl::reorder(sum_src_, unbound_memory(b.pd.dst_desc()));
    }
    set_primitive(dnnl::convolution_forward(b.pd), b.pd, &b.post_ops);
  }

  void run(std::span<const Tensor* const> inputs, Tensor& out) override {
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, bind(src_, *inputs[0])}, {DNNL_ARG_WEIGHTS, bind(weights_, *inputs[1])}};
    memory pooled;
    if (dst_stage_) {
      pooled = dst_stage_->staged;
    } else {
      dst_.set_data_handle(out.mutable_data());
      pooled = dst_;
    }
    args[DNNL_ARG_DST] = pool_ ? conv_out_ : pooled;
    if (sum_copy_) {
      // The sum post-op adds what the destination holds: the residual, in the primitive's layout.
      apply_compute_threads();
      sum_src_.set_data_handle(handle(*inputs[sum_operand_]));
      sum_copy_->execute(stream_, sum_src_, args[DNNL_ARG_DST]);
    }
    execute(inputs, args);
    if (pool_) {
      std::unordered_map<int, memory> pool_args{{DNNL_ARG_SRC, conv_out_}, {DNNL_ARG_DST, pooled}};
      if (pool_scratchpad_) pool_args[DNNL_ARG_SCRATCHPAD] = *pool_scratchpad_;
      pool_->execute(stream_, pool_args);
      stream_.wait();
    }
    if (dst_stage_) stage_out(*dst_stage_, out);
  }

 private:
  Operand src_, weights_;
  memory dst_, conv_out_;
  std::optional<Stage> dst_stage_;
  std::optional<dnnl::pooling_v2_forward> pool_;
  std::optional<memory> pool_scratchpad_;
  std::size_t sum_operand_ = 0;
  memory sum_src_;
  std::optional<dnnl::reorder> sum_copy_;
};

std::optional<dnnl::pooling_v2_forward::primitive_desc> build_pool_on(const memory::desc& src, const Dims& dst, const Attributes& attrs,
                                                                      const OpSchema& op, const Shape& in, const Shape& out) {
  std::optional<PoolWindow> w = pool_window_of(op, attrs, in, out);
  if (!w) return std::nullopt;
  dnnl::primitive_attr attr = make_attr(nullptr);
  return try_primitive_desc<dnnl::pooling_v2_forward::primitive_desc>([&] {
    dnnl::pooling_v2_forward::desc desc(dnnl::prop_kind::forward_inference, w->algorithm, src,
                                        memory::desc(dst, dt::f32, memory::format_tag::any), w->stride, w->kernel, w->dilation,
                                        w->padding_l, w->padding_r);
    return dnnl::pooling_v2_forward::primitive_desc(desc, attr, engine());
  });
}

}  // namespace

void add_conv_ops(CpuOpTable& table) {
  CpuOp conv{[](const NodeSpec& node) { return build_conv(node).has_value(); },
             [](const NodeSpec& node) -> std::unique_ptr<Kernel> { return std::make_unique<ConvKernel>(node); },
             [](const NodeSpec& node) {
               const Shape& w = node.inputs[1].shape;
               double k = 1;
               for (std::size_t i = 1; i < w.size(); ++i) k *= static_cast<double>(w[i]);
               Tolerance t = node.bfloat16_compute ? Tolerance{2e-2 * std::sqrt(k), 2e-2} : Tolerance{2e-6 * k, 1e-5};
               return with_fused(t, node);
             },
             false, true};
  table["conv1d"] = conv;
  table["conv2d"] = conv;
  table["conv3d"] = conv;
}

}  // namespace mithril::cpu
