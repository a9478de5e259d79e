// Data movement on oneDNN: transpose as a reorder from a strided view, concat as the concat
// primitive. Both move bytes without converting them: a value of 4k bytes is k int32 units, any
// other size that many uint8 units, so every dtype is bit-exact (NaN payloads, int64, complex).
#include "backends/cpu/dnnl_util.h"
#include "ops/shape_inference.h"

namespace mithril::cpu {
namespace {

using dt = memory::data_type;

struct Units {
  dt type;
  int64_t count;
};

Units units_of(DType dtype) {
  std::size_t size = dtype_size(dtype);
  if (size % 4 == 0) return {dt::s32, static_cast<int64_t>(size / 4)};
  return {dt::u8, static_cast<int64_t>(size)};
}

// A shape's dims with the unit axis appended.
Dims unit_dims(const Shape& shape, const Units& u) {
  Dims d(shape.begin(), shape.end());
  d.push_back(u.count);
  return d;
}

std::vector<int64_t> permutation_of(const NodeSpec& node) {
  int64_t rank = static_cast<int64_t>(node.inputs[0].shape.size());
  if (attr_is_null(*node.attributes, "axes")) {
    std::vector<int64_t> reversed;
    for (int64_t a = rank; a-- > 0;) reversed.push_back(a);
    return reversed;
  }
  return normalize_axes(attr_ints(*node.attributes, "axes"), rank);
}

std::optional<std::pair<memory::desc, memory::desc>> transpose_descs(const NodeSpec& node) {
  const Shape& in = node.inputs[0].shape;
  if (!node.fused.empty() || in.empty() || shape_numel(in) == 0 || in.size() + 1 > DNNL_MAX_NDIMS) return std::nullopt;
  Units u = units_of(node.inputs[0].dtype);
  Dims in_dims = unit_dims(in, u);
  // Strides of the input (in units), read in the output's axis order.
  Dims strides(in_dims.size(), 1);
  for (std::size_t i = in_dims.size(); i-- > 1;) strides[i - 1] = strides[i] * in_dims[i];
  std::vector<int64_t> perm = permutation_of(node);
  Dims out_dims, view_strides;
  for (int64_t a : perm) {
    out_dims.push_back(in_dims[static_cast<std::size_t>(a)]);
    view_strides.push_back(strides[static_cast<std::size_t>(a)]);
  }
  out_dims.push_back(u.count);
  view_strides.push_back(1);
  return std::make_pair(memory::desc(out_dims, u.type, view_strides), plain_desc(out_dims, u.type));
}

class TransposeKernel final : public PrimitiveKernel {
 public:
  explicit TransposeKernel(const NodeSpec& node) {
    auto [view, plain] = *transpose_descs(node);
    src_ = unbound_memory(view);
    dst_ = unbound_memory(plain);
    reorder_ = dnnl::reorder(src_, dst_);
  }

  void run(std::span<const Tensor* const> inputs, Tensor& out) override {
    src_.set_data_handle(handle(*inputs[0]));
    dst_.set_data_handle(out.mutable_data());
    apply_compute_threads();
    reorder_.execute(stream_, src_, dst_);
    stream_.wait();
  }

 private:
  memory src_, dst_;
  dnnl::reorder reorder_;
};

std::optional<dnnl::concat::primitive_desc> build_concat(const NodeSpec& node) {
  if (!node.fused.empty() || node.output.shape.empty() || node.output.shape.size() + 1 > DNNL_MAX_NDIMS) return std::nullopt;
  if (attr_is_null(*node.attributes, "axis")) return std::nullopt;  // flattening concat: reference runs it
  Units u = units_of(node.output.dtype);
  std::vector<memory::desc> sources;
  for (const TensorType& t : node.inputs) {
    if (t.dtype != node.output.dtype || shape_numel(t.shape) == 0) return std::nullopt;
    sources.push_back(plain_desc(unit_dims(t.shape, u), u.type));
  }
  int axis = static_cast<int>(normalize_axis(attr_int(*node.attributes, "axis"), static_cast<int64_t>(node.output.shape.size())));
  dnnl::primitive_attr attr = make_attr(nullptr);
  return try_primitive_desc<dnnl::concat::primitive_desc>([&] {
    return dnnl::concat::primitive_desc(plain_desc(unit_dims(node.output.shape, u), u.type), axis, sources, engine(), attr);
  });
}

class ConcatKernel final : public PrimitiveKernel {
 public:
  explicit ConcatKernel(const NodeSpec& node) {
    auto pd = *build_concat(node);
    for (std::size_t i = 0; i < node.inputs.size(); ++i) sources_.push_back(unbound_memory(pd.src_desc(static_cast<int>(i))));
    dst_ = unbound_memory(pd.dst_desc());
    set_primitive(dnnl::concat(pd), pd, nullptr);
  }

  void run(std::span<const Tensor* const> inputs, Tensor& out) override {
    std::unordered_map<int, memory> args;
    for (std::size_t i = 0; i < sources_.size(); ++i) {
      sources_[i].set_data_handle(handle(*inputs[i]));
      args[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i)] = sources_[i];
    }
    dst_.set_data_handle(out.mutable_data());
    args[DNNL_ARG_DST] = dst_;
    execute(inputs, args);
  }

 private:
  std::vector<memory> sources_;
  memory dst_;
};

}  // namespace

void add_layout_ops(CpuOpTable& table) {
  table["transpose"] = CpuOp{[](const NodeSpec& node) { return transpose_descs(node).has_value(); },
                             [](const NodeSpec& node) -> std::unique_ptr<Kernel> { return std::make_unique<TransposeKernel>(node); },
                             [](const NodeSpec&) { return Tolerance{}; }, false};
  table["concat"] = CpuOp{[](const NodeSpec& node) { return build_concat(node).has_value(); },
                          [](const NodeSpec& node) -> std::unique_ptr<Kernel> { return std::make_unique<ConcatKernel>(node); },
                          [](const NodeSpec&) { return Tolerance{}; }, false};
}

}  // namespace mithril::cpu
