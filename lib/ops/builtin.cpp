#include "ops/families.h"
#include "ops/registry.h"

namespace mithril {

void register_builtin_ops(OpRegistry& registry) {
  register_elementwise_ops(registry);
  register_activation_ops(registry);
  register_linalg_ops(registry);
  register_reduction_ops(registry);
  register_shape_ops(registry);
  register_nn_ops(registry);
  register_loss_ops(registry);
  // --- ONNX shape/indexing ops (issue 14)
  register_indexing_ops(registry);
}

}  // namespace mithril
