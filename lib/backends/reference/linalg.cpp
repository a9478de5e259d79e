// Reference kernel of matmul: the textbook triple loop per batch entry.
#include <string>

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

}  // namespace

void register_reference_linalg_kernels(OpRegistry& registry) {
  registry.add_kernel("matmul", kReferenceBackend, matmul_kernel);
}

}  // namespace mithril
