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
    else dispatch_numeric(op, out.dtype(), compute);
  });
}

}  // namespace

void register_reference_reduction_kernels(OpRegistry& registry) {
  add_reduction(registry, "sum", Reduction::sum);
  add_reduction(registry, "mean", Reduction::mean);
  add_reduction(registry, "max", Reduction::max);
  add_reduction(registry, "min", Reduction::min);
  add_reduction(registry, "prod", Reduction::prod);
  add_reduction(registry, "variance", Reduction::variance);
}

}  // namespace mithril
