#pragma once
// Helpers shared by the operators' inference functions (and by kernels that need the same
// answers on concrete shapes): numpy broadcasting over symbolic dimensions, axis normalization,
// dtype checks.
//
// Every helper throws Error(shape) when the inputs do not agree; messages show the offending
// shapes or axes and never the node name (the caller adds it).
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "ops/attribute.h"

namespace mithril {

/// Numpy broadcasting of one dimension pair, extended to symbols: a known size other than 1 wins
/// over anything that is not a different known size; 1 yields the other dimension; the same
/// symbol stays; two different symbols or an unknown give unknown (a compiled model re-infers
/// with concrete shapes and catches real mismatches then). nullopt when two known sizes clash.
std::optional<Dim> broadcast_dim(const Dim& a, const Dim& b);

/// Numpy broadcasting of all `shapes` (aligned on the right). Throws Error(shape)
/// "cannot broadcast [5,10] with [3,10]" listing every shape.
SymShape broadcast_shapes(const std::vector<SymShape>& shapes);

/// The dimension two dimensions that must be equal agree on (matmul's inner dimension, concat's
/// other axes): no stretching of 1. Known sizes win over symbols; the same symbol stays; anything
/// else is unknown. nullopt when two known sizes differ.
std::optional<Dim> unify_dim(const Dim& a, const Dim& b);

/// Product of dims[begin, end): known when every factor is known (or one is known 0), the single
/// non-trivial factor when the others are known 1, unknown otherwise.
Dim dim_product(const SymShape& dims, std::size_t begin, std::size_t end);

/// `axis` in [-rank, rank) mapped to [0, rank). Throws Error(shape)
/// "axis 3 is out of range for rank 2" otherwise.
int64_t normalize_axis(int64_t axis, int64_t rank);

/// Each axis normalized; throws Error(shape) on an axis out of range or a repeated axis.
std::vector<int64_t> normalize_axes(const std::vector<int64_t>& axes, int64_t rank);

/// The axes a reduction's `axes` attribute names for an input of `rank`, normalized and sorted:
/// null means every axis, an int one axis, a list those axes (an empty list none).
std::vector<int64_t> reduction_axes(const Attributes& attrs, int64_t rank);

/// Throws Error(shape) "dtype mismatch: float32 vs int64" when the dtypes differ.
void require_same_dtype(DType a, DType b);

/// Throws Error(shape) "exp needs a floating-point input, got int64" unless float16..float64.
void require_floating(std::string_view op, DType dtype);

/// Throws Error(shape) unless an integer or floating dtype (not bool, not complex).
void require_numeric(std::string_view op, DType dtype);

/// "[-1,4]" for attribute lists in messages.
std::string ints_str(const std::vector<int64_t>& values);

}  // namespace mithril
