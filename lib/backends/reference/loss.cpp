// Reference kernels of the loss family, in the evaluation order of Python Mithril's numpy backend.
#include <algorithm>
#include <cmath>
#include <string>

#include "backends/reference/families.h"
#include "core/error.h"

namespace mithril {

namespace {

template <class T>
T robust_log(T x, T threshold) {
  x = std::abs(x);
  return x < threshold ? std::log(threshold) + x / threshold - 1 : std::log(x);
}

template <class T>
std::vector<T> class_weights(const Attributes& attrs, int64_t classes) {
  std::vector<double> given = attr_numbers(attrs, "weights");
  if (given.empty()) return std::vector<T>(static_cast<std::size_t>(classes), T(1));
  if (static_cast<int64_t>(given.size()) != classes)
    throw Error(ErrorKind::shape, "cross_entropy: " + std::to_string(given.size()) + " weights for " +
                                      std::to_string(classes) + " classes");
  return std::vector<T>(given.begin(), given.end());
}

void cross_entropy_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  const Shape& xs = in[0].shape();
  int64_t n = xs[0], classes = xs[1];
  int64_t rest = classes == 0 || n == 0 ? 0 : in[0].numel() / (n * classes);
  const std::string& type = attr_string(attrs, "input_type");
  bool categorical = attr_bool(attrs, "categorical"), robust = attr_bool(attrs, "robust");
  dispatch_floating("cross_entropy", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = in[0].data_as<T>();
    T threshold = static_cast<T>(attr_number(attrs, "threshold"));
    auto log = [&](T v) { return robust ? robust_log(v, threshold) : std::log(v); };
    auto at = [&](int64_t b, int64_t c, int64_t s) { return x[(b * classes + c) * rest + s]; };
    std::vector<T> w = class_weights<T>(attrs, classes);
    T* y = out.mutable_data_as<T>();
    if (categorical) {
      std::vector<int64_t> target(static_cast<std::size_t>(in[1].numel()));
      for (int64_t i = 0; i < in[1].numel(); ++i) {
        target[static_cast<std::size_t>(i)] = static_cast<int64_t>(in[1].value_at(i));
        if (target[static_cast<std::size_t>(i)] < 0 || target[static_cast<std::size_t>(i)] >= classes)
          throw Error(ErrorKind::shape, "cross_entropy: target class " + std::to_string(target[static_cast<std::size_t>(i)]) +
                                            " is out of range for " + std::to_string(classes) + " classes");
      }
      if (attr_bool(attrs, "auto_weights")) {
        std::vector<int64_t> count(static_cast<std::size_t>(classes), 0);
        for (int64_t t : target) ++count[static_cast<std::size_t>(t)];
        for (int64_t c = 0; c < classes; ++c)
          w[static_cast<std::size_t>(c)] = static_cast<T>(target.size()) / (static_cast<T>(classes) * static_cast<T>(count[static_cast<std::size_t>(c)]));
      }
      for (int64_t b = 0; b < n; ++b)
        for (int64_t s = 0; s < rest; ++s) {
          int64_t t = target[static_cast<std::size_t>(b * rest + s)];
          T weight = w[static_cast<std::size_t>(t)];
          T loss;
          if (type == "logits") {
            T max = at(b, 0, s);
            for (int64_t c = 1; c < classes; ++c) max = std::max(max, at(b, c, s));
            T sum = 0;
            for (int64_t c = 0; c < classes; ++c) sum += std::exp(at(b, c, s) - max);
            loss = (log(sum) - (at(b, t, s) - max)) * weight;
          } else if (type == "probs") {
            loss = -log(at(b, t, s)) * weight;
          } else {
            loss = -at(b, t, s) * weight;
          }
          y[b * rest + s] = loss;
        }
      return;
    }
    const T* target = in[1].data_as<T>();
    if (attr_bool(attrs, "auto_weights")) {
      T total = 0;
      for (int64_t i = 0; i < in[1].numel(); ++i) total += target[i];
      for (int64_t c = 0; c < classes; ++c) {
        T per_class = 0;
        for (int64_t b = 0; b < n; ++b)
          for (int64_t s = 0; s < rest; ++s) per_class += target[(b * classes + c) * rest + s];
        w[static_cast<std::size_t>(c)] = total / (static_cast<T>(classes) * per_class);
      }
    }
    for (int64_t b = 0; b < n; ++b)
      for (int64_t s = 0; s < rest; ++s) {
        T log_sum = 0;
        if (type == "logits") {
          T sum = 0;
          for (int64_t c = 0; c < classes; ++c) sum += std::exp(at(b, c, s));
          log_sum = log(sum);
        }
        T total = 0;
        for (int64_t c = 0; c < classes; ++c) {
          T t = target[(b * classes + c) * rest + s];
          T term = type == "logits" ? at(b, c, s) - log_sum : type == "probs" ? log(at(b, c, s)) : at(b, c, s);
          total += t * term * w[static_cast<std::size_t>(c)];
        }
        y[b * rest + s] = -total;
      }
  });
}


void binary_cross_entropy_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  bool logits = attr_string(attrs, "input_type") == "logits", robust = attr_bool(attrs, "robust");
  dispatch_floating("binary_cross_entropy", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = in[0].data_as<T>();
    const T* t = in[1].data_as<T>();
    T threshold = static_cast<T>(attr_number(attrs, "threshold"));
    auto log = [&](T v) { return robust ? robust_log(v, threshold) : std::log(v); };
    T pw = static_cast<T>(attr_number(attrs, "pos_weight"));
    if (attr_bool(attrs, "auto_pos_weight")) {
      // Python Mithril (every backend) weighs logits by the mean of sigmoid(target), probabilities
      // by the mean of the target; sigmoid as numpy's, by the sign of its input.
      auto sigmoid = [](T v) { return v >= 0 ? 1 / (1 + std::exp(-v)) : std::exp(v) / (1 + std::exp(v)); };
      T sum = 0;
      for (int64_t i = 0; i < in[1].numel(); ++i) sum += logits ? sigmoid(t[i]) : t[i];
      T mean = sum / static_cast<T>(in[1].numel());
      pw = (1 - mean) / mean;
    }
    std::vector<int64_t> xo = broadcast_offsets(in[0].shape(), out.shape()), to = broadcast_offsets(in[1].shape(), out.shape());
    T* y = out.mutable_data_as<T>();
    for (int64_t i = 0; i < out.numel(); ++i) {
      T p = x[xo[static_cast<std::size_t>(i)]], target = t[to[static_cast<std::size_t>(i)]];
      if (logits) {
        T lw = (pw - 1) * target + 1;
        T softplus_term = robust ? log(1 + std::exp(-std::abs(p))) : std::log1p(std::exp(-std::abs(p)));
        T log_sigmoid = std::min(p, T(0)) - softplus_term;
        y[i] = (1 - target) * p - lw * log_sigmoid;
      } else {
        y[i] = -(pw * target * log(p)) - (1 - target) * log(1 - p);
      }
    }
  });
}

}  // namespace

void register_reference_loss_kernels(OpRegistry& registry) {
  registry.add_kernel("cross_entropy", kReferenceBackend, cross_entropy_kernel);
  registry.add_kernel("binary_cross_entropy", kReferenceBackend, binary_cross_entropy_kernel);
}

}  // namespace mithril
