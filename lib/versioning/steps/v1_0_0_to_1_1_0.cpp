// Step: format 1.0.0 <-> 1.1.0.
//
// 1.1.0 only adds the optional "functions" section (operators defined in the model file), so
// every 1.0.0 dict is a 1.1.0 dict with another version string. Going down is lossless exactly
// when the dict defines no function and no node uses one; otherwise every function definition and
// every node that uses one blocks it, each listed with its JSON path.
#include <functional>
#include <set>


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

}  // namespace

std::string v1_0_0_to_1_1_0(const std::string& json, const std::string& source) {
  rapidjson::Document doc = json::parse(json, source);
  if (!doc.IsObject()) throw Error(ErrorKind::schema, source + ": expected a model dict, got " + json::describe(doc));
  // Canonical 1.1.0 text: exactly what to_dict(model, "1.1.0") writes.
  return mithril::to_dict(*from_dict(with_version(doc, "1.1.0"), source), "1.1.0");
}

std::string v1_1_0_to_1_0_0(const std::string& json, const std::string& source) {
  rapidjson::Document doc = json::parse(json, source);
  if (!doc.IsObject()) throw Error(ErrorKind::schema, source + ": expected a model dict, got " + json::describe(doc));
  std::vector<Blocker> blockers;
  std::set<std::string> functions;
  if (auto fns = doc.FindMember("functions"); fns != doc.MemberEnd() && fns->value.IsObject())
    for (auto it = fns->value.MemberBegin(); it != fns->value.MemberEnd(); ++it) {
      functions.insert(it->name.GetString());
      blockers.push_back({json::child("functions", it->name.GetString()), "a function definition (format 1.1.0)"});
    }
  // Nodes using a function, in the body, inline submodel bodies and definitions.
  std::function<void(const rapidjson::Value&, const std::string&)> scan = [&](const rapidjson::Value& body, const std::string& path) {
    auto nodes = body.FindMember("nodes");
    if (nodes == body.MemberEnd() || !nodes->value.IsArray()) return;
    for (rapidjson::SizeType i = 0; i < nodes->value.Size(); ++i) {
      const auto& node = nodes->value[i];
      std::string here = json::child(json::child(path, "nodes"), i);
      if (!node.IsObject()) continue;
      if (auto op = node.FindMember("op"); op != node.MemberEnd() && op->value.IsString() && functions.count(op->value.GetString()))
        blockers.push_back({json::child(here, "op"), std::string("uses function '") + op->value.GetString() + "'"});
      if (auto m = node.FindMember("model"); m != node.MemberEnd() && m->value.IsObject()) scan(m->value, json::child(here, "model"));
    }
  };
  scan(doc, "");
  if (auto defs = doc.FindMember("definitions"); defs != doc.MemberEnd() && defs->value.IsObject())
    for (auto it = defs->value.MemberBegin(); it != defs->value.MemberEnd(); ++it)
      scan(it->value, json::child("definitions", it->name.GetString()));
  throw_blockers(source, "1.1.0", "1.0.0", blockers);
  if (doc.HasMember("functions")) doc.RemoveMember("functions");
  // Canonical 1.0.0 text: exactly what to_dict(model, "1.0.0") writes.
  return mithril::to_dict(*from_dict(with_version(doc, "1.0.0"), source), "1.0.0");
}

}  // namespace mithril::versioning
