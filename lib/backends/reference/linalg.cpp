// Reference kernel of matmul: the textbook triple loop per batch entry.
#include <string>

#include "backends/reference/families.h"
#include "ops/shape_inference.h"

namespace mithril {

namespace {

// Offsets (in elements) of each operand's matrix for every entry of the broadcast batch.
std::vector<int64_t> batch_offsets(const Shape& operand_batch, const Shape& batch, int64_t matrix_size) {
  // Strides of the operand's batch axes aligned to the right of `batch`; a broadcast axis
  // (size 1 or missing) has stride 0.
  std::vector<int64_t> strides(batch.size(), 0);
  int64_t stride = matrix_size;
  for (std::size_t i = 0; i < operand_batch.size(); ++i) {
    std::size_t from_end = i;
    std::size_t operand_axis = operand_batch.size() - 1 - from_end;
    std::size_t batch_axis = batch.size() - 1 - from_end;
    strides[batch_axis] = operand_batch[operand_axis] == 1 ? 0 : stride;
    stride *= operand_batch[operand_axis];
  }
  int64_t count = shape_numel(batch);
  std::vector<int64_t> offsets(static_cast<std::size_t>(count));
  for (int64_t flat = 0; flat < count; ++flat) {
    int64_t rest = flat, offset = 0;
    for (std::size_t axis = batch.size(); axis-- > 0;) {
      offset += (rest % batch[axis]) * strides[axis];
      rest /= batch[axis];
    }
    offsets[static_cast<std::size_t>(flat)] = offset;
  }
  return offsets;
}

void matmul_kernel(const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
  // 1-D operands become a row (left) or a column (right); `out` already has the squeezed shape,
  // whose C-order layout is the same.
  Shape a = in[0].shape(), b = in[1].shape();
  if (a.size() == 1) a.insert(a.begin(), 1);
  if (b.size() == 1) b.push_back(1);
  int64_t m = a[a.size() - 2], k = a.back(), n = b.back();
  Shape a_batch(a.begin(), a.end() - 2), b_batch(b.begin(), b.end() - 2);
  Shape batch = to_shape(broadcast_shapes({to_sym_shape(a_batch), to_sym_shape(b_batch)}));
  std::vector<int64_t> a_offsets = batch_offsets(a_batch, batch, m * k);
  std::vector<int64_t> b_offsets = batch_offsets(b_batch, batch, k * n);
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
