#pragma once
// Internal: the built-in operator families (one lib/ops/<family>.cpp each), all registered by
// register_builtin_ops() in builtin.cpp, plus the small constructor they share.
#include <string>
#include <vector>

#include "ops/registry.h"

namespace mithril {

void register_elementwise_ops(OpRegistry& registry);  ///< binary arithmetic, unary math, where, cast
void register_activation_ops(OpRegistry& registry);   ///< relu, sigmoid, tanh, gelu, softplus, leaky_relu, softmax
void register_linalg_ops(OpRegistry& registry);       ///< matmul, det
void register_reduction_ops(OpRegistry& registry);    ///< sum, mean, max, min, prod, variance
void register_shape_ops(OpRegistry& registry);        ///< reshape, transpose, concat, flatten, slice, expand, tile, pad, depth_to_space, space_to_depth
void register_nn_ops(OpRegistry& registry);           ///< identity, gather, conv1d/2d, max_pool1d/2d, robust_sqrt/log/power, ONNX nn ops (max_unpool, ...)
void register_loss_ops(OpRegistry& registry);         ///< cross_entropy, binary_cross_entropy
// --- ONNX shape/indexing ops (issue 14)
void register_indexing_ops(OpRegistry& registry);  ///< gather_elements, scatter_elements, gather_nd, scatter_nd, one_hot, trilu, cumsum, resize, einsum, top_k_*, grid_sample, reverse_sequence, tf_idf_vectorizer

/// A built-in (domain "", version 1) schema without kernels; backends attach those. Its inference
/// function checks the input count first, so the family's own functions may index inputs freely.
inline OpSchema builtin_schema(std::string name, std::string doc, std::vector<InputSpec> inputs,
                               std::vector<AttrSpec> attributes, InferFn infer) {
  OpSchema arity_only;
  arity_only.name = name;
  arity_only.inputs = inputs;
  infer = [arity_only, infer = std::move(infer)](const std::vector<ValueInfo>& values, const Attributes& attrs) {
    OpRegistry::check_arity(arity_only, values.size());
    return infer(values, attrs);
  };
  OpSchema schema;
  schema.name = std::move(name);
  schema.doc = std::move(doc);
  schema.inputs = std::move(inputs);
  schema.attributes = std::move(attributes);
  schema.infer = std::move(infer);
  return schema;
}

}  // namespace mithril
