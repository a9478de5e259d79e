#pragma once
// Internal: answers the shape/indexing operators' inference (lib/ops/shape_ops.cpp, indexing.cpp)
// and their kernels (lib/backends/*) must agree on, computed in one place. Every function
// validates its attributes and throws Error(shape) naming the operator and the offending value.
#include <cstdint>
#include <string>
#include <vector>

#include "core/shape.h"
#include "ops/attribute.h"

namespace mithril {

/// One sliced axis after ONNX's clamping: elements start, start + step, ... (count of them).
struct SliceAxis {
  int64_t start = 0;
  int64_t step = 1;
  int64_t count = 0;
};

/// ONNX Slice on an axis of `size`: negative start/end count from the end; for a positive step
/// start and end are clamped to [0, size], for a negative one start to [0, size-1] and end to
/// [-1, size-1] (so INT64_MIN reaches the first element). `step` must not be 0.
SliceAxis slice_axis(int64_t size, int64_t start, int64_t end, int64_t step);

/// slice's attributes for an input of `rank`, checked and made explicit: axes normalized (null =
/// 0..n-1), steps filled with 1s. Throws Error(shape) on lengths that differ, a repeated or
/// out-of-range axis, or a zero step.
struct SliceSpec {
  std::vector<int64_t> axes, starts, ends, steps;
};
SliceSpec slice_spec(const Attributes& attrs, int64_t rank);

/// resize: the output size of each axis (attribute `sizes`; -1 = floor(input size * scale), the
/// input's size without `scales`) and the scale
/// the coordinate mapping uses (attribute `scales` when given, else output / input size).
struct ResizeAxis {
  int64_t in = 0;
  int64_t out = 0;
  double scale = 1;         ///< output / input
  double output_width = 0;  ///< scale * in: what align_corners and tf_crop_and_resize divide by
  double roi_start = 0, roi_end = 1;
};
std::vector<ResizeAxis> resize_axes(const Shape& input, const Attributes& attrs);

/// The input coordinate of output index `x` on one axis under ONNX Resize's
/// coordinate_transformation_mode (not clamped; tf_crop_and_resize may leave [0, in-1], which
/// the caller turns into extrapolation_value).
double resize_source_coordinate(const ResizeAxis& axis, const std::string& mode, int64_t x);

/// einsum's equation for inputs of the given ranks, parsed and checked: each term's subscripts
/// with kEllipsis standing for its "..." (the axes that term's rank leaves over, broadcast across
/// the terms), and the output's (explicit after "->"; else "..." then the letters used once, in
/// alphabetical order, as numpy and ONNX do). Throws Error(shape) "einsum: ..." on a malformed
/// equation, a term that does not fit its input's rank, or an output letter no input has.
struct EinsumSpec {
  static constexpr char kEllipsis = '.';
  std::vector<std::string> terms;
  std::string output;
  std::vector<int64_t> ellipsis_ranks;  ///< per input
  int64_t ellipsis_rank = 0;            ///< of the broadcast "..." (the largest)
};
EinsumSpec parse_einsum(const std::string& equation, const std::vector<int64_t>& ranks);

}  // namespace mithril
