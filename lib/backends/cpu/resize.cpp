// resize on oneDNN's resampling primitive, for the cases where ONNX's coordinate mapping is the
// primitive's (others run on reference): float32 [N, C, spatial...] with 1 to 3 spatial axes, N and
// C unchanged, and the scale of every axis its size ratio (no `scales`, or scales that give the
// sizes exactly), because oneDNN derives its factors from the sizes. Then
//  - linear with half_pixel, or pytorch_half_pixel for outputs longer than 1: oneDNN maps output x
//    to (x + 0.5) / scale - 0.5 and clamps at the edges, as ONNX's reference does;
//  - nearest with integer upscale factors: oneDNN picks round((x + 0.5) / f - 0.5) = floor(x / f),
//    which is what half_pixel and pytorch_half_pixel with round_prefer_floor/ceil, and asymmetric
//    with floor, pick (torch's Upsample exports).
#include "backends/cpu/dnnl_util.h"
#include "core/error.h"
#include "ops/indexing.h"

namespace mithril::cpu {
namespace {

using dt = memory::data_type;

std::optional<dnnl::algorithm> resampling_of(const NodeSpec& node) {
  const Attributes& a = *node.attributes;
  const Shape& in = node.inputs[0].shape;
  if (!all_float32(node) || !node.fused.empty() || in.size() < 3 || in.size() > 5 || shape_numel(in) == 0) return std::nullopt;
  if (attr_bool(a, "exclude_outside")) return std::nullopt;
  std::vector<ResizeAxis> axes;
  try {
    axes = resize_axes(in, a);
  } catch (const Error&) {
    return std::nullopt;
  }
  if (axes[0].out != axes[0].in || axes[1].out != axes[1].in) return std::nullopt;
  for (const ResizeAxis& r : axes)
    if (r.out == 0 || r.scale != static_cast<double>(r.out) / static_cast<double>(r.in)) return std::nullopt;
  const std::string& mode = attr_string(a, "mode");
  const std::string& mapping = attr_string(a, "coordinate_transformation_mode");
  if (mode == "linear") {
    bool half_pixel = mapping == "half_pixel";
    if (mapping == "pytorch_half_pixel") {
      half_pixel = true;
      for (const ResizeAxis& r : axes) half_pixel = half_pixel && r.out > 1;
    }
    return half_pixel ? std::optional(dnnl::algorithm::resampling_linear) : std::nullopt;
  }
  if (mode != "nearest") return std::nullopt;
  const std::string& rounding = attr_string(a, "nearest_mode");
  bool same_pick = ((mapping == "half_pixel" || mapping == "pytorch_half_pixel") &&
                    (rounding == "round_prefer_floor" || rounding == "round_prefer_ceil")) ||
                   (mapping == "asymmetric" && rounding == "floor");
  for (const ResizeAxis& r : axes) same_pick = same_pick && r.out % r.in == 0;
  return same_pick ? std::optional(dnnl::algorithm::resampling_nearest) : std::nullopt;
}

std::optional<dnnl::resampling_forward::primitive_desc> build_resize(const NodeSpec& node) {
  std::optional<dnnl::algorithm> algorithm = resampling_of(node);
  if (!algorithm) return std::nullopt;
  dnnl::primitive_attr attr = make_attr(nullptr);
  return try_primitive_desc<dnnl::resampling_forward::primitive_desc>([&] {
    dnnl::resampling_forward::desc desc(dnnl::prop_kind::forward_inference, *algorithm,
                                        plain_desc(dims_of(node.inputs[0].shape), dt::f32),
                                        plain_desc(dims_of(node.output.shape), dt::f32));
    return dnnl::resampling_forward::primitive_desc(desc, attr, engine());
  });
}

}  // namespace

void add_resize_ops(CpuOpTable& table) {
  table["resize"] = CpuOp{[](const NodeSpec& node) { return build_resize(node).has_value(); },
                          [](const NodeSpec& node) -> std::unique_ptr<Kernel> {
                            auto pd = *build_resize(node);
                            return std::make_unique<SrcDstKernel>(dnnl::resampling_forward(pd), pd, nullptr);
                          },
                          // Nearest copies. Linear sums up to 8 weighted points in float32 where
                          // reference uses float64: a few float32 ulps of the inputs' magnitude
                          // (atol for inputs of magnitude up to ~10), which a result near 0 shows.
                          [](const NodeSpec& node) {
                            return attr_string(*node.attributes, "mode") == "nearest" ? Tolerance{} : Tolerance{1e-5, 1e-5};
                          },
                          false};
}

}  // namespace mithril::cpu
