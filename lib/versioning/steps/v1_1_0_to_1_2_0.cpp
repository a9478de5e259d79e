// Step: format 1.1.0 <-> 1.2.0.
//
// 1.2.0 only adds list inputs ({"shape": ..., "dtype": ..., "list": true}: a list of tensors whose
// length is given when the model runs, taken by a variadic operator input, Python Mithril's
// Concat input) and concat over every element flattened (attribute "axis": null, numpy's
// axis=None), so every 1.1.0 dict is a 1.2.0 dict with another version string. Going down is
// lossless exactly when the dict uses neither; otherwise every list input and every concat with
// axis null blocks it, each listed with its JSON path.
#include <functional>


#include "core/error.h"
#include "io/json_util.h"
#include "io/model_json.h"
#include "versioning/format_history.h"
#include "versioning/steps/steps.h"

namespace mithril::versioning {
namespace {

std::string with_version(rapidjson::Document& doc, const char* version) {
  doc["version"].SetString(version, doc.GetAllocator());
  return json::compact(doc) + "\n";
}

// The list inputs and concat nodes with axis null of a body, its inline submodel bodies included.
void scan_body(const rapidjson::Value& body, const std::string& path, std::vector<Blocker>& blockers) {
  if (!body.IsObject()) return;
  if (auto inputs = body.FindMember("inputs"); inputs != body.MemberEnd() && inputs->value.IsObject())
    for (auto it = inputs->value.MemberBegin(); it != inputs->value.MemberEnd(); ++it)
      if (it->value.IsObject())
        if (auto list = it->value.FindMember("list"); list != it->value.MemberEnd() && list->value.IsTrue())
          blockers.push_back({json::child(json::child(path, "inputs"), it->name.GetString()), "a list input (format 1.2.0)"});
  auto nodes = body.FindMember("nodes");
  if (nodes == body.MemberEnd() || !nodes->value.IsArray()) return;
  for (rapidjson::SizeType i = 0; i < nodes->value.Size(); ++i) {
    const auto& node = nodes->value[i];
    std::string here = json::child(json::child(path, "nodes"), i);
    if (!node.IsObject()) continue;
    auto op = node.FindMember("op");
    auto attrs = node.FindMember("attributes");
    if (op != node.MemberEnd() && op->value.IsString() && std::string(op->value.GetString()) == "concat" &&
        attrs != node.MemberEnd() && attrs->value.IsObject())
      if (auto axis = attrs->value.FindMember("axis"); axis != attrs->value.MemberEnd() && axis->value.IsNull())
        blockers.push_back({json::child(json::child(here, "attributes"), "axis"), "concat with axis null (format 1.2.0)"});
    if (auto m = node.FindMember("model"); m != node.MemberEnd() && m->value.IsObject()) scan_body(m->value, json::child(here, "model"), blockers);
  }
}

}  // namespace

std::string v1_1_0_to_1_2_0(const std::string& json, const std::string& source) {
  rapidjson::Document doc = json::parse(json, source);
  if (!doc.IsObject()) throw Error(ErrorKind::schema, source + ": expected a model dict, got " + json::describe(doc));
  return with_version(doc, "1.2.0");
}

std::string v1_2_0_to_1_1_0(const std::string& json, const std::string& source) {
  rapidjson::Document doc = json::parse(json, source);
  if (!doc.IsObject()) throw Error(ErrorKind::schema, source + ": expected a model dict, got " + json::describe(doc));
  std::vector<Blocker> blockers;
  scan_body(doc, "", blockers);
  if (auto defs = doc.FindMember("definitions"); defs != doc.MemberEnd() && defs->value.IsObject())
    for (auto it = defs->value.MemberBegin(); it != defs->value.MemberEnd(); ++it)
      scan_body(it->value, json::child("definitions", it->name.GetString()), blockers);
  throw_blockers(source, "1.2.0", "1.1.0", blockers);
  // Canonical 1.1.0 text: exactly what to_dict(model, "1.1.0") writes.
  return mithril::to_dict(*from_dict(with_version(doc, "1.1.0"), source), "1.1.0");
}

}  // namespace mithril::versioning
