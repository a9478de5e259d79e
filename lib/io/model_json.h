#pragma once
// The model dict: a logical model as versioned JSON (format 1.2.0, kModelFormatVersion; 1.1.0 is 1.2.0
// without list inputs and concat axis null, 1.0.0 is 1.1.0 without "functions").
//
// Layout (schema: schemas/model-1.2.0.schema.json; policy: schemas/VERSIONING.md):
//   {
//     "version": "1.2.0",                       format version (semver)
//     "name": "simple_mlp",
//     "metadata": {"producer": "..."},          optional, strings only
//     "inputs": {"input": {"shape": [null, 10], "dtype": "float32"},
//                "xs": {"shape": null, "dtype": "float32", "list": true}},        (1.2.0)
//     "parameters": {"w": {"shape": [10, 5], "dtype": "float32", "init": "glorot"}},
//     "constants": {"c": {"dtype": "float32", "shape": [2], "data": [1.5, "nan"]}},
//     "nodes": [                                 in execution order
//       {"name": "mm", "op": "matmul", "inputs": ["input", "w"]},
//       {"name": "hidden", "model": "dense", "inputs": {"input": "mm"}},
//       {"name": "act", "op": "softmax", "inputs": ["hidden.output"], "attributes": {"axis": -1}}
//     ],
//     "outputs": {"output": "act"},
//     "definitions": {"dense": { ...a model body: name, inputs, parameters, constants, nodes, outputs... }},
//     "functions": {"acme.scaled_relu": {"inputs": ["x"], "attributes": {"factor": 1.0},   (1.1.0)
//                   "nodes": [{"name": "r", "op": "relu", "inputs": ["x"]},
//                             {"name": "s", "op": "multiply", "inputs": ["r", "@factor"]}],
//                   "output": "s"}}
//   }
// A shape of null means "any rank" (given when the model is compiled). Shape dims are sizes, dimension names (equal names agree) or null (unknown). A node runs an
// operator ("op", "acme.scale" for a custom domain, "op_version" when not 1) on positional
// inputs, or instantiates a submodel ("model": a definition name or an inline body) binding its
// inputs by name; its outputs are referred to as "<node>.<output>". Submodel bodies used more
// than once are written once under "definitions". Functions (format 1.1.0) are operators defined
// in the file as compositions of others: loading registers them, compiling expands them, so such
// a model runs anywhere without a plugin; "@name" stands for the attribute's value. A list input
// (format 1.2.0, Python Mithril's Concat input) holds a list of tensors, each with the declared
// shape and dtype, whose length is given when the model is compiled (its elements are fed as
// xs_0, xs_1, ...); only a variadic operator input takes it ({"op": "concat", "inputs": ["xs"]}),
// standing for its elements in order. Constant data is flat, C order; complex values
// interleave real and imaginary parts; non-finite floats are "nan", "inf", "-inf".
//
// Writing is deterministic: the same model gives the same bytes, and
// to_dict(from_dict(to_dict(m))) == to_dict(m).
#include <memory>
#include <string>
#include <string_view>

#include "graph/model.h"

namespace mithril {

/// The format version this library writes.
inline constexpr const char* kModelFormatVersion = "1.2.0";

/// The model as JSON text in the current format (pretty-printed, ending with a newline).
std::string to_dict(const Model& model);

/// The model as JSON text of format `version`: the current one, "1.1.0" for a model without list
/// inputs and concat axis null, or "1.0.0" for one that also uses no function operators. Throws
/// Error(unsupported) naming every construct that blocks the older version.
std::string to_dict(const Model& model, const std::string& version);

struct FromDictOptions {
  /// Keep nodes of operators nobody registered as opaque nodes (output of unknown shape) instead
  /// of refusing the dict: enough to validate and summarize the rest, not to compile.
  bool allow_unknown_ops = false;
};

/// Reads a model dict. `source` names the origin in errors ("model.json"). Validates the JSON
/// Schema of its version, then semantics (operators exist, references resolve, shapes agree).
/// Every Error names the source and the JSON path, e.g.
/// "model.json: nodes[2].inputs[0]: unknown value 'hiden.output'". A dict of a newer major
/// version than this library knows is refused naming both versions.
std::shared_ptr<Model> from_dict(std::string_view json, const std::string& source = "model dict");
std::shared_ptr<Model> from_dict(std::string_view json, const std::string& source, const FromDictOptions& options);

/// Writes to_dict(model) to `path` atomically ("-": standard output).
void save_model_json(const Model& model, const std::string& path);

/// Reads and checks a model dict file ("-": standard input).
std::shared_ptr<Model> load_model_json(const std::string& path);

/// The embedded JSON Schema text of a released format version ("1.0.0"), or null.
const char* model_schema(std::string_view version);

}  // namespace mithril
