// Reference kernels of the activation family: plain loops, each written in the numerically
// stable form its schema documents.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "backends/reference/families.h"
#include "ops/shape_inference.h"

namespace mithril {

namespace {

template <class F>
void add_activation(OpRegistry& registry, const std::string& op, F f) {
  registry.add_kernel(op, kReferenceBackend, [op, f](const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
    dispatch_floating(op, out.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* x = in[0].data_as<T>();
      T* y = out.mutable_data_as<T>();
      for (int64_t i = 0; i < out.numel(); ++i) y[i] = static_cast<T>(f(x[i], attrs));
    });
  });
}

// An activation with one or two number attributes, read once per run and converted to the
// element type: f(x, first, second) (second is 0 when only one is named).
template <class F>
void add_activation_with(OpRegistry& registry, const std::string& op, std::vector<std::string> names, F f) {
  registry.add_kernel(op, kReferenceBackend, [op, names, f](const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
    double first = attr_number(attrs, names.at(0)), second = names.size() > 1 ? attr_number(attrs, names[1]) : 0.0;
    dispatch_floating(op, out.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* x = in[0].data_as<T>();
      T* y = out.mutable_data_as<T>();
      T a = static_cast<T>(first), b = static_cast<T>(second);
      for (int64_t i = 0; i < out.numel(); ++i) y[i] = static_cast<T>(f(x[i], a, b));
    });
  });
}

template <class T>
T sigmoid(T x) {
  // exp of a non-positive number never overflows.
  if (x >= 0) return T(1) / (T(1) + std::exp(-x));
  T e = std::exp(x);
  return e / (T(1) + e);
}

template <class T>
T gelu(T x, bool approximate) {
  // erfc(-z) is 1 + erf(z) without the cancellation that loses every digit for negative x.
  if (!approximate) return T(0.5) * x * std::erfc(-x * T(M_SQRT1_2));
  const T sqrt_2_over_pi = T(0.7978845608028654);
  return T(0.5) * x * (T(1) + std::tanh(sqrt_2_over_pi * (x + T(0.044715) * x * x * x)));
}

// softmax, or with `log` log_softmax (x - max - log(sum(exp(x - max))), exact for tiny probabilities).
void softmax_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out, bool log) {
  dispatch_floating(log ? "log_softmax" : "softmax", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const Shape& shape = in[0].shape();
    auto axis = static_cast<std::size_t>(normalize_axis(attr_int(attrs, "axis"), in[0].ndim()));
    // Element (o, k, i) of the C-order buffer viewed as [outer, length, inner] sits at
    // (o * length + k) * inner + i; softmax runs along k.
    int64_t outer = 1, inner = 1, length = shape[axis];
    for (std::size_t d = 0; d < axis; ++d) outer *= shape[d];
    for (std::size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
    const T* x = in[0].data_as<T>();
    T* y = out.mutable_data_as<T>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        auto at = [&](int64_t k) { return (o * length + k) * inner + i; };
        T max = -INFINITY;
        for (int64_t k = 0; k < length; ++k) max = std::max(max, x[at(k)]);
        T sum = 0;
        for (int64_t k = 0; k < length; ++k) sum += y[at(k)] = std::exp(x[at(k)] - max);
        if (log) {
          T log_sum = std::log(sum);
          for (int64_t k = 0; k < length; ++k) y[at(k)] = x[at(k)] - max - log_sum;
        } else {
          for (int64_t k = 0; k < length; ++k) y[at(k)] /= sum;
        }
      }
    }
  });
}

// 1 at the first maximum (or first NaN) of each run along the axis, 0 elsewhere.
void hardmax_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  dispatch_floating("hardmax", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const Shape& shape = in[0].shape();
    auto axis = static_cast<std::size_t>(normalize_axis(attr_int(attrs, "axis"), in[0].ndim()));
    int64_t outer = 1, inner = 1, length = shape[axis];
    for (std::size_t d = 0; d < axis; ++d) outer *= shape[d];
    for (std::size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
    const T* x = in[0].data_as<T>();
    T* y = out.mutable_data_as<T>();
    std::fill(y, y + out.numel(), T(0));
    if (length == 0) return;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        auto at = [&](int64_t k) { return (o * length + k) * inner + i; };
        int64_t best = 0;
        for (int64_t k = 1; k < length && x[at(best)] == x[at(best)]; ++k)
          if (x[at(k)] != x[at(k)] || x[at(k)] > x[at(best)]) best = k;
        y[at(best)] = T(1);
      }
  });
}

}  // namespace

void register_reference_activation_kernels(OpRegistry& registry) {
  add_activation(registry, "relu", [](auto x, const Attributes&) { return x < 0 ? decltype(x)(0) : x; });
  add_activation(registry, "sigmoid", [](auto x, const Attributes&) { return sigmoid(x); });
  add_activation(registry, "tanh", [](auto x, const Attributes&) { return std::tanh(x); });
  add_activation(registry, "gelu", [](auto x, const Attributes& attrs) { return gelu(x, attr_bool(attrs, "approximate")); });
  add_activation(registry, "softplus", [](auto x, const Attributes&) {
    return std::max(x, decltype(x)(0)) + std::log1p(std::exp(-std::abs(x)));
  });
  add_activation(registry, "leaky_relu", [](auto x, const Attributes& attrs) {
    using T = decltype(x);
    return x >= 0 ? x : static_cast<T>(attr_number(attrs, "slope")) * x;
  });
  registry.add_kernel("softmax", kReferenceBackend,
                      [](const std::vector<Tensor>& in, const Attributes& a, Tensor& out) { softmax_kernel(in, a, out, false); });

  // --- ONNX nn/math ops (issue 14)
  registry.add_kernel("hardmax", kReferenceBackend, hardmax_kernel);
  registry.add_kernel("log_softmax", kReferenceBackend,
                      [](const std::vector<Tensor>& in, const Attributes& a, Tensor& out) { softmax_kernel(in, a, out, true); });
  registry.add_kernel("prelu", kReferenceBackend, [](const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
    dispatch_floating("prelu", out.dtype(), [&](auto tag) {
      using T = decltype(tag);
      std::vector<int64_t> xo = broadcast_offsets(in[0].shape(), out.shape()), so = broadcast_offsets(in[1].shape(), out.shape());
      const T* x = in[0].data_as<T>();
      const T* slope = in[1].data_as<T>();
      T* y = out.mutable_data_as<T>();
      for (std::size_t i = 0; i < xo.size(); ++i) {
        T v = x[xo[i]];
        y[i] = v >= 0 ? v : slope[so[i]] * v;
      }
    });
  });
  add_activation_with(registry, "elu", {"alpha"}, [](auto x, auto alpha, auto) { return x > 0 ? x : alpha * std::expm1(x); });
  add_activation_with(registry, "selu", {"alpha", "gamma"}, [](auto x, auto alpha, auto gamma) {
    return x > 0 ? gamma * x : gamma * alpha * std::expm1(x);
  });
  add_activation_with(registry, "celu", {"alpha"}, [](auto x, auto alpha, auto) {
    using T = decltype(x);
    return std::max(T(0), x) + std::min(T(0), alpha * std::expm1(x / alpha));
  });
  add_activation_with(registry, "hard_sigmoid", {"alpha", "beta"}, [](auto x, auto alpha, auto beta) {
    using T = decltype(x);
    return std::max(T(0), std::min(T(1), alpha * x + beta));
  });
  add_activation(registry, "hard_swish", [](auto x, const Attributes&) {
    using T = decltype(x);
    return x * std::max(T(0), std::min(T(1), x / T(6) + T(0.5)));
  });
  add_activation(registry, "softsign", [](auto x, const Attributes&) { return x / (decltype(x)(1) + std::abs(x)); });
  add_activation_with(registry, "thresholded_relu", {"alpha"}, [](auto x, auto alpha, auto) { return x > alpha ? x : decltype(x)(0); });
  add_activation_with(registry, "shrink", {"lambd", "bias"}, [](auto x, auto lambd, auto bias) {
    using T = decltype(x);
    return x < -lambd ? x + bias : x > lambd ? x - bias : T(0);
  });
  add_activation(registry, "mish", [](auto x, const Attributes&) {
    using T = decltype(x);
    return x * std::tanh(std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x))));
  });
}

}  // namespace mithril
