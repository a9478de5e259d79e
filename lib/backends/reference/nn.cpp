// Reference kernels of the nn family: plain loops written in the order numpy (Python Mithril's
// reference backend) evaluates them, so results agree to the last bits on small inputs.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "backends/reference/families.h"
#include "core/error.h"
#include "ops/shape_inference.h"

namespace mithril {

namespace {

template <class T>
T v_nan() {
  return std::numeric_limits<T>::has_quiet_NaN ? std::numeric_limits<T>::quiet_NaN() : T(0);
}


void identity_kernel(const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
  if (out.nbytes() > 0) std::memcpy(out.mutable_data(), in[0].data(), out.nbytes());
}

// Viewed as [outer, rows, block]: for each outer index, the block of every indexed row in turn.
void gather_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  const Tensor& input = in[0];
  const Tensor& indices = in[1];
  auto axis = static_cast<std::size_t>(normalize_axis(attr_int(attrs, "axis"), input.ndim()));
  int64_t rows = input.shape()[axis], outer = 1, block = 1;
  for (std::size_t a = 0; a < axis; ++a) outer *= input.shape()[a];
  for (std::size_t a = axis + 1; a < input.shape().size(); ++a) block *= input.shape()[a];
  std::size_t block_bytes = static_cast<std::size_t>(block) * dtype_size(input.dtype());
  std::vector<int64_t> checked(static_cast<std::size_t>(indices.numel()));
  for (int64_t i = 0; i < indices.numel(); ++i) {
    int64_t index = indices.dtype() == DType::int64 ? indices.data_as<int64_t>()[i] : indices.data_as<int32_t>()[i];
    int64_t row = index < 0 ? index + rows : index;
    if (row < 0 || row >= rows)
      throw Error(ErrorKind::shape, "gather: index " + std::to_string(index) + " is out of range for axis " +
                                        std::to_string(axis) + " of size " + std::to_string(rows));
    checked[static_cast<std::size_t>(i)] = row;
  }
  if (block_bytes == 0) return;
  const char* src = static_cast<const char*>(input.data());
  char* dst = static_cast<char*>(out.mutable_data());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t row : checked) {
      std::memcpy(dst, src + static_cast<std::size_t>(o * rows + row) * block_bytes, block_bytes);
      dst += block_bytes;
    }
}

// Convolution over `rank` spatial axes (1 or 2), treating 1-D as 2-D with height 1.
void conv_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out, std::size_t rank) {
  const Shape& xs = in[0].shape();
  const Shape& ws = in[1].shape();
  std::vector<int64_t> stride = attr_ints(attrs, "stride"), padding = attr_ints(attrs, "padding"),
                       dilation = attr_ints(attrs, "dilation");
  if (rank == 1) {
    stride.insert(stride.begin(), 1);
    padding.insert(padding.begin(), {0, 0});
    dilation.insert(dilation.begin(), 1);
  }
  int64_t groups = attr_int(attrs, "groups");
  int64_t n = xs[0], c = xs[1], h = rank == 1 ? 1 : xs[2], w = xs.back();
  int64_t o = ws[0], cg = ws[1], kh = rank == 1 ? 1 : ws[2], kw = ws.back();
  int64_t oh = rank == 1 ? 1 : out.shape()[2], ow = out.shape().back();
  int64_t og = o / groups;
  dispatch_numeric(rank == 1 ? "conv1d" : "conv2d", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = in[0].data_as<T>();
    const T* k = in[1].data_as<T>();
    T* y = out.mutable_data_as<T>();
    for (int64_t b = 0; b < n; ++b)
      for (int64_t oc = 0; oc < o; ++oc) {
        int64_t g = oc / og;
        for (int64_t i = 0; i < oh; ++i)
          for (int64_t j = 0; j < ow; ++j) {
            T sum = 0;
            for (int64_t ic = 0; ic < cg; ++ic) {
              int64_t channel = g * cg + ic;
              for (int64_t p = 0; p < kh; ++p) {
                int64_t row = i * stride[0] - padding[0] + p * dilation[0];
                if (row < 0 || row >= h) continue;
                for (int64_t q = 0; q < kw; ++q) {
                  int64_t col = j * stride[1] - padding[2] + q * dilation[1];
                  if (col < 0 || col >= w) continue;
                  sum += x[((b * c + channel) * h + row) * w + col] * k[((oc * cg + ic) * kh + p) * kw + q];
                }
              }
            }
            y[((b * o + oc) * oh + i) * ow + j] = sum;
          }
      }
  });
}

void pool_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out, std::size_t rank) {
  const Shape& xs = in[0].shape();
  std::vector<int64_t> kernel = attr_ints(attrs, "kernel_size"), stride = attr_ints(attrs, "stride"),
                       padding = attr_ints(attrs, "padding"), dilation = attr_ints(attrs, "dilation");
  if (rank == 1) {
    kernel.insert(kernel.begin(), 1);
    stride.insert(stride.begin(), 1);
    padding.insert(padding.begin(), {0, 0});
    dilation.insert(dilation.begin(), 1);
  }
  int64_t h = rank == 1 ? 1 : xs[xs.size() - 2], w = xs.back();
  int64_t oh = rank == 1 ? 1 : out.shape()[out.shape().size() - 2], ow = out.shape().back();
  int64_t planes = h * w == 0 ? 0 : in[0].numel() / (h * w);
  dispatch_numeric(rank == 1 ? "max_pool1d" : "max_pool2d", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = in[0].data_as<T>();
    T* y = out.mutable_data_as<T>();
    for (int64_t plane = 0; plane < planes; ++plane)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          bool first = true, nan = false;
          T best = 0;
          for (int64_t p = 0; p < kernel[0]; ++p)
            for (int64_t q = 0; q < kernel[1]; ++q) {
              int64_t row = i * stride[0] - padding[0] + p * dilation[0];
              int64_t col = j * stride[1] - padding[2] + q * dilation[1];
              // Positions in the padding hold 0, as in Python Mithril's numpy backend.
              T v = (row < 0 || row >= h || col < 0 || col >= w) ? T(0) : x[(plane * h + row) * w + col];
              if (v != v) nan = true;
              if (first || v > best) best = v;
              first = false;
            }
          y[(plane * oh + i) * ow + j] = nan ? v_nan<T>() : best;
        }
  });
}

void cartesian_difference_kernel(const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
  int64_t n = out.shape()[0], m = out.shape()[1], d = out.shape()[2];
  dispatch_numeric("cartesian_difference", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* a = in[0].data_as<T>();
    const T* b = in[1].data_as<T>();
    T* y = out.mutable_data_as<T>();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j)
        for (int64_t k = 0; k < d; ++k) y[(i * m + j) * d + k] = wrapping_subtract(a[i * d + k], b[j * d + k]);
  });
}

// numpy's polynomial_features: powers from combinations with replacement of the rows of the
// identity of size D + 1 (row 0 standing for the constant 1), the first (all constant) skipped.
void polynomial_features_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  int64_t n = in[0].shape()[0], d = in[0].shape()[1], degree = attr_int(attrs, "degree");
  std::vector<std::vector<int64_t>> powers;
  std::vector<int64_t> pick(static_cast<std::size_t>(degree), 0);  // non-decreasing indices into 0..d
  for (;;) {
    std::vector<int64_t> p(static_cast<std::size_t>(d + 1), 0);
    for (int64_t i : pick) ++p[static_cast<std::size_t>(i)];
    powers.push_back(std::move(p));
    int64_t k = degree - 1;  // next combination, as itertools orders them
    while (k >= 0 && pick[static_cast<std::size_t>(k)] == d) --k;
    if (k < 0) break;
    int64_t v = pick[static_cast<std::size_t>(k)] + 1;
    for (int64_t j = k; j < degree; ++j) pick[static_cast<std::size_t>(j)] = v;
  }
  int64_t columns = out.shape()[1];
  dispatch_numeric("polynomial_features", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = in[0].data_as<T>();
    T* y = out.mutable_data_as<T>();
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < columns; ++c) {
        const std::vector<int64_t>& p = powers[static_cast<std::size_t>(c + 1)];
        T acc = 1;  // the constant column: 1 ** p0
        for (int64_t j = 0; j < d; ++j) {
          int64_t e = p[static_cast<std::size_t>(j + 1)];
          T v = x[r * d + j];
          if constexpr (std::is_floating_point_v<T>) acc *= e == 0 ? T(1) : std::pow(v, static_cast<T>(e));
          else {
            T f = 1;
            for (int64_t k = 0; k < e; ++k) f = wrapping_multiply(f, v);
            acc = wrapping_multiply(acc, f);
          }
        }
        y[r * columns + c] = acc;
      }
  });
}

template <class F>
void add_robust(OpRegistry& registry, const std::string& op, F f) {
  registry.add_kernel(op, kReferenceBackend, [op, f](const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
    dispatch_floating(op, out.dtype(), [&](auto tag) {
      using T = decltype(tag);
      std::vector<std::vector<int64_t>> offsets;
      for (const Tensor& t : in) offsets.push_back(broadcast_offsets(t.shape(), out.shape()));
      T* y = out.mutable_data_as<T>();
      for (int64_t i = 0; i < out.numel(); ++i) {
        std::vector<T> args;
        for (std::size_t k = 0; k < in.size(); ++k) args.push_back(in[k].data_as<T>()[offsets[k][static_cast<std::size_t>(i)]]);
        y[i] = f(args);
      }
    });
  });
}

}  // namespace

void register_reference_nn_kernels(OpRegistry& registry) {
  registry.add_kernel("identity", kReferenceBackend, identity_kernel);
  registry.add_kernel("gather", kReferenceBackend, gather_kernel);
  registry.add_kernel("cartesian_difference", kReferenceBackend, cartesian_difference_kernel);
  registry.add_kernel("polynomial_features", kReferenceBackend, polynomial_features_kernel);
  registry.add_kernel("conv1d", kReferenceBackend,
                      [](const std::vector<Tensor>& in, const Attributes& a, Tensor& out) { conv_kernel(in, a, out, 1); });
  registry.add_kernel("conv2d", kReferenceBackend,
                      [](const std::vector<Tensor>& in, const Attributes& a, Tensor& out) { conv_kernel(in, a, out, 2); });
  registry.add_kernel("max_pool1d", kReferenceBackend,
                      [](const std::vector<Tensor>& in, const Attributes& a, Tensor& out) { pool_kernel(in, a, out, 1); });
  registry.add_kernel("max_pool2d", kReferenceBackend,
                      [](const std::vector<Tensor>& in, const Attributes& a, Tensor& out) { pool_kernel(in, a, out, 2); });
  add_robust(registry, "robust_sqrt", [](const auto& a) {
    auto x = std::abs(a[0]);
    return x < a[1] ? x / std::sqrt(a[1]) : std::sqrt(x);
  });
  add_robust(registry, "robust_log", [](const auto& a) {
    auto x = std::abs(a[0]);
    return x < a[1] ? std::log(a[1]) + x / a[1] - 1 : std::log(x);
  });
  add_robust(registry, "stable_reciprocal", [](const auto& a) {
    using T = std::decay_t<decltype(a[0])>;
    T x = a[0], t = a[1];
    if (!(std::abs(x) < t)) return T(1) / x;
    auto sign = [](T v) { return v > 0 ? T(1) : v < 0 ? T(-1) : v; };  // numpy's sign: 0 for 0
    return (sign(x) + (T(1) - sign(std::abs(x)))) * T(2) * (T(1) / t) + (-x / (t * t));
  });
  add_robust(registry, "robust_power", [](const auto& a) {
    auto b = std::abs(a[0]);
    auto e = a[1], t = a[2];
    return (b < t && e < 1 - std::log(t) / std::log(b)) ? b / t : std::pow(b, e);
  });
}

}  // namespace mithril
