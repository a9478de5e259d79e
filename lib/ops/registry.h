#pragma once
// The operator registry.
//
// Each operator is one OpSchema: its qualified name (domain + name), version, inputs, attributes
// with defaults, one inference function for output dtype and shape, and a kernel per backend.
// Built-in operators are declared one family per file (lib/ops/<family>.cpp), each family with
// one explicit register_<family>_ops() called from register_builtin_ops(); there is no static
// initialisation magic. Users add operators the same way, at run time, under their own domain.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "core/tensor.h"
#include "ops/attribute.h"

namespace mithril {

/// What a logical model knows about a value before it runs: dtype and (symbolic) shape.
/// A value whose rank is unknown (rank_known false, e.g. an input of a migrated Python Mithril
/// dict, which declares no shapes) gets its shape only when the model is compiled or evaluated
/// with concrete inputs; operators never see it: nodes on such values defer inference.
struct ValueInfo {
  DType dtype = DType::float32;
  SymShape shape;
  bool rank_known = true;
};

/// "float32[null,10]", or "float32[...]" when the rank is unknown.
std::string info_str(const ValueInfo& info);

/// One declared input of an operator. A variadic input is last and takes one or more values
/// (concat's `inputs`).
struct InputSpec {
  std::string name;
  bool variadic = false;
};

/// One declared attribute; without a default it is required.
struct AttrSpec {
  std::string name;
  AttrType type;
  std::optional<AttrValue> default_value;
  /// False for an attribute added to an operator after model files used it: writers leave it out
  /// while it holds its default, so files that do not use it stay byte for byte what they were
  /// (readers fill the default in).
  bool written_when_default = true;
};

/// Computes the output dtype and shape from the inputs' and the (complete, type-checked)
/// attributes. Throws Error(shape) describing what does not agree, e.g.
/// "inner dimensions differ: [5,10] @ [20,1]"; the caller adds the node's full name.
/// Must accept symbolic dimensions: unknown stays unknown, named symbols propagate.
using InferFn = std::function<ValueInfo(const std::vector<ValueInfo>& inputs, const Attributes& attrs)>;

/// Computes one operator: `out` arrives allocated with the inferred dtype and concrete shape.
/// Inputs are contiguous, native-endian tensors whose dtypes passed inference.
using KernelFn = std::function<void(const std::vector<Tensor>& inputs, const Attributes& attrs, Tensor& out)>;

struct OpSchema {
  std::string domain;  ///< "" for built-in operators; e.g. "acme" for acme.scale
  std::string name;
  int version = 1;
  std::string doc;
  std::vector<InputSpec> inputs;
  std::vector<AttrSpec> attributes;
  InferFn infer;
  std::map<std::string, KernelFn> kernels;  ///< by backend name ("reference", "cpu")

  /// "add" for built-ins, "acme.scale" for a domain.
  std::string qualified_name() const;
};

class OpRegistry {
 public:
  /// The process-wide registry, holding every built-in operator on first use.
  static OpRegistry& global();

  /// Adds an operator. Throws Error(invalid_argument) if its qualified name is taken or the
  /// schema is incomplete (no name, no inference function, a variadic input not last).
  void add(OpSchema schema);

  /// Adds or replaces the kernel of `backend` for an operator already added.
  void add_kernel(std::string_view qualified_name, const std::string& backend, KernelFn kernel);

  /// The operator, or null when nobody registered it. Pointers stay valid for the registry's life.
  const OpSchema* find(std::string_view qualified_name) const;

  /// Sorted qualified names of every operator.
  std::vector<std::string> names() const;

  /// Checks `given` against the schema (unknown names, wrong types, missing required ones) and
  /// returns it with every default filled in. Throws Error(schema) naming the attribute.
  static Attributes complete_attributes(const OpSchema& schema, const Attributes& given);

  /// Checks the number of inputs (variadic inputs take one or more). Throws Error(schema).
  static void check_arity(const OpSchema& schema, std::size_t count);

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<OpSchema>, std::less<>> ops_;
};

/// Registers every built-in operator family (schemas and inference only; backends attach their
/// kernels). Called once by OpRegistry::global().
void register_builtin_ops(OpRegistry& registry);

}  // namespace mithril
