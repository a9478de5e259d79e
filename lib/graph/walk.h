#pragma once
// Walking a model tree with concrete or symbolic input infos: the one place that resolves
// references across submodel boundaries, binds symbolic dimensions and re-runs inference.
// infer_outputs() and compilation into a flat graph are both built on it.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "graph/model.h"

namespace mithril {

/// A value of the flattened tree: its dotted path ("hidden.add_0") and info.
struct FlatValue {
  std::string path;
  ValueInfo info;
};

struct WalkCallbacks {
  /// A parameter, with its shape after binding symbols.
  std::function<void(const std::string& path, const ParameterDecl&, const ValueInfo&)> on_parameter;
  /// A constant.
  std::function<void(const std::string& path, const ConstantDecl&, const ValueInfo&)> on_constant;
  /// An operator node with its inputs' flat paths and its inferred output.
  std::function<void(const std::string& path, const Step&, const std::vector<std::string>& inputs, const ValueInfo&)> on_node;
  /// Every value reference as it becomes known in a scope (`prefix` "" is the top level).
  std::function<void(const std::string& prefix, const std::string& ref, const FlatValue&)> on_value;
};

struct WalkOptions {
  /// When set, every floating-point input, parameter and constant is taken to have this dtype
  /// (compiling for another precision).
  std::optional<DType> float_dtype;
  /// Concrete shapes of parameters by dotted path (from values already at hand): they bind the
  /// declared shapes' symbols and replace them.
  const std::map<std::string, Shape>* parameter_shapes = nullptr;
};

/// Runs an operator's inference, deferring it (unknown rank) when an input's rank is unknown.
ValueInfo infer_node(const OpSchema& op, const std::vector<ValueInfo>& inputs, const Attributes& attributes);

/// Walks `model` with its inputs bound to `inputs` (by input name); returns its outputs by name.
/// `prefix` is prepended to every path ("" at the top, "hidden." inside a submodel).
/// Throws Error(shape) naming the value or node whose shape or dtype does not agree.
std::map<std::string, FlatValue> walk_model(const Model& model, const std::string& prefix,
                                            const std::map<std::string, FlatValue>& inputs,
                                            const WalkCallbacks& callbacks, const WalkOptions& options = {});

/// Shapes of parameters that follow from the inputs: a declared dimension named by a symbol that
/// no input binds (a Linear weight's input width, "w_in" in [8, "w_in"]) is learned where an
/// operator requires it to equal a known one: the contracted axes of matmul, the channels of a
/// convolution (groups 1), and dimensions aligned by broadcasting against a known size other
/// than 1. Returns every parameter (dotted path) whose shape becomes fully known this way and is
/// not in options.parameter_shapes. As Python Mithril infers its parameters' shapes at compile.
std::map<std::string, Shape> infer_parameter_shapes(const Model& model, const std::map<std::string, FlatValue>& inputs,
                                                    const WalkOptions& options = {});

/// The dtype a value takes under `options` (float dtypes replaced by float_dtype).
DType walked_dtype(DType declared, const WalkOptions& options);

}  // namespace mithril
