#include "backends/backend.h"
#include "backends/reference/families.h"
#include "core/error.h"

namespace mithril {

std::vector<int64_t> broadcast_offsets(const Shape& operand, const Shape& out, int64_t unit) {
  std::vector<int64_t> strides(out.size(), 0);
  int64_t stride = unit;
  for (std::size_t i = 0; i < operand.size() && i < out.size(); ++i) {
    std::size_t a = operand.size() - 1 - i, o = out.size() - 1 - i;
    strides[o] = operand[a] == 1 ? 0 : stride;
    stride *= operand[a];
  }
  int64_t count = shape_numel(out);
  std::vector<int64_t> offsets(static_cast<std::size_t>(count));
  for (int64_t flat = 0; flat < count; ++flat) {
    int64_t rest = flat, offset = 0;
    for (std::size_t axis = out.size(); axis-- > 0;) {
      offset += (rest % out[axis]) * strides[axis];
      rest /= out[axis];
    }
    offsets[static_cast<std::size_t>(flat)] = offset;
  }
  return offsets;
}

void throw_unsupported_dtype(std::string_view op, DType dtype) {
  throw Error(ErrorKind::unsupported, "reference kernel of '" + std::string(op) + "' does not support " +
                                          std::string(dtype_name(dtype)));
}

void register_reference_kernels(OpRegistry& registry) {
  register_reference_elementwise_kernels(registry);
  register_reference_activation_kernels(registry);
  register_reference_linalg_kernels(registry);
  register_reference_reduction_kernels(registry);
  register_reference_shape_kernels(registry);
  register_reference_nn_kernels(registry);
  register_reference_loss_kernels(registry);
  // --- ONNX shape/indexing ops (issue 14)
  register_reference_indexing_kernels(registry);
}

}  // namespace mithril
