#include "graph/functions.h"

#include <fmt/format.h>

#include "core/error.h"
#include "graph/model.h"

namespace mithril {
namespace {

// Nesting of expansions on this thread: a function that (through others) uses itself must end
// in an error, not in a stack overflow.
thread_local int expansion_depth = 0;
constexpr int kMaxExpansionDepth = 64;

}  // namespace

void FunctionTable::add(FunctionDef def) {
  if (auto it = entries_.find(def.qualified); it != entries_.end()) {
    if (it->second->def.json == def.json) return;
    throw Error(ErrorKind::schema, fmt::format("function '{}' is defined twice, differently", def.qualified));
  }
  auto entry = std::make_unique<Entry>();
  OpSchema& op = entry->schema;
  op.domain = def.qualified.substr(0, def.qualified.find('.'));
  op.name = def.qualified.substr(def.qualified.find('.') + 1);
  op.version = def.version;
  op.doc = def.doc;
  for (const std::string& in : def.inputs) op.inputs.push_back({in});
  op.attributes = def.attributes;
  const OpSchema* self = &op;
  op.infer = [this, self](const std::vector<ValueInfo>& inputs, const Attributes& attrs) {
    auto body = expand(*self, attrs, inputs);
    const FunctionDef& d = *definition(self);
    std::map<std::string, ValueInfo> by_name;
    for (std::size_t i = 0; i < inputs.size() && i < d.inputs.size(); ++i) by_name[d.inputs[i]] = inputs[i];
    return infer_outputs(*body, by_name).at("output");
  };
  entry->def = std::move(def);
  std::string name = entry->def.qualified;
  entries_.emplace(std::move(name), std::move(entry));
}

const OpSchema* FunctionTable::find(const std::string& qualified) const {
  auto it = entries_.find(qualified);
  return it == entries_.end() ? nullptr : &it->second->schema;
}

const FunctionTable::Entry* FunctionTable::entry(const OpSchema* op) const {
  if (!op) return nullptr;
  auto it = entries_.find(op->qualified_name());
  return it != entries_.end() && &it->second->schema == op ? it->second.get() : nullptr;
}

const FunctionDef* FunctionTable::definition(const OpSchema* op) const {
  const Entry* e = entry(op);
  return e ? &e->def : nullptr;
}

std::shared_ptr<const Model> FunctionTable::expand(const OpSchema& op, const Attributes& attrs,
                                                   const std::vector<ValueInfo>& inputs) const {
  const Entry* e = entry(&op);
  if (!e) throw Error(ErrorKind::invalid_argument, "operator '" + op.qualified_name() + "' is not a function of this table");
  const FunctionDef& def = e->def;
  std::string key;
  for (const auto& [k, v] : attrs) key += k + "=" + attr_str(v) + ";";
  for (const ValueInfo& in : inputs) key += std::string(dtype_name(in.dtype)) + ",";
  {
    std::lock_guard lock(e->cache_mutex);
    if (auto it = e->cache.find(key); it != e->cache.end()) return it->second;
  }
  if (expansion_depth >= kMaxExpansionDepth)
    throw Error(ErrorKind::schema, "function '" + def.qualified + "' expands into itself");
  struct DepthGuard {
    DepthGuard() { ++expansion_depth; }
    ~DepthGuard() { --expansion_depth; }
  } guard;
  auto body = std::make_shared<Model>(op.name);
  // The body lives in this table's cache, so it refers to the table without owning it (owning
  // would make a cycle that keeps every loaded table alive).
  body->use_functions(std::shared_ptr<const FunctionTable>(std::shared_ptr<const FunctionTable>(), this));
  for (std::size_t i = 0; i < def.inputs.size() && i < inputs.size(); ++i)
    body->input(def.inputs[i], ValueInfo{inputs[i].dtype, {}, false});
  for (const FunctionDef::Node& node : def.nodes) {
    std::vector<Value> args;
    for (const std::string& ref : node.inputs) {
      if (ref[0] != '@') {
        args.push_back(body->value(ref));
        continue;
      }
      std::string constant = "attr_" + ref.substr(1);
      if (!body->has_value(constant)) {
        DType dtype = inputs.empty() ? DType::float32 : inputs[0].dtype;
        body->constant(constant, Tensor::scalar(dtype, attr_number(attrs, ref.substr(1))));
      }
      args.push_back(body->value(constant));
    }
    Attributes node_attrs;
    for (const auto& [k, v] : node.attributes) {
      const auto* text = std::get_if<std::string>(&v);
      node_attrs[k] = text && !text->empty() && (*text)[0] == '@' ? attrs.at(text->substr(1)) : v;
    }
    body->apply(node.op, args, node_attrs, node.name);
  }
  body->output("output", body->value(def.output));
  std::lock_guard lock(e->cache_mutex);
  return e->cache.emplace(key, body).first->second;
}

const OpSchema* find_operator(const FunctionTable* functions, const std::string& qualified) {
  if (functions)
    if (const OpSchema* op = functions->find(qualified)) return op;
  return OpRegistry::global().find(qualified);
}

}  // namespace mithril
