// Step: Python Mithril's unversioned model dict -> format 1.0.0.
//
// Python Mithril (`mithril.utils.dict_conversions.model_to_dict`) writes a model as a tree of
// library models ("Linear", "Relu", ...) and containers ("Model" with `submodels` and
// `connections`) whose keys form one flat namespace. This step flattens the tree into one 1.0.0
// model body, keeping Python's key names, so a test case's inputs apply unchanged:
//   - every Python key is an edge; `connect` and reused names join edges (union-find);
//   - trainable keys (Linear/Convolution/LayerNorm/Embedding weights and biases, keys marked
//     differentiable) without a value become parameters, other keys without a value inputs
//     (shape null: Python dicts declare no shapes, unless `assigned_shapes` gives one);
//   - keys with a value become constants (tensor keys) or node attributes (axis, slope, ...);
//   - each library model becomes one operator node, or a few for composites (Linear is
//     matmul(input, transpose(weight)) + bias, in numpy's order of operations);
//   - what 1.0.0 cannot express (assigned types, constraints, canonical keys...) is kept as
//     compact JSON strings under "python_mithril.*" metadata keys.
// A list of tensors given when the model runs (Concat's input) becomes a list input, which only
// format 1.2.0 has: such a dict is written as 1.2.0, and the driver goes on from there.
// The result is built with the graph API and written by to_dict(), so it is canonical. Semantics,
// key orders and defaults follow shared/reference/python-mithril-format.md.
#include <fmt/format.h>

#include "core/error.h"
#include "io/json_util.h"
#include "versioning/steps/python_mithril/flatten.h"
#include "versioning/steps/python_mithril/library_models.h"
#include "versioning/steps/steps.h"

namespace mithril::versioning {
namespace {

using python_mithril::JValue;

// Every model name in the dict (names, Layer activations, MLP activations, KernelizedSVM's
// kernel) with its JSON path.
void collect_names(const JValue& model, const std::string& path, std::vector<std::pair<std::string, std::string>>& out) {
  if (model.IsString()) {
    out.emplace_back(model.GetString(), path);
    return;
  }
  if (!model.IsObject()) return;
  auto n = model.FindMember("name");
  if (n != model.MemberEnd() && n->value.IsString()) out.emplace_back(n->value.GetString(), json::child(path, "name"));
  if (auto s = model.FindMember("submodels"); s != model.MemberEnd() && s->value.IsObject())
    for (auto it = s->value.MemberBegin(); it != s->value.MemberEnd(); ++it)
      collect_names(it->value, json::child(json::child(path, "submodels"), it->name.GetString()), out);
  if (auto a = model.FindMember("args"); a != model.MemberEnd() && a->value.IsObject()) {
    std::string apath = json::child(path, "args");
    if (auto act = a->value.FindMember("activation"); act != a->value.MemberEnd())
      collect_names(act->value, json::child(apath, "activation"), out);
    if (auto kernel = a->value.FindMember("kernel"); kernel != a->value.MemberEnd())
      collect_names(kernel->value, json::child(apath, "kernel"), out);
    if (auto acts = a->value.FindMember("activations"); acts != a->value.MemberEnd() && acts->value.IsArray())
      for (rapidjson::SizeType i = 0; i < acts->value.Size(); ++i)
        collect_names(acts->value[i], json::child(json::child(apath, "activations"), i), out);
  }
}

}  // namespace

const std::vector<std::string>& python_mithril_model_names() { return python_mithril::model_names(); }

std::string python_mithril_to_1_0_0(const std::string& json, const std::string& source) {
  rapidjson::Document doc = json::parse(json, source);
  if (!doc.IsObject() && !doc.IsString())
    throw Error(ErrorKind::schema, source + ": expected a Python Mithril model dict, got " + json::describe(doc));
  if (doc.IsObject() && doc.HasMember("version"))
    throw Error(ErrorKind::schema, source + ": has a \"version\": not an unversioned Python Mithril dict");
  json::check_no_duplicate_keys(doc, source);
  if (doc.IsObject() && doc.HasMember("is_train_model"))
    throw Error(ErrorKind::unsupported, source + ": (top level): a TrainModel dict (losses, regularizations) is not a "
                                                 "model: migrate its \"model\" entry");
  std::vector<std::pair<std::string, std::string>> names;
  collect_names(doc, "", names);
  if (doc.IsObject() && !doc.HasMember("name"))
    throw Error(ErrorKind::schema, source + ": (top level): a Python Mithril model dict needs a \"name\"");
  std::vector<std::string> unknown;
  for (const auto& [name, path] : names)
    if (!python_mithril::canonical_name(name))
      unknown.push_back(fmt::format("'{}' at {}", name, path.empty() ? "(top level)" : path));
  if (!unknown.empty())
    throw Error(ErrorKind::unsupported,
                fmt::format("{}: unknown Python Mithril model name{}: {} (the {} names the python-mithril step knows "
                            "are listed in schemas/VERSIONING.md)",
                            source, unknown.size() > 1 ? "s" : "", fmt::join(unknown, ", "), python_mithril::model_names().size()));
  return python_mithril::flatten(doc, source);
}

}  // namespace mithril::versioning
