// Reference kernels of the reduction family. xtensor moves the reduced axes to the end (kept
// axes first, in order), so each output element reduces one contiguous run of the moved copy;
// the reductions themselves are plain loops with numpy's rules (NaN propagates through max/min,
// an empty sum is 0, an empty product 1, an empty mean NaN).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xmanipulation.hpp>

#include "backends/reference/families.h"
#include "core/error.h"
#include "ops/shape_inference.h"

namespace mithril {

namespace {

enum class Reduction { sum, mean, max, min, prod, variance };

// The input with its reduced axes moved last, as a C-order buffer.
template <class T>
xt::xarray<T> reduced_axes_last(const Tensor& input, const std::vector<int64_t>& axes) {
  std::vector<std::size_t> permutation;
  for (int64_t a = 0; a < input.ndim(); ++a)
    if (std::find(axes.begin(), axes.end(), a) == axes.end()) permutation.push_back(static_cast<std::size_t>(a));
  for (int64_t a : axes) permutation.push_back(static_cast<std::size_t>(a));
  std::vector<std::size_t> shape(input.shape().begin(), input.shape().end());
  auto view = xt::adapt(input.data_as<T>(), static_cast<std::size_t>(input.numel()), xt::no_ownership(), shape);
  return xt::transpose(view, permutation);
}

template <class T>
T reduce_run(Reduction kind, const T* x, int64_t n, double correction) {
  switch (kind) {
    case Reduction::sum:
    case Reduction::mean: {
      T sum = 0;
      for (int64_t i = 0; i < n; ++i) sum = wrapping_add(sum, x[i]);
      return kind == Reduction::sum ? sum : static_cast<T>(sum / static_cast<T>(n));
    }
    case Reduction::prod: {
      T product = 1;
      for (int64_t i = 0; i < n; ++i) product = wrapping_multiply(product, x[i]);
      return product;
    }
    case Reduction::max:
    case Reduction::min: {
      T best = x[0];
      for (int64_t i = 1; i < n && best == best; ++i) {
        bool better = kind == Reduction::max ? !(x[i] <= best) : !(x[i] >= best);  // true for NaN
        if (better) best = x[i];
      }
      return best;
    }
    case Reduction::variance: {
      T sum = 0;
      for (int64_t i = 0; i < n; ++i) sum += x[i];
      T mean = sum / static_cast<T>(n);
      T squares = 0;
      for (int64_t i = 0; i < n; ++i) squares += (x[i] - mean) * (x[i] - mean);
      return squares / static_cast<T>(std::max(static_cast<double>(n) - correction, 0.0));
    }
  }
  return 0;
}

void add_reduction(OpRegistry& registry, const std::string& op, Reduction kind) {
  bool floating_only = kind == Reduction::mean || kind == Reduction::variance;
  registry.add_kernel(op, kReferenceBackend, [op, kind, floating_only](const std::vector<Tensor>& in,
                                                                       const Attributes& attrs, Tensor& out) {
    const Tensor& input = in[0];
    std::vector<int64_t> axes = reduction_axes(attrs, input.ndim());
    int64_t run = 1;
    for (int64_t a : axes) run *= input.shape()[static_cast<std::size_t>(a)];
    if (run == 0 && (kind == Reduction::max || kind == Reduction::min))
      throw Error(ErrorKind::shape, op + " of an empty selection of " + shape_str(input.shape()) + " has no identity");
    double correction = kind == Reduction::variance ? attr_number(attrs, "correction") : 0.0;
    auto compute = [&](auto tag) {
      using T = decltype(tag);
      xt::xarray<T> moved = reduced_axes_last<T>(input, axes);
      T* y = out.mutable_data_as<T>();
      for (int64_t r = 0; r < out.numel(); ++r) y[r] = reduce_run(kind, moved.data() + r * run, run, correction);
    };
    if (floating_only) dispatch_floating(op, out.dtype(), compute);
    else dispatch_all_numeric(op, out.dtype(), compute);
  });
}

// argmax/argmin along one axis of the buffer viewed as [outer, length, inner]. NaN wins at its
// first occurrence (numpy; the last with select_last_index, as ONNX's reference flips the axis);
// ties go to the first index, or the last with select_last_index.
void arg_reduction_kernel(const std::string& op, bool max, const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  const Shape& shape = in[0].shape();
  if (shape.empty()) {
    out.mutable_data_as<int64_t>()[0] = 0;
    return;
  }
  auto axis = static_cast<std::size_t>(normalize_axis(attr_int(attrs, "axis"), in[0].ndim()));
  bool last = attr_bool(attrs, "select_last_index");
  int64_t outer = 1, inner = 1, length = shape[axis];
  for (std::size_t d = 0; d < axis; ++d) outer *= shape[d];
  for (std::size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  auto run = [&](auto tag) {
    using T = decltype(tag);
    const T* x = in[0].data_as<T>();
    int64_t* y = out.mutable_data_as<int64_t>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        auto at = [&](int64_t k) { return x[(o * length + k) * inner + i]; };
        // Scanning from the end with strict comparisons finds the last of equal extremes.
        int64_t step = last ? -1 : 1, best = last ? length - 1 : 0;
        for (int64_t k = best + step; k >= 0 && k < length; k += step) {
          T v = at(k), b = at(best);
          if (b != b) break;  // NaN found: it stays
          if (v != v || (max ? v > b : v < b)) best = k;
        }
        y[o * inner + i] = best;
      }
  };
  if (in[0].dtype() == DType::bool_) run(bool{});
  else dispatch_all_numeric(op, in[0].dtype(), run);
}

}  // namespace

void register_reference_reduction_kernels(OpRegistry& registry) {
  add_reduction(registry, "sum", Reduction::sum);
  add_reduction(registry, "mean", Reduction::mean);
  add_reduction(registry, "max", Reduction::max);
  add_reduction(registry, "min", Reduction::min);
  add_reduction(registry, "prod", Reduction::prod);
  add_reduction(registry, "variance", Reduction::variance);

  // --- ONNX nn/math ops (issue 14)
  for (bool max : {true, false}) {
    std::string op = max ? "argmax" : "argmin";
    registry.add_kernel(op, kReferenceBackend, [op, max](const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
      arg_reduction_kernel(op, max, in, attrs, out);
    });
  }
}

}  // namespace mithril
