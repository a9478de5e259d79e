#pragma once
// Logical models: structure only, no backend, no parameter values.
//
// A Model has named inputs (shapes may hold unknown or named symbolic dims), named parameters
// (shape, dtype, initializer), constants, an ordered list of steps — each either an operator
// node or an instance of another Model (a submodel, which owns its own parameters) — and named
// outputs. Every step's output dtype and shape are inferred the moment it is added, so a bad
// connection fails at the line that made it, with the node's full name and both shapes.
//
// Values are referred to by strings local to a model: an input, parameter or constant name, a
// node name (its single output), or "<submodel>.<output>". Parameters anywhere in the tree have
// stable dotted paths: "hidden.weight".
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "graph/functions.h"
#include "graph/initializer.h"
#include "ops/registry.h"

namespace mithril {

class Model;

/// A handle on one value of a model under construction (what operators take and return).
class Value {
 public:
  Value() = default;
  Value(Model* model, std::string ref) : model_(model), ref_(std::move(ref)) {}

  Model* model() const { return model_; }
  /// The value's reference string inside its model ("input", "relu_0", "hidden.output").
  const std::string& ref() const { return ref_; }
  /// Inferred dtype and shape.
  const ValueInfo& info() const;
  DType dtype() const { return info().dtype; }
  const SymShape& shape() const { return info().shape; }

 private:
  Model* model_ = nullptr;
  std::string ref_;
};

struct InputDecl {
  std::string name;
  ValueInfo info;
  /// A list input (format 1.2.0): a list of tensors, each with `info`, whose length is given
  /// only when the model is compiled (expand_list_inputs). Only a variadic operator input takes
  /// it, standing for its elements in order (concat's `inputs`).
  bool list = false;
};

struct ParameterDecl {
  std::string name;
  ValueInfo info;
  Initializer init;
};

struct ConstantDecl {
  std::string name;
  Tensor value;
};

/// One step of a model: an operator node or a submodel instance.
struct Step {
  std::string name;
  // Operator node (submodel == null):
  const OpSchema* op = nullptr;
  std::vector<std::string> inputs;  ///< value references, in the operator's input order
  Attributes attributes;            ///< complete: defaults filled in
  ValueInfo output;                 ///< the node's inferred output
  // Submodel instance:
  std::shared_ptr<const Model> submodel;
  std::vector<std::pair<std::string, std::string>> bindings;  ///< submodel input name -> value reference here
  std::vector<std::pair<std::string, ValueInfo>> outputs;      ///< submodel outputs, as seen here

  bool is_submodel() const { return submodel != nullptr; }
};

struct OutputDecl {
  std::string name;
  std::string value;  ///< reference of the value it exposes
  ValueInfo info;
};

/// A parameter anywhere in a model tree, by its dotted path.
struct ParameterPath {
  std::string path;  ///< "hidden.weight"
  ValueInfo info;
  Initializer init;
};

class Model {
 public:
  explicit Model(std::string name);

  const std::string& name() const { return name_; }

  // --- building (each call validates and infers immediately; throws Error naming the node) ---

  /// Declares an input. Shape dims may be known, named ("batch") or unknown.
  Value input(const std::string& name, SymShape shape, DType dtype = DType::float32);

  /// Declares an input with a full ValueInfo (e.g. of unknown rank).
  Value input(const std::string& name, const ValueInfo& info);

  /// Declares a list input: a list of tensors, each described by `element`, whose length is
  /// given when the model is compiled. Only variadic operator inputs take it.
  Value list_input(const std::string& name, const ValueInfo& element);

  /// True when this model declares a list input.
  bool has_list_inputs() const;

  /// Declares a parameter owned by this model.
  Value parameter(const std::string& name, SymShape shape, DType dtype = DType::float32,
                  Initializer init = Initializer::glorot());

  /// Declares a parameter with a full ValueInfo (e.g. of unknown rank: its shape then comes from
  /// its value when the model is compiled).
  Value parameter(const std::string& name, const ValueInfo& info, Initializer init = Initializer::glorot());

  /// Declares a constant tensor stored in the model itself.
  Value constant(const std::string& name, Tensor value);

  /// Adds an operator node ("add", "acme.scale"). `name` empty means "<op>_<n>".
  Value apply(const std::string& op, const std::vector<Value>& inputs, const Attributes& attributes = {},
              const std::string& name = "");

  /// Adds a node of an operator nobody registered, kept as given (its output has unknown shape),
  /// so that a model with unknown operators can still be validated and summarized. A model with
  /// opaque nodes cannot be compiled (Error(unsupported) names them).
  Value add_opaque_node(const std::string& name, const std::string& op, const std::vector<Value>& inputs,
                        const Attributes& attributes);

  /// Adds an instance of `model` named `name`, binding each of its inputs to a value here.
  /// Returns its outputs by name. Every input of `model` must be bound, with compatible shapes.
  std::map<std::string, Value> add_submodel(const std::string& name, std::shared_ptr<const Model> model,
                                            const std::map<std::string, Value>& inputs);

  /// Exposes `value` as the output `name`.
  void output(const std::string& name, const Value& value);

  /// The function operators this model's nodes may use (consulted before the global registry
  /// when a node is added). A loaded file's models share its table; a model without one sees
  /// the global registry only. Set it before adding nodes that use its functions.
  void use_functions(std::shared_ptr<const FunctionTable> functions) { functions_ = std::move(functions); }
  const std::shared_ptr<const FunctionTable>& functions() const { return functions_; }

  /// Free-form metadata (producer, description); written in the JSON dict.
  void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }

  // --- reading ---

  const std::vector<InputDecl>& inputs() const { return inputs_; }
  const std::vector<ParameterDecl>& parameters() const { return parameters_; }
  const std::vector<ConstantDecl>& constants() const { return constants_; }
  const std::vector<Step>& steps() const { return steps_; }
  const std::vector<OutputDecl>& outputs() const { return outputs_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  /// A handle on an existing value by reference; throws Error(invalid_argument) if unknown.
  Value value(const std::string& ref);
  /// Inferred info of a value by reference; throws Error(invalid_argument) if unknown.
  const ValueInfo& info(const std::string& ref) const;
  bool has_value(const std::string& ref) const { return values_.count(ref) > 0; }

  /// A name not used yet in this model: "<base>_<n>" with the smallest n after the last one
  /// handed out for `base` (amortized constant time).
  std::string unique_name(const std::string& base);

  /// Every parameter in the tree (this model's, then each submodel's in step order), dotted.
  std::vector<ParameterPath> parameter_paths() const;

  /// Opaque nodes (operators nobody registered, see add_opaque_node) in the whole tree:
  /// "path (op)" each, e.g. "block.n3 (vendor.magic)".
  std::vector<std::string> opaque_nodes() const;

  /// Number of operator nodes in the whole tree (submodels expanded).
  int64_t node_count() const;

 private:
  void declare_name(const std::string& name);

  std::string name_;
  std::vector<InputDecl> inputs_;
  std::vector<ParameterDecl> parameters_;
  std::vector<ConstantDecl> constants_;
  std::vector<Step> steps_;
  std::vector<OutputDecl> outputs_;
  std::map<std::string, std::string> metadata_;
  std::map<std::string, ValueInfo> values_;
  std::map<std::string, int> names_;  ///< every declared name (inputs, parameters, constants, steps)
  std::map<std::string, int> next_index_;  ///< next automatic-name number per operator
  std::set<std::string> lists_;            ///< names of list inputs
  std::vector<std::shared_ptr<OpSchema>> opaque_ops_;  ///< schemas of opaque nodes, owned here
  std::shared_ptr<const FunctionTable> functions_;     ///< owns the schemas of function nodes
};

/// Checks a model-local name: non-empty, [A-Za-z_][A-Za-z0-9_]*. Throws Error(schema).
void check_identifier(const std::string& name, const std::string& what);

/// `model` with each list input `xs` replaced by plain inputs `xs_0`, `xs_1`, ... (its elements,
/// each with the list's element info) and every node input that took the list taking them in
/// order. A list's length is the number of consecutive names `xs_0`, `xs_1`, ... in `given` (the
/// names of the tensors or shapes supplied). Throws Error(invalid_argument) for a list with no
/// element given, naming the names expected.
std::shared_ptr<Model> expand_list_inputs(const Model& model, const std::vector<std::string>& given);

/// `model` with the inputs named in `shapes` declared with those concrete shapes (dtypes kept):
/// what an ONNX export, which needs every input's rank, takes for a model that declares none.
/// Throws Error(invalid_argument) for an unknown or list input, Error(shape) for a shape that
/// contradicts the declared one.
std::shared_ptr<Model> with_input_shapes(const Model& model, const std::map<std::string, Shape>& shapes);

/// True when `name` is "<list>_<i>", an element of the list input `list`.
bool is_list_element(const std::string& name, const std::string& list);

/// Infers the outputs of `model` when its inputs have the given infos (which must be compatible
/// with the declared ones: same rank and dtype, equal known sizes, consistent named symbols).
/// Used for submodels and to compile with concrete shapes. Throws Error(shape) naming the value.
std::map<std::string, ValueInfo> infer_outputs(const Model& model, const std::map<std::string, ValueInfo>& inputs);

}  // namespace mithril
