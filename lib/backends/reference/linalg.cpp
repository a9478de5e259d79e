// Reference kernels of matmul (the textbook triple loop per batch entry) and det (LU with partial
// pivoting in float64).
#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "backends/reference/families.h"
#include "ops/shape_inference.h"

namespace mithril {

namespace {


void matmul_kernel(const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
  // 1-D operands become a row (left) or a column (right); `out` already has the squeezed shape,
  // whose C-order layout is the same.
  Shape a = in[0].shape(), b = in[1].shape();
  if (a.size() == 1) a.insert(a.begin(), 1);
  if (b.size() == 1) b.push_back(1);
  int64_t m = a[a.size() - 2], k = a.back(), n = b.back();
  Shape a_batch(a.begin(), a.end() - 2), b_batch(b.begin(), b.end() - 2);
  Shape batch = to_shape(broadcast_shapes({to_sym_shape(a_batch), to_sym_shape(b_batch)}));
  std::vector<int64_t> a_offsets = broadcast_offsets(a_batch, batch, m * k);
  std::vector<int64_t> b_offsets = broadcast_offsets(b_batch, batch, k * n);
  dispatch_numeric("matmul", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* y = out.mutable_data_as<T>();
    for (std::size_t e = 0; e < a_offsets.size(); ++e) {
      const T* x = in[0].data_as<T>() + a_offsets[e];
      const T* w = in[1].data_as<T>() + b_offsets[e];
      T* z = y + static_cast<int64_t>(e) * m * n;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          T sum = 0;
          for (int64_t p = 0; p < k; ++p) sum = wrapping_add(sum, wrapping_multiply(x[i * k + p], w[p * n + j]));
          z[i * n + j] = sum;
        }
    }
  });
}

void det_kernel(const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
  const Shape& shape = in[0].shape();
  int64_t m = shape.back();
  Tensor wide = in[0].cast(DType::float64);
  Tensor result(DType::float64, out.shape());
  std::vector<double> a(static_cast<std::size_t>(m * m));
  for (int64_t e = 0; e < result.numel(); ++e) {
    std::copy_n(wide.data_as<double>() + e * m * m, a.size(), a.begin());
    double det = 1;
    for (int64_t k = 0; k < m && det != 0; ++k) {
      int64_t pivot = k;
      for (int64_t i = k + 1; i < m; ++i)
        if (std::abs(a[static_cast<std::size_t>(i * m + k)]) > std::abs(a[static_cast<std::size_t>(pivot * m + k)])) pivot = i;
      double p = a[static_cast<std::size_t>(pivot * m + k)];
      if (p == 0) {
        det = 0;
        break;
      }
      if (pivot != k) {
        for (int64_t j = 0; j < m; ++j) std::swap(a[static_cast<std::size_t>(k * m + j)], a[static_cast<std::size_t>(pivot * m + j)]);
        det = -det;
      }
      det *= p;
      for (int64_t i = k + 1; i < m; ++i) {
        double f = a[static_cast<std::size_t>(i * m + k)] / p;
        for (int64_t j = k + 1; j < m; ++j) a[static_cast<std::size_t>(i * m + j)] -= f * a[static_cast<std::size_t>(k * m + j)];
      }
    }
    result.mutable_data_as<double>()[e] = det;
  }
  Tensor narrow = result.cast(out.dtype());
  std::memcpy(out.mutable_data(), narrow.data(), out.nbytes());
}

}  // namespace

void register_reference_linalg_kernels(OpRegistry& registry) {
  registry.add_kernel("matmul", kReferenceBackend, matmul_kernel);
  registry.add_kernel("det", kReferenceBackend, det_kernel);
}

}  // namespace mithril
