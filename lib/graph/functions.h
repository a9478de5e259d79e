#pragma once
// Function operators: operators a model defines as a composition of other operators (format
// 1.1.0's "functions").
//
// Definitions belong to the models that use them, not to the process: a FunctionTable holds the
// definitions of one model tree (a loaded file's model, its submodels and definitions share one),
// and a Model consults its table before the global OpRegistry. Two files that define `fn.x`
// differently therefore load, compile and run side by side in one process. The table is
// immutable once built; expanded bodies are cached per attributes and input dtypes.
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ops/registry.h"

namespace mithril {

class Model;

/// One function as a model file defines it: named inputs, attributes with defaults, an ordered
/// list of nodes and the value that is its single output. In a node, an input "@k" stands for
/// attribute k's value as a 0-d constant of the first input's dtype; an attribute value "@k"
/// stands for attribute k itself.
struct FunctionDef {
  std::string qualified;  ///< "domain.name"
  int version = 1;
  std::string doc;
  std::vector<std::string> inputs;
  std::vector<AttrSpec> attributes;
  struct Node {
    std::string name, op;
    std::vector<std::string> inputs;
    Attributes attributes;
  };
  std::vector<Node> nodes;
  std::string output;
  /// The definition as written (compact JSON): what identifies it and what writing the model
  /// gives back. Kept by the format layer; the graph layer only compares it.
  std::string json;
};

class FunctionTable {
 public:
  FunctionTable() = default;
  FunctionTable(const FunctionTable&) = delete;
  FunctionTable& operator=(const FunctionTable&) = delete;

  /// Adds a definition as an operator of this table. Throws Error(schema) if the table already
  /// defines the name differently (an identical definition is accepted once more).
  void add(FunctionDef def);

  /// The operator named `qualified` if this table defines it, else null. Pointers stay valid
  /// for the table's life.
  const OpSchema* find(const std::string& qualified) const;
  /// The definition behind an operator of this table, or null for any other operator.
  const FunctionDef* definition(const OpSchema* op) const;
  bool empty() const { return entries_.empty(); }

  /// The body of function operator `op` (of this table) for the given attributes (complete)
  /// and input infos: a model with the function's inputs and one output named "output". Its
  /// nodes resolve operators through this table; it is valid while the table lives.
  std::shared_ptr<const Model> expand(const OpSchema& op, const Attributes& attributes,
                                      const std::vector<ValueInfo>& inputs) const;

 private:
  struct Entry {
    FunctionDef def;
    OpSchema schema;
    mutable std::mutex cache_mutex;
    mutable std::map<std::string, std::shared_ptr<const Model>> cache;  ///< by attributes and input dtypes
  };
  const Entry* entry(const OpSchema* op) const;

  std::map<std::string, std::unique_ptr<Entry>> entries_;
};

/// The operator `qualified` as a model using `functions` sees it: the table's function first,
/// then the global registry. Null when neither has it.
const OpSchema* find_operator(const FunctionTable* functions, const std::string& qualified);

}  // namespace mithril
