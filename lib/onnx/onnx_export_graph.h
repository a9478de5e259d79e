#pragma once
// Internal to the ONNX export: the graph being written and the lowering table.
//
// Export walks the model tree flat (graph/walk.h: submodels inlined, function operators expanded);
// every value keeps its flat path as its ONNX name ("hidden.add_0", parameter "hidden.weight"), and
// each operator node is handed to the lowering of its operator, which appends ONNX nodes through
// GraphWriter and returns the name of the value that computes the node's output.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "core/tensor.h"
#include "ops/registry.h"

namespace mithril::onnx_export {

/// The ONNX element type of a dtype; throws Error(unsupported) for dtypes ONNX lacks.
int onnx_elem_type(DType dtype);

/// One ONNX attribute, built by the helpers below.
using OnnxAttr = onnx::AttributeProto;
OnnxAttr o_int(const std::string& name, int64_t v);
OnnxAttr o_float(const std::string& name, double v);
OnnxAttr o_str(const std::string& name, const std::string& v);
OnnxAttr o_ints(const std::string& name, const std::vector<int64_t>& v);
OnnxAttr o_floats(const std::string& name, const std::vector<double>& v);

/// Appends nodes and initializers to one GraphProto; hands out names no flat path can take
/// (paths never contain '/').
class GraphWriter {
 public:
  GraphWriter(onnx::GraphProto* graph, int opset) : graph_(graph), opset_(opset) {}

  int opset() const { return opset_; }

  /// Sets the prefix of the names made up for nodes and intermediate values (the node's path).
  void set_scope(const std::string& scope) { scope_ = scope; }

  /// A fresh value name "<scope>/<base>_<n>".
  std::string fresh(const std::string& base);

  /// Appends a node with one output (a fresh name unless `output` is given); returns the output.
  std::string node(const std::string& op_type, const std::vector<std::string>& inputs,
                   const std::vector<OnnxAttr>& attrs = {}, const std::string& output = "");

  /// Appends a node with `count` outputs, all fresh names; returns them.
  std::vector<std::string> node_outputs(const std::string& op_type, const std::vector<std::string>& inputs,
                                        const std::vector<OnnxAttr>& attrs, int count);

  /// Adds `value` as an initializer named `name` (raw little-endian bytes).
  void initializer(const std::string& name, const Tensor& value);
  /// `value` as an initializer under a fresh name.
  std::string constant(const Tensor& value);
  /// A 1-D int64 initializer.
  std::string ints(const std::vector<int64_t>& values);
  /// A 0-d initializer of `dtype` holding `value`.
  std::string scalar(DType dtype, double value);

  // Operators whose operands moved from attributes to inputs across the opsets we write.
  /// ReduceSum/Mean/Max/Min/Prod over `axes` (nullopt: every axis).
  std::string reduce(const std::string& op_type, const std::string& x, const std::optional<std::vector<int64_t>>& axes,
                     bool keepdims);
  std::string unsqueeze(const std::string& x, const std::vector<int64_t>& axes);
  std::string squeeze(const std::string& x, const std::vector<int64_t>& axes);
  /// Slice along `axes` with constant starts/ends (steps 1).
  std::string slice(const std::string& x, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
                    const std::vector<int64_t>& axes);
  /// A 1-D int64 tensor with dims [begin, end) of `x` (declared `shape`): a constant when they are
  /// all known, else a Slice of Shape(x).
  std::string dims(const std::string& x, const SymShape& shape, int64_t begin, int64_t end);
  /// Reshape to `shape` (a 1-D int64 value); `allowzero` for targets with literal zeros.
  std::string reshape(const std::string& x, const std::string& shape, bool allowzero = false);
  /// Cast to `dtype`.
  std::string cast(const std::string& x, DType dtype);

  onnx::GraphProto* graph() { return graph_; }

 private:
  onnx::GraphProto* graph_;
  int opset_;
  std::string scope_;
  std::map<std::string, int> counters_;
};

/// A node to lower: its inputs (ONNX names, in the operator's input order) and their infos, its
/// complete attributes and its inferred output.
struct LowerNode {
  std::string path;
  const OpSchema* op = nullptr;
  std::vector<std::string> inputs;
  std::vector<ValueInfo> input_infos;
  Attributes attrs;
  ValueInfo output;
};

/// Appends the ONNX nodes for one of our nodes; returns the value holding its output. Throws
/// Error(unsupported) for attribute values or dtypes it cannot express at the writer's opset.
using Lowering = std::function<std::string(GraphWriter&, const LowerNode&)>;

/// Every built-in operator's lowering, by qualified name.
const std::map<std::string, Lowering>& lowerings();

}  // namespace mithril::onnx_export
