#include "backends/cpu/dnnl_util.h"

#include <atomic>
#include <cmath>

#include <omp.h>

#include "core/error.h"

namespace mithril::cpu {

const dnnl::engine& engine() {
  static const dnnl::engine cpu(dnnl::engine::kind::cpu, 0);
  return cpu;
}

std::optional<memory::data_type> dnnl_type(DType dtype) {
  switch (dtype) {
    case DType::float32: return memory::data_type::f32;
    case DType::bfloat16: return memory::data_type::bf16;
    case DType::float16: return memory::data_type::f16;
    case DType::int32: return memory::data_type::s32;
    case DType::int8: return memory::data_type::s8;
    case DType::uint8: return memory::data_type::u8;
    default: return std::nullopt;
  }
}

Dims dims_of(const Shape& shape) {
  if (shape.empty()) return {1};
  return Dims(shape.begin(), shape.end());
}

memory::desc plain_desc(const Dims& dims, memory::data_type type) {
  Dims strides(dims.size(), 1);
  for (std::size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * dims[i];
  return memory::desc(dims, type, strides);
}

memory::desc layout_desc(const Dims& dims, memory::data_type type, Layout layout) {
  if (layout == Layout::plain || dims.size() < 3) return plain_desc(dims, type);
  // Strides in the order N, spatial..., C: C varies fastest.
  Dims strides(dims.size(), 1);
  int64_t stride = dims[1];
  for (std::size_t i = dims.size(); i-- > 2;) {
    strides[i] = stride;
    stride *= dims[i];
  }
  strides[0] = stride;
  return memory::desc(dims, type, strides);
}

Dims left_pad(const Shape& shape, std::size_t rank) {
  Dims dims(rank > shape.size() ? rank - shape.size() : 0, 1);
  dims.insert(dims.end(), shape.begin(), shape.end());
  return dims;
}

memory unbound_memory(const memory::desc& desc) { return memory(desc, engine(), DNNL_MEMORY_NONE); }

OwnedMemory owned_memory(const memory::desc& desc) {
  OwnedMemory owned;
  std::size_t bytes = desc.get_size();
  owned.buffer = Tensor::uninitialized(DType::uint8, Shape{static_cast<int64_t>(bytes)});
  owned.mem = memory(desc, engine(), bytes ? owned.buffer.mutable_data() : DNNL_MEMORY_NONE);
  return owned;
}

std::optional<Eltwise> eltwise_of(const OpSchema& op, const Attributes& attributes) {
  if (!op.domain.empty()) return std::nullopt;
  using dnnl::algorithm;
  const std::string& n = op.name;
  if (n == "relu") return Eltwise{algorithm::eltwise_relu};
  if (n == "leaky_relu") return Eltwise{algorithm::eltwise_relu, static_cast<float>(attr_number(attributes, "slope"))};
  if (n == "sigmoid") return Eltwise{algorithm::eltwise_logistic};
  if (n == "tanh") return Eltwise{algorithm::eltwise_tanh};
  if (n == "gelu") return Eltwise{attr_bool(attributes, "approximate") ? algorithm::eltwise_gelu_tanh : algorithm::eltwise_gelu_erf};
  if (n == "softplus") return Eltwise{algorithm::eltwise_soft_relu};
  if (n == "exp") return Eltwise{algorithm::eltwise_exp};
  if (n == "log") return Eltwise{algorithm::eltwise_log};
  if (n == "sqrt") return Eltwise{algorithm::eltwise_sqrt};
  if (n == "abs") return Eltwise{algorithm::eltwise_abs};
  if (n == "negate") return Eltwise{algorithm::eltwise_linear, -1.0f, 0.0f};
  // --- ONNX nn/math ops (issue 14)
  if (n == "elu") return Eltwise{algorithm::eltwise_elu, static_cast<float>(attr_number(attributes, "alpha"))};
  if (n == "round") return Eltwise{algorithm::eltwise_round};
  if (n == "hard_swish") return Eltwise{algorithm::eltwise_hardswish};
  if (n == "mish") return Eltwise{algorithm::eltwise_mish};
  if (n == "reciprocal") return Eltwise{algorithm::eltwise_pow, 1.0f, -1.0f};
  // clip stays on reference: oneDNN's clip turns NaN into the lower bound.
  return std::nullopt;
}

std::optional<dnnl::algorithm> binary_of(const OpSchema& op) {
  if (!op.domain.empty()) return std::nullopt;
  if (op.name == "add") return dnnl::algorithm::binary_add;
  if (op.name == "subtract") return dnnl::algorithm::binary_sub;
  if (op.name == "multiply") return dnnl::algorithm::binary_mul;
  if (op.name == "divide") return dnnl::algorithm::binary_div;
  return std::nullopt;
}

std::optional<PostOps> post_ops_of(const NodeSpec& node, const OperandMapper& map_operand, const memory::desc* full, bool one_d,
                                   bool sum) {
  PostOps post;
  int position = 0;
  for (const FusedOp& f : node.fused) {
    if (f.operand < 0) {
      auto e = eltwise_of(*f.op, *f.attributes);
      if (!e) return std::nullopt;
      post.ops.append_eltwise(1.0f, e->algorithm, e->alpha, e->beta);
    } else {
      auto b = binary_of(*f.op);
      const TensorType& operand = node.inputs.at(static_cast<std::size_t>(f.operand));
      if (!b || operand.dtype != DType::float32) return std::nullopt;
      std::optional<Dims> dims = map_operand(operand.shape);
      if (!dims) return std::nullopt;
      Layout layout = node.input_layout(static_cast<std::size_t>(f.operand));
      // A channels-last operand left-padded with 1s would have its channels elsewhere.
      if (layout != Layout::plain && operand.shape.size() + (one_d ? 1 : 0) != dims->size()) return std::nullopt;
      memory::desc user = layout_desc(*dims, memory::data_type::f32, layout);
      bool full_sized = full && full->dims() == *dims;
      if (sum && full_sized && *b == dnnl::algorithm::binary_add && post.sum_operand < 0) {
        post.ops.append_sum(1.0f);
        post.sum_operand = f.operand;
        post.sum_user_desc = user;
        ++position;
        continue;
      }
      memory::desc desc = full_sized ? *full : user;
      post.ops.append_binary(*b, desc);
      post.operands.push_back(f.operand);
      post.positions.push_back(position);
      post.user_descs.push_back(user);
      post.operand_descs.push_back(desc);
    }
    ++position;
  }
  return post;
}

OperandMapper same_rank_mapper(const Dims& dst) {
  return [dst](const Shape& operand) -> std::optional<Dims> {
    if (operand.size() > dst.size()) return std::nullopt;
    Dims dims = left_pad(operand, dst.size());
    for (std::size_t i = 0; i < dims.size(); ++i)
      if (dims[i] != 1 && dims[i] != dst[i]) return std::nullopt;
    return dims;
  };
}

bool all_float32(const NodeSpec& node) {
  if (node.output.dtype != DType::float32) return false;
  for (const TensorType& t : node.inputs)
    if (t.dtype != DType::float32) return false;
  return true;
}

void apply_compute_threads() {
  static std::atomic<int> applied{0};
  int wanted = compute_threads();
  if (applied.exchange(wanted) != wanted) omp_set_num_threads(wanted);
}

dnnl::primitive_attr make_attr(const PostOps* post_ops) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (post_ops) attr.set_post_ops(post_ops->ops);
  return attr;
}

PrimitiveKernel::PrimitiveKernel() : stream_(engine()) {}

uint64_t PrimitiveKernel::held_bytes() const {
  uint64_t bytes = scratchpad_ ? scratchpad_->buffer.nbytes() : 0;
  for (const OwnedMemory& m : owned_) bytes += m.buffer.nbytes();
  return bytes;
}

void PrimitiveKernel::set_primitive(const dnnl::primitive& primitive, const dnnl::primitive_desc_base& pd, const PostOps* post_ops) {
  primitive_ = primitive;
  memory::desc scratch = pd.scratchpad_desc();
  if (scratch.get_size() > 0) scratchpad_ = owned_memory(scratch);
  if (post_ops) {
    operands_ = post_ops->operands;
    positions_ = post_ops->positions;
    for (std::size_t i = 0; i < post_ops->operand_descs.size(); ++i)
      operand_memories_.push_back(operand(post_ops->user_descs[i], post_ops->operand_descs[i]));
  }
}

void PrimitiveKernel::execute(std::span<const Tensor* const> inputs, std::unordered_map<int, memory>& args) {
  for (std::size_t i = 0; i < operands_.size(); ++i) {
    args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(positions_[i]) | DNNL_ARG_SRC_1] =
        bind(operand_memories_[i], *inputs[static_cast<std::size_t>(operands_[i])]);
  }
  if (scratchpad_) args[DNNL_ARG_SCRATCHPAD] = scratchpad_->mem;
  apply_compute_threads();
  primitive_.execute(stream_, args);
  stream_.wait();
}

const OwnedMemory& PrimitiveKernel::own(OwnedMemory buffer) {
  owned_.push_back(std::move(buffer));
  return owned_.back();
}

PrimitiveKernel::Stage PrimitiveKernel::input_stage(const memory::desc& user, const memory::desc& staged) {
  memory user_memory = unbound_memory(user);
  memory staged_memory = own(owned_memory(staged)).mem;
  return Stage{user_memory, staged_memory, dnnl::reorder(user_memory, staged_memory)};
}

PrimitiveKernel::Stage PrimitiveKernel::output_stage(const memory::desc& staged, const memory::desc& user) {
  memory user_memory = unbound_memory(user);
  memory staged_memory = own(owned_memory(staged)).mem;
  return Stage{user_memory, staged_memory, dnnl::reorder(staged_memory, user_memory)};
}

memory& PrimitiveKernel::stage_in(Stage& stage, const Tensor& t) {
  apply_compute_threads();
  stage.user.set_data_handle(handle(t));
  stage.reorder.execute(stream_, stage.user, stage.staged);
  stream_.wait();
  return stage.staged;
}

void PrimitiveKernel::stage_out(Stage& stage, Tensor& out) {
  stage.user.set_data_handle(out.mutable_data());
  stage.reorder.execute(stream_, stage.staged, stage.user);
  stream_.wait();
}

PrimitiveKernel::Operand PrimitiveKernel::operand(const memory::desc& user, const memory::desc& wanted, const Tensor* known) {
  Operand o;
  if (known) {
    o.direct = fixed_operand(*known, user, wanted);
    o.fixed = true;
  } else if (user == wanted) {
    o.direct = unbound_memory(user);
  } else {
    o.stage = input_stage(user, wanted);
  }
  return o;
}

memory PrimitiveKernel::bind(Operand& operand, const Tensor& t) {
  if (operand.stage) return stage_in(*operand.stage, t);
  if (!operand.fixed) operand.direct.set_data_handle(handle(t));
  return operand.direct;
}

memory PrimitiveKernel::fixed_operand(const Tensor& value, const memory::desc& user, const memory::desc& wanted) {
  if (user == wanted) {
    kept_.push_back(value);
    return memory(user, engine(), handle(value));
  }
  memory from(user, engine(), handle(value));
  memory to = own(owned_memory(wanted)).mem;
  dnnl::reorder(from, to).execute(stream_, from, to);
  stream_.wait();
  return to;
}

SrcDstKernel::SrcDstKernel(const dnnl::primitive& primitive, const dnnl::primitive_desc_base& pd, const PostOps* post_ops)
    : src_(unbound_memory(pd.src_desc())), dst_(unbound_memory(pd.dst_desc())) {
  set_primitive(primitive, pd, post_ops);
}

void SrcDstKernel::run(std::span<const Tensor* const> inputs, Tensor& out) {
  src_.set_data_handle(handle(*inputs[0]));
  dst_.set_data_handle(out.mutable_data());
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src_}, {DNNL_ARG_DST, dst_}};
  execute(inputs, args);
}

void* handle(const Tensor& t) { return const_cast<void*>(t.data()); }

Tolerance elementwise_tolerance(const OpSchema& op) {
  const std::string& n = op.name;
  if (n == "relu" || n == "abs" || n == "negate" || n == "add" || n == "subtract" || n == "multiply") return {};
  if (n == "round") return {};
  if (n == "leaky_relu" || n == "divide" || n == "reciprocal") return {0, 1e-6};
  if (n == "hard_swish") return {1e-6, 1e-6};  // x * (x / 6 + 1/2) cancels near x = -3
  // Transcendental functions: oneDNN's vectorized approximations are within a few ulps of the
  // result, or of 1 where the result is near 0 (log near 1 is off by up to ~1.5e-6).
  return {4e-6, 2e-5};
}

Tolerance with_fused(Tolerance base, const NodeSpec& node) {
  for (const FusedOp& f : node.fused) {
    Tolerance t = elementwise_tolerance(*f.op);
    base.atol += t.atol;
    base.rtol += t.rtol;
  }
  return base;
}

}  // namespace mithril::cpu
