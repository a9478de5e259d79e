#pragma once
// State dicts: a physical model's parameters as named tensors, and loading tensors whose names and
// layouts come from another framework (a torch module's state_dict()) through a mapping.
//
// A mapping has
// - rename rules "REGEX=REPLACEMENT" (ECMAScript regular expressions; the replacement may refer to
//   groups as $1 or \1). A name is rewritten by the first rule whose regex matches somewhere in
//   it (only that match is replaced); a name no rule matches is kept. Rules are written from the
//   file's names to the model's ("^0\.=layer0."): on export (state_dict) they rewrite the model's
//   names into the file's, so a mapping for the other direction is written the other way round.
// - the torch Linear rule: torch.nn.Linear stores its weight as [out, in], Mithril's dense as
//   [in, out]. With it, the weight of every dense submodel is transposed as it crosses (both ways).
//
// Errors list every problem at once and name both spellings: "sd.pt: tensor '4.weight' (mapped
// to 'layer2.weight') is not a parameter of the model", "parameter 'layer1.bias' is missing (no
// tensor maps to it)", "tensor '0.weight' (mapped to 'layer0.weight', transposed): shape [10,50],
// expected [50,10]".
#include <string>
#include <vector>

#include "io/npz.h"
#include "physical/persistence.h"

namespace mithril {

struct NameRule {
  std::string pattern;      ///< as given
  std::string replacement;  ///< as given
};

struct StateDictMapping {
  std::vector<NameRule> rules;
  bool torch_linear = false;  ///< transpose dense weights ([out, in] in the file)

  bool empty() const { return rules.empty() && !torch_linear; }
};

/// Parses "REGEX=REPLACEMENT" (split at the first '=' not preceded by a backslash; "\=" is a
/// literal '=' in the regex). Throws Error(invalid_argument) for a missing '=', an empty regex or
/// an invalid regular expression, quoting the rule.
NameRule parse_name_rule(const std::string& text);

/// Reads a mapping file: one "REGEX=REPLACEMENT" per line, blank lines and lines starting with '#'
/// ignored, and the line "torch-linear" for the Linear rule. Errors name the file and line.
StateDictMapping read_mapping_file(const std::string& path);

/// The name `name` gets under the rules (itself when none matches).
std::string map_name(const std::vector<NameRule>& rules, const std::string& name);

/// Dotted paths of the weights of every dense submodel of `model` (at any depth).
std::vector<std::string> dense_weight_paths(const Model& model);

/// Tensors from a file renamed and laid out for `model` (import): each tensor's name is mapped,
/// dense weights transposed under torch_linear; then checked against the parameters the model
/// declares (missing, unmatched unless `allow_extra`, two tensors mapped to one name, shapes and
/// dtypes), every problem in one Error(shape) prefixed with `source`. Unmatched tensors are dropped
/// when allowed.
NamedTensors map_state_dict_to_model(const Model& model, const NamedTensors& values, const StateDictMapping& mapping,
                                     const std::string& source, bool allow_extra = false);

/// The model's parameters named and laid out for a file (export): names mapped, dense weights
/// transposed under torch_linear. Throws Error(invalid_argument) if two parameters map to one name.
NamedTensors map_state_dict_from_model(const Model& model, const NamedTensors& parameters, const StateDictMapping& mapping);

/// A 2-d tensor transposed (a new owned tensor).
Tensor transpose2d(const Tensor& t);

}  // namespace mithril
