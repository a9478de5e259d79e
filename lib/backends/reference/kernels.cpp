#include "backends/backend.h"
#include "backends/reference/families.h"
#include "core/error.h"

namespace mithril {

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
}

}  // namespace mithril
