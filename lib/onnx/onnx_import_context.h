#pragma once
// The importer's inside (lib/onnx only): how one ONNX node becomes operators of our model.
//
// Every ONNX value is an Operand: a tensor known at import time (an initializer, a Constant node,
// or anything computed from those alone), a value of the model under construction, or both once a
// known tensor has been used by a node that is not folded. Converters are small functions, one per
// ONNX op type, grouped per family (onnx_import_ops_*.cpp); each reads its node through a
// NodeContext and applies our operators with NodeContext::apply, which evaluates the operator at
// import time (reference backend) when every operand is known: shape subgraphs fold to the
// attributes our operators take.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "core/tensor.h"
#include "graph/model.h"

namespace mithril::onnx_import {

class Importer;

/// One ONNX value during import.
struct Operand {
  std::optional<Tensor> known;  ///< its value when known at import time
  std::optional<Value> value;   ///< its value in the model, once materialized
  std::string onnx_name;        ///< the ONNX name, for messages and for naming parameters
  bool initializer = false;     ///< an ONNX initializer: materialized as a parameter of its own name

  bool is_known() const { return known.has_value(); }
  ValueInfo info() const;
};

/// ONNX's TensorProto.DataType number -> our dtype; nullopt for string and other kinds we lack.
std::optional<DType> dtype_from_onnx(int32_t elem_type);
/// "FLOAT", "STRING", ... for messages.
std::string onnx_type_name(int32_t elem_type);

/// A TensorProto's value. Raw, typed-field and external data (relative to `folder`, with its
/// offset and length checked against the file) are supported; the byte size is checked against
/// dtype x shape before anything is copied. `what` names the tensor in errors.
Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& folder, const std::string& what);

/// The node being converted, as its converter sees it.
class NodeContext {
 public:
  NodeContext(Importer& importer, const onnx::NodeProto& node, int opset) : importer_(importer), node_(node), opset_(opset) {}

  const onnx::NodeProto& node() const { return node_; }
  /// The opset of the node's domain in the file (after version conversion).
  int opset() const { return opset_; }
  /// "node 'conv1' (Conv)" for messages.
  std::string where() const;

  // --- inputs ---
  /// Number of inputs given (trailing optional inputs may be absent; an empty name is absent too).
  int inputs() const { return node_.input_size(); }
  bool has(int i) const { return i < node_.input_size() && !node_.input(i).empty(); }
  /// Input i (throws Error(format) when absent).
  Operand input(int i) const;
  /// The value of input i known at import time, or null.
  const Tensor* known(int i) const;
  /// The value of input i, which must be known at import time: a shape operand. Otherwise throws
  /// Error(unsupported) naming the node, the operand and `--freeze`.
  Tensor need(int i, const std::string& operand) const;
  /// need() as int64 values.
  std::vector<int64_t> need_ints(int i, const std::string& operand) const;
  /// need() of a scalar operand: it must hold exactly one value (a file may give an empty tensor).
  double need_scalar(int i, const std::string& operand) const;
  /// need_scalar() as an int64 (exact for int64 operands).
  int64_t need_int(int i, const std::string& operand) const;

  // --- attributes ---
  bool has_attr(const std::string& name) const;
  int64_t attr_int(const std::string& name, int64_t fallback) const;
  double attr_float(const std::string& name, double fallback) const;
  std::string attr_string(const std::string& name, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(const std::string& name, const std::vector<int64_t>& fallback = {}) const;
  std::vector<double> attr_floats(const std::string& name, const std::vector<double>& fallback = {}) const;
  const onnx::AttributeProto* attr(const std::string& name) const;
  /// An attribute that holds a tensor (Constant's value, ConstantOfShape's value).
  Tensor attr_tensor(const std::string& name) const;

  // --- building ---
  /// Our operator `op` on `operands`: evaluated now when every operand is known (the result is
  /// known), otherwise a node of the model.
  Operand apply(const std::string& op, const std::vector<Operand>& operands, const Attributes& attrs = {}) const;
  /// A known tensor.
  Operand constant(Tensor value) const;
  /// Sets output i of the node (ignored when the node does not name it).
  void output(int i, Operand value) const;
  /// Number of outputs the node names (an empty name is an unused optional output).
  int outputs() const { return node_.output_size(); }
  bool wants_output(int i) const { return i < node_.output_size() && !node_.output(i).empty(); }

  /// Converts the nodes of a subgraph (If's branches) into the model as if they were in the main
  /// graph (they may read any value defined so far) and returns its outputs in order.
  std::vector<Operand> inline_graph(const onnx::GraphProto& graph) const;

  /// Throws Error(unsupported) "<where>: <what>".
  [[noreturn]] void refuse(const std::string& what) const;

 private:
  Importer& importer_;
  const onnx::NodeProto& node_;
  int opset_;
};

using Converter = std::function<void(NodeContext&)>;
using ConverterTable = std::map<std::string, Converter>;

/// Converter registration, one function per family (onnx_import_ops_*.cpp).
void register_math_converters(ConverterTable& table);
void register_nn_converters(ConverterTable& table);
void register_shape_converters(ConverterTable& table);
/// RNN, GRU and LSTM, unrolled over a sequence of known length.
void register_rnn_converters(ConverterTable& table);
/// ai.onnx.preview.training optimizers (keys "ai.onnx.preview.training.Adam", ...).
void register_training_converters(ConverterTable& table);

// --- small helpers shared by the converters ---

/// True when our registry has operator `name` (a converter composes it from others otherwise).
bool have_op(const std::string& name);
/// True when operator `op` is registered and declares attribute `attr`.
bool op_has_attr(const std::string& op, const std::string& attr);

/// A 1-D int64 tensor.
Tensor int64_tensor(const std::vector<int64_t>& values);
/// A 0-d tensor of `dtype` holding `value`.
Operand scalar_like(const NodeContext& c, DType dtype, double value);
/// The values of an integer (or any) tensor as int64.
std::vector<int64_t> tensor_ints(const Tensor& t);
/// Our dtype name ("float32") for the cast operator.
std::string dtype_attr(DType dtype);
/// Rank of an operand (throws Error(unsupported) naming the node when unknown).
int64_t rank_of(const NodeContext& c, const Operand& x);
/// axis normalized to [0, rank) (throws Error(format) when out of range).
int64_t norm_axis(const NodeContext& c, int64_t axis, int64_t rank);
/// reshape to a fully given shape (no 0/-1 semantics).
Operand reshape_to(const NodeContext& c, const Operand& x, const std::vector<int64_t>& shape);
/// saturate(round(acc * a_scale * b_scale / y_scale) + y_zero_point) in the zero point's type (uint8
/// or int8), from an exact float64 accumulator of integer products (QLinearMatMul, QLinearConv).
Operand requantize(NodeContext& c, const Operand& acc, const Operand& a_scale, const Operand& b_scale, const Operand& y_scale,
                   const Operand& y_zero_point);
/// The shape of an operand when every dim is known, else nullopt.
std::optional<Shape> concrete_shape(const Operand& x);

}  // namespace mithril::onnx_import
