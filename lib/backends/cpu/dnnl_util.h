#pragma once
// Internal: what the cpu backend's operator families (lib/backends/cpu/<family>.cpp) share:
// the oneDNN engine, memory descriptors of our plain tensors, fused post-ops, and the kernel
// base class that binds tensors to primitive arguments on each run. Only lib/backends/cpu
// includes oneDNN.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "backends/backend.h"

namespace mithril::cpu {

using dnnl::memory;
using Dims = memory::dims;

/// The process's CPU engine.
const dnnl::engine& engine();

/// oneDNN's data type of a dtype, if it has one (float32, bfloat16, float16, int32, int8, uint8).
std::optional<memory::data_type> dnnl_type(DType dtype);

/// Dims of a shape; a 0-d tensor is {1}.
Dims dims_of(const Shape& shape);

/// A contiguous row-major descriptor.
memory::desc plain_desc(const Dims& dims, memory::data_type type);

/// A descriptor of `dims` in `layout`: plain, or channels-last (dims[1] varies fastest, then the
/// spatial dims in order: NHWC strides for [N, C, H, W]; a conv1d's [N, C, 1, W] as [N, W, C]).
memory::desc layout_desc(const Dims& dims, memory::data_type type, Layout layout);

/// `shape` padded on the left with 1s to `rank` dims.
Dims left_pad(const Shape& shape, std::size_t rank);

/// A memory object with no buffer: bind one per run with set_data_handle.
memory unbound_memory(const memory::desc& desc);

/// A buffer the kernel owns for its life (reordered weights, scratch, staging), pages touched so
/// the first run does not pay their faults, and its memory object.
struct OwnedMemory {
  Tensor buffer;
  memory mem;
};
OwnedMemory owned_memory(const memory::desc& desc);

/// The eltwise algorithm and alpha/beta of a unary operator oneDNN has: relu, leaky_relu,
/// sigmoid, tanh, gelu, softplus, exp, log, sqrt, abs, negate, elu, round, hard_swish, mish,
/// reciprocal.
struct Eltwise {
  dnnl::algorithm algorithm;
  float alpha = 0;
  float beta = 0;
};
std::optional<Eltwise> eltwise_of(const OpSchema& op, const Attributes& attributes);

/// The binary algorithm of add, subtract, multiply, divide. (maximum and minimum stay on
/// reference: oneDNN does not propagate NaN as numpy does.)
std::optional<dnnl::algorithm> binary_of(const OpSchema& op);

/// Maps a fused binary operand's shape onto the primitive's destination dims; nullopt when it
/// cannot be expressed (the node then is not fused).
using OperandMapper = std::function<std::optional<Dims>(const Shape& operand)>;

/// The fused chain of `node` as oneDNN post-ops, and for each binary post-op the NodeSpec input
/// it reads. Nullopt when an operator or operand cannot be a post-op. An operand is described in
/// its own layout (a channels-last one must have the destination's rank), except that one of the
/// destination's full dims is given to the primitive as `full` when that is set (a convolution's
/// own destination layout, which its fast implementations need): the kernel reorders it each run.
/// `one_d`: the mapper inserts a height of 1 into a 1-D value's dims (conv1d as 2-D). `sum`: the
/// first full-sized add (with `full` set) becomes oneDNN's sum post-op, which adds what the
/// destination holds: the kernel copies that operand there before the primitive runs (oneDNN's
/// brgemm convolutions take a sum, not a full-sized binary operand).
struct PostOps {
  dnnl::post_ops ops;
  std::vector<int> operands;            ///< NodeSpec::inputs index, one per binary post-op
  std::vector<int> positions;           ///< its index in the post-op chain
  std::vector<memory::desc> user_descs;     ///< the operand as the tensor holds it
  std::vector<memory::desc> operand_descs;  ///< as the primitive reads it
  int sum_operand = -1;                     ///< NodeSpec::inputs index of the sum post-op's operand, or -1
  memory::desc sum_user_desc;               ///< that operand as the tensor holds it
};
std::optional<PostOps> post_ops_of(const NodeSpec& node, const OperandMapper& map_operand, const memory::desc* full = nullptr,
                                   bool one_d = false, bool sum = false);

/// The usual mapper: the operand broadcast against the output, with the same rank as `dst`
/// (each dim 1 or equal to the output's).
OperandMapper same_rank_mapper(const Dims& dst);

/// Attributes with a user-managed scratchpad (the kernel owns it) and `post_ops` if given.
dnnl::primitive_attr make_attr(const PostOps* post_ops);

/// Sets oneDNN's OpenMP threads to compute_threads() when that setting changed: every kernel calls
/// it before running.
void apply_compute_threads();

/// Every input and the output are float32.
bool all_float32(const NodeSpec& node);

/// Builds a primitive descriptor with `make`, or nullopt when oneDNN has no implementation for
/// it (dnnl::error): the node then runs on reference.
template <class PrimitiveDesc, class Make>
std::optional<PrimitiveDesc> try_primitive_desc(Make&& make) {
  try {
    return make();
  } catch (const dnnl::error&) {
    return std::nullopt;
  }
}

/// A kernel running one primitive. Subclasses bind their arguments in `bind`, called at the start
/// of every run; post-op operands are bound here.
class PrimitiveKernel : public Kernel {
 public:
  PrimitiveKernel();
  uint64_t held_bytes() const override;

 protected:
  /// Sets the primitive with its post-op operands, the user scratchpad of `pd`.
  void set_primitive(const dnnl::primitive& primitive, const dnnl::primitive_desc_base& pd, const PostOps* post_ops);
  /// Binds the post-op operands from `inputs` and runs the primitive with `args`.
  void execute(std::span<const Tensor* const> inputs, std::unordered_map<int, memory>& args);
  /// Keeps `buffer` alive with the kernel (and counted in held_bytes).
  const OwnedMemory& own(OwnedMemory buffer);
  /// A reorder between a tensor of ours (plain layout, bound per run) and a buffer the kernel owns
  /// in the layout or precision a primitive wants: inputs are staged before the primitive runs,
  /// outputs after.
  struct Stage {
    memory user;
    memory staged;
    dnnl::reorder reorder;
  };
  Stage input_stage(const memory::desc& user, const memory::desc& staged);
  Stage output_stage(const memory::desc& staged, const memory::desc& user);
  /// Binds `t` and reorders it into the staged buffer, which it returns.
  memory& stage_in(Stage& stage, const Tensor& t);
  /// Binds `out` and reorders the staged buffer into it.
  void stage_out(Stage& stage, Tensor& out);
  /// A primitive argument taken from one of our tensors: bound directly, staged through a
  /// reorder each run, or fixed at prepare time (weights).
  struct Operand {
    memory direct;
    std::optional<Stage> stage;
    bool fixed = false;
  };
  /// How to pass a tensor of our `user` layout where the primitive wants `wanted`: fixed once when
  /// its value is `known` at prepare time, else bound directly when the layouts agree, else staged.
  Operand operand(const memory::desc& user, const memory::desc& wanted, const Tensor* known = nullptr);
  /// The memory to pass for `operand` on this run, holding `t`'s values.
  memory bind(Operand& operand, const Tensor& t);
  /// A value known at prepare time (weights) in the `wanted` layout: its own buffer when the layout
  /// is already right (the tensor is kept alive with the kernel), else reordered once into an owned one.
  memory fixed_operand(const Tensor& value, const memory::desc& user, const memory::desc& wanted);

  dnnl::stream stream_;

 private:
  dnnl::primitive primitive_;
  std::vector<int> operands_;
  std::vector<int> positions_;
  std::vector<Operand> operand_memories_;
  std::optional<OwnedMemory> scratchpad_;
  std::vector<OwnedMemory> owned_;
  std::vector<Tensor> kept_;
};

/// A kernel of one primitive reading inputs[0] (DNNL_ARG_SRC) and writing the output
/// (DNNL_ARG_DST), both in our plain layout: eltwise, softmax, reduction, pooling.
class SrcDstKernel final : public PrimitiveKernel {
 public:
  SrcDstKernel(const dnnl::primitive& primitive, const dnnl::primitive_desc_base& pd, const PostOps* post_ops);
  void run(std::span<const Tensor* const> inputs, Tensor& out) override;

 private:
  memory src_, dst_;
};

/// The bytes of a tensor as a non-const pointer for set_data_handle (inputs are only read).
void* handle(const Tensor& t);

/// Tolerance of an elementwise operator compared with reference (exact for relu, a few ulps for
/// the transcendental ones); zero for unknown ones.
Tolerance elementwise_tolerance(const OpSchema& op);
/// `base` widened by the tolerance of every fused operator.
Tolerance with_fused(Tolerance base, const NodeSpec& node);

/// A max_pool/avg_pool node's window in oneDNN's terms (1-D as 2-D with height 1; dilation 0 =
/// dense), the right padding widened for ceil_mode. Nullopt when oneDNN cannot give our result:
/// a max pool with zero padding (Python Mithril's; oneDNN ignores padding), an average including
/// padding whose ceil_mode windows reach past it. `in` and `out` are the node's shapes.
struct PoolWindow {
  Dims stride, kernel, dilation, padding_l, padding_r;
  dnnl::algorithm algorithm;
};
std::optional<PoolWindow> pool_window_of(const OpSchema& op, const Attributes& attrs, const Shape& in, const Shape& out);

/// One operator family's entry points into the cpu backend.
struct CpuOp {
  std::function<bool(const NodeSpec&)> supports;
  std::function<std::unique_ptr<Kernel>(const NodeSpec&)> prepare;
  std::function<Tolerance(const NodeSpec&)> tolerance;
  bool in_place = false;  ///< output may be written over inputs[0] (same type)
  bool layouts = false;   ///< takes channels-last inputs and outputs (else only plain ones)
};
using CpuOpTable = std::unordered_map<std::string, CpuOp>;

void add_matmul_ops(CpuOpTable& table);       // matmul.cpp
void add_conv_ops(CpuOpTable& table);         // conv.cpp: conv1d, conv2d (+ a fused max pool)
void add_pool_ops(CpuOpTable& table);         // pooling.cpp: max_pool1d/2d/3d, avg_pool1d/2d/3d
void add_conv_transpose_ops(CpuOpTable& table);  // conv_transpose.cpp: conv_transpose1d/2d/3d
void add_normalization_ops(CpuOpTable& table);   // normalization.cpp: log_softmax, batch_norm, instance_norm, layer_norm
void add_elementwise_ops(CpuOpTable& table);  // elementwise.cpp: unary eltwise, add/subtract/multiply/divide, prelu
void add_softmax_ops(CpuOpTable& table);      // normalization.cpp: softmax
void add_reduction_ops(CpuOpTable& table);    // reduction.cpp: sum, mean, prod
void add_layout_ops(CpuOpTable& table);       // layout.cpp: transpose, concat
// --- ONNX shape/indexing ops (issue 14)
void add_resize_ops(CpuOpTable& table);       // resize.cpp: resize (nearest, linear) on resampling

}  // namespace mithril::cpu
